-- migrate:up

-- btree_gist gives gist an operator class for `series_ticker WITH =` in the exclusion constraint.
-- It lives in public: an extension is database-wide, and a schema-local copy would be dropped
-- (with every constraint using it) when that schema is.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;

CREATE TYPE fee_type AS ENUM ('quadratic', 'quadratic_with_maker_fees', 'flat');

-- One row per fee period of a series; effective_to NULL means "current". Periods are half-open
-- [from, to), so a period may start exactly where the previous one ends, never inside it.
CREATE TABLE series_fees (
  id             bigserial    PRIMARY KEY,
  series_ticker  varchar(128) NOT NULL,
  fee_type       fee_type     NOT NULL,
  fee_multiplier numeric(6,4) NOT NULL DEFAULT 1,
  effective_from timestamptz  NOT NULL,
  effective_to   timestamptz,
  source_id      varchar(128) UNIQUE,
  created_at     timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT series_fees_period_ordered CHECK (effective_to IS NULL OR effective_to > effective_from),
  CONSTRAINT no_overlapping_fees EXCLUDE USING gist (
    series_ticker WITH =,
    tstzrange(effective_from, coalesce(effective_to, 'infinity'), '[)') WITH &&
  )
);
CREATE INDEX series_fees_series_ticker ON series_fees (series_ticker);
CREATE INDEX series_fees_effective ON series_fees (effective_from, effective_to);

-- migrate:down

DROP TABLE series_fees;
DROP TYPE fee_type;
-- btree_gist stays: it is database-wide and other schemas in the same database may use it.
