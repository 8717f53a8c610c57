-- equity311 schema, version 4: where each incremental feed sync stopped.

CREATE TABLE sync_state (
    feed       VARCHAR PRIMARY KEY,   -- e.g. socrata:https://data.cityofchicago.org/v6vf-nfxy
    cursor     VARCHAR NOT NULL,      -- the feed's own position: a date, a page, an id
    synced_at  TIMESTAMPTZ NOT NULL
);
