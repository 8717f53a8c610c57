-- equity311 schema, version 6: what Open311 feeds say.

-- The service list of each endpoint: the request types its app offers.
CREATE TABLE open311_services (
    endpoint     VARCHAR NOT NULL,
    service_code VARCHAR NOT NULL,
    service_name VARCHAR,
    service_group VARCHAR,
    type         VARCHAR,
    metadata     BOOLEAN,
    app_offered  BOOLEAN NOT NULL,   -- listed by the feed: offered to app users
    PRIMARY KEY (endpoint, service_code)
);

-- Every request id seen through a feed, with the channel the feed gives
-- (its extended channel, or the app's when it has none). Dumps that lack a
-- channel take it from here (channel_basis 'open311').
CREATE TABLE open311_seen (
    city        VARCHAR NOT NULL,
    ticket_id   VARCHAR NOT NULL,
    endpoint    VARCHAR NOT NULL,
    channel_raw VARCHAR NOT NULL,
    channel     VARCHAR NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (city, ticket_id)
);
