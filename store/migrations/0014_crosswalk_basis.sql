-- equity311 schema, version 14: where a crosswalk's weights come from.
-- NULL (every crosswalk before this version) is the polygon overlap
-- equity311 computes; a published weights file loaded with `ingest
-- crosswalk` says which (the Census Bureau's tract relationship file by
-- land area, NHGIS population weights), and every figure moved through it
-- says so in its basis.
ALTER TABLE crosswalk ADD COLUMN basis VARCHAR;
