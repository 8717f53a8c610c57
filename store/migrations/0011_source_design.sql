-- equity311 schema, version 11: what each source is. A source's design —
-- complete (every request of the city in its span), sample (drawn from a
-- frame) or extract (a selection) — and the filters it shows, each with
-- its reason, as declared when it was loaded and as the data make certain.
-- The declared design wins; both are kept.
ALTER TABLE sources ADD COLUMN design VARCHAR;           -- declared: complete, sample, extract; NULL when not declared
ALTER TABLE sources ADD COLUMN design_frame VARCHAR;     -- declared: what a sample was drawn from
ALTER TABLE sources ADD COLUMN detected_design VARCHAR;  -- detected: extract, or NULL when the data make nothing certain

CREATE TABLE source_filters (
    source_id INTEGER NOT NULL,
    basis     VARCHAR NOT NULL,  -- declared, detected
    kind      VARCHAR NOT NULL,  -- status, type, area, time
    value     VARCHAR NOT NULL,  -- e.g. open, closed, "Street Light Outage; Sidewalk Repair"
    reason    VARCHAR NOT NULL,
    PRIMARY KEY (source_id, basis, kind)
);
