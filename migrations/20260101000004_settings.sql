-- migrate:up

CREATE TABLE settings (
  key         text        PRIMARY KEY,
  value       jsonb       NOT NULL,
  description text        NOT NULL DEFAULT '',
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER settings_touch_updated_at BEFORE UPDATE ON settings
  FOR EACH ROW EXECUTE FUNCTION ssmd_touch_updated_at();

-- Anchors of the incremental secmaster sync (ISO timestamps; null = 7 days ago).
INSERT INTO settings (key, value, description) VALUES
  ('secmaster.sync.last_settled_ts', 'null', 'incremental sync: min_settled_ts of the next settled pass (ISO time; null = 7 days ago)'),
  ('secmaster.sync.last_closed_ts', 'null', 'incremental sync: start of the close window of the next closed pass (ISO time; null = 7 days ago)');

-- migrate:down

DROP TABLE settings;
