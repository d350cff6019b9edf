-- migrate:up

-- A JetStream stream deleted and created again numbers its messages from 1 again, so the stream
-- sequence alone made a re-created stream's lifecycle events look like redeliveries of old ones
-- (dropped by ON CONFLICT). The key is now the stream's identity, `{name}@{created}`, and the
-- sequence. Rows stored before this migration keep nats_stream '' (an event redelivered across
-- the upgrade is stored twice; its effect on markets is applied once, as statuses only move forward).
ALTER TABLE market_lifecycle_events ADD COLUMN nats_stream varchar(256) NOT NULL DEFAULT '';
DROP INDEX market_lifecycle_events_nats_seq;
CREATE UNIQUE INDEX market_lifecycle_events_stream_seq ON market_lifecycle_events (nats_stream, nats_seq);

-- migrate:down

DROP INDEX market_lifecycle_events_stream_seq;
ALTER TABLE market_lifecycle_events DROP COLUMN nats_stream;
CREATE UNIQUE INDEX market_lifecycle_events_nats_seq ON market_lifecycle_events (nats_seq);
