/**
 * The shipped migrations, embedded as text so the compiled `ssmd` binary can migrate a database
 * without a migrations/ directory next to it. Add one line per new file in migrations/
 * (a test checks that this list and the directory agree).
 */
import secmaster from '../../../migrations/20260101000001_secmaster.sql' with { type: 'text' }
import seriesFees from '../../../migrations/20260101000002_series_fees.sql' with { type: 'text' }
import lifecycle from '../../../migrations/20260101000003_market_lifecycle_events.sql' with { type: 'text' }
import settings from '../../../migrations/20260101000004_settings.sql' with { type: 'text' }
import apiKeys from '../../../migrations/20260101000005_api_keys.sql' with { type: 'text' }
import lifecycleStream from '../../../migrations/20260101000006_lifecycle_stream_identity.sql' with { type: 'text' }

export const EMBEDDED_MIGRATIONS: readonly { name: string; text: string }[] = [
  { name: '20260101000001_secmaster.sql', text: secmaster },
  { name: '20260101000002_series_fees.sql', text: seriesFees },
  { name: '20260101000003_market_lifecycle_events.sql', text: lifecycle },
  { name: '20260101000004_settings.sql', text: settings },
  { name: '20260101000005_api_keys.sql', text: apiKeys },
  { name: '20260101000006_lifecycle_stream_identity.sql', text: lifecycleStream },
]
