-- migrate:up

-- Bumps updated_at only when a data column really changed, so an upsert that rewrites the same
-- values keeps its timestamp. Generic over the table: every column except the timestamps counts.
CREATE FUNCTION ssmd_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF to_jsonb(NEW) - 'created_at' - 'updated_at' IS DISTINCT FROM to_jsonb(OLD) - 'created_at' - 'updated_at' THEN
    NEW.updated_at := now();
  ELSE
    NEW.updated_at := OLD.updated_at;
  END IF;
  RETURN NEW;
END
$$;

CREATE TABLE series (
  ticker         varchar(128) PRIMARY KEY,
  title          text         NOT NULL DEFAULT '',
  category       varchar(128) NOT NULL DEFAULT '',
  tags           text[]       NOT NULL DEFAULT '{}',
  is_game        boolean      NOT NULL DEFAULT false,
  active         boolean      NOT NULL DEFAULT true,
  volume         bigint       NOT NULL DEFAULT 0,
  fee_type       varchar(32),
  fee_multiplier numeric(6,4) NOT NULL DEFAULT 1,
  created_at     timestamptz  NOT NULL DEFAULT now(),
  updated_at     timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX series_category ON series (category) WHERE active;
CREATE INDEX series_category_is_game ON series (category, is_game) WHERE active;
CREATE INDEX series_tags ON series USING gin (tags);
CREATE TRIGGER series_touch_updated_at BEFORE UPDATE ON series
  FOR EACH ROW EXECUTE FUNCTION ssmd_touch_updated_at();

CREATE TABLE events (
  event_ticker       varchar(128) PRIMARY KEY,
  title              text         NOT NULL,
  category           varchar(128) NOT NULL DEFAULT '',
  series_ticker      varchar(128) NOT NULL DEFAULT '',
  strike_date        timestamptz,
  mutually_exclusive boolean      NOT NULL DEFAULT false,
  status             varchar(16)  NOT NULL DEFAULT 'active',
  created_at         timestamptz  NOT NULL DEFAULT now(),
  updated_at         timestamptz  NOT NULL DEFAULT now(),
  deleted_at         timestamptz
);
CREATE INDEX events_category ON events (category) WHERE deleted_at IS NULL;
CREATE INDEX events_series_ticker ON events (series_ticker) WHERE deleted_at IS NULL;
CREATE INDEX events_status ON events (status) WHERE deleted_at IS NULL;
CREATE INDEX events_strike_date ON events (strike_date) WHERE deleted_at IS NULL;
CREATE TRIGGER events_touch_updated_at BEFORE UPDATE ON events
  FOR EACH ROW EXECUTE FUNCTION ssmd_touch_updated_at();

-- Prices are dollars (0.0000 to 1.0000), never cents.
CREATE TABLE markets (
  ticker                   varchar(128)  PRIMARY KEY,
  event_ticker             varchar(128)  NOT NULL REFERENCES events (event_ticker),
  title                    text          NOT NULL,
  status                   varchar(16)   NOT NULL DEFAULT 'initialized' CONSTRAINT markets_status_known
    CHECK (status IN ('initialized', 'active', 'closed', 'determined', 'settled', 'finalized', 'deactivated')),
  open_time                timestamptz,
  close_time               timestamptz,
  expected_expiration_time timestamptz,
  yes_bid                  numeric(10,4) CHECK (yes_bid BETWEEN 0 AND 1),
  yes_ask                  numeric(10,4) CHECK (yes_ask BETWEEN 0 AND 1),
  no_bid                   numeric(10,4) CHECK (no_bid BETWEEN 0 AND 1),
  no_ask                   numeric(10,4) CHECK (no_ask BETWEEN 0 AND 1),
  last_price               numeric(10,4) CHECK (last_price BETWEEN 0 AND 1),
  volume                   bigint        NOT NULL DEFAULT 0,
  volume_24h               bigint        NOT NULL DEFAULT 0,
  open_interest            bigint        NOT NULL DEFAULT 0,
  floor_strike             numeric,
  cap_strike               numeric,
  strike_type              varchar(32),
  result                   varchar(16),
  expiration_value         text,
  yes_sub_title            text,
  no_sub_title             text,
  can_close_early          boolean,
  market_type              varchar(16),
  created_at               timestamptz   NOT NULL DEFAULT now(),
  updated_at               timestamptz   NOT NULL DEFAULT now(),
  deleted_at               timestamptz
);
CREATE INDEX markets_event_ticker ON markets (event_ticker) WHERE deleted_at IS NULL;
CREATE INDEX markets_status ON markets (status) WHERE deleted_at IS NULL;
CREATE INDEX markets_close_time ON markets (close_time) WHERE deleted_at IS NULL;
CREATE TRIGGER markets_touch_updated_at BEFORE UPDATE ON markets
  FOR EACH ROW EXECUTE FUNCTION ssmd_touch_updated_at();

-- migrate:down

DROP TABLE markets;
DROP TABLE events;
DROP TABLE series;
DROP FUNCTION ssmd_touch_updated_at();
