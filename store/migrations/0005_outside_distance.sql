-- equity311 schema, version 5: how far an unplaced ticket is from the nearest area.

-- For tickets outside every area (geo_quality 'outside'), and for those
-- snapped into an area within the tolerance (ticket_areas.basis 'snapped'):
-- the distance in metres from the point to the nearest area's boundary.
ALTER TABLE tickets ADD COLUMN outside_m DOUBLE;
