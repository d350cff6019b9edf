-- migrate:up

-- Data API keys. The secret is never stored: key_hash is the SHA-256 hex of the secret part, and
-- key_prefix (e.g. sk_live_ab12cd) identifies the key in logs and lookups.
CREATE TABLE api_keys (
  id               uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id          varchar(128) NOT NULL,
  user_email       varchar(256) NOT NULL,
  key_prefix       varchar(30)  NOT NULL UNIQUE
    CONSTRAINT api_keys_prefix_format CHECK (key_prefix ~ '^sk_(live|test)_[a-zA-Z0-9_-]+$'),
  key_hash         char(64)     NOT NULL
    CONSTRAINT api_keys_hash_format CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  name             text         NOT NULL DEFAULT '',
  scopes           text[]       NOT NULL DEFAULT '{}',
  rate_limit_tier  varchar(20)  NOT NULL DEFAULT 'standard',
  allowed_feeds    text[],
  date_range_start date,
  date_range_end   date,
  last_used_at     timestamptz,
  created_at       timestamptz  NOT NULL DEFAULT now(),
  expires_at       timestamptz,
  revoked_at       timestamptz,
  disabled_at      timestamptz,
  CONSTRAINT api_keys_date_range_ordered CHECK (date_range_end IS NULL OR date_range_start IS NULL OR date_range_end >= date_range_start)
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);
CREATE INDEX api_keys_expires_at ON api_keys (expires_at) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_allowed_feeds ON api_keys USING gin (allowed_feeds);

-- migrate:down

DROP TABLE api_keys;
