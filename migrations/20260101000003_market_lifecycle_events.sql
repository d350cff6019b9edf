-- migrate:up

-- Kalshi market_lifecycle_v2 events as received. nats_seq is the JetStream stream sequence of
-- the message: inserting with ON CONFLICT (nats_seq) DO NOTHING makes redelivery harmless.
-- A plain unique index (NULLs are distinct) so that bare ON CONFLICT (nats_seq) can infer it.
CREATE TABLE market_lifecycle_events (
  id            bigserial    PRIMARY KEY,
  market_ticker varchar(128) NOT NULL,
  event_type    varchar(32)  NOT NULL,
  open_ts       timestamptz,
  close_ts      timestamptz,
  settled_ts    timestamptz,
  metadata      jsonb        NOT NULL DEFAULT '{}',
  received_at   timestamptz  NOT NULL DEFAULT now(),
  nats_seq      bigint
);
CREATE UNIQUE INDEX market_lifecycle_events_nats_seq ON market_lifecycle_events (nats_seq);
CREATE INDEX market_lifecycle_events_market_ticker ON market_lifecycle_events (market_ticker);
CREATE INDEX market_lifecycle_events_event_type ON market_lifecycle_events (event_type);
CREATE INDEX market_lifecycle_events_received_at ON market_lifecycle_events (received_at);

-- migrate:down

DROP TABLE market_lifecycle_events;
