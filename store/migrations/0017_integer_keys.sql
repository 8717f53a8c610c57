-- equity311 schema, version 17: places keyed by integers.
--
-- A ticket's place in each layer was a row of five strings (city,
-- ticket_id, layer, area_id, basis): writing 11M of them took 6 s per
-- layer, and every analysis joined them back to tickets on two strings.
-- Places are now ticket_places (ticket_no, area_no, basis): a ticket's
-- number, its area's number and an enum. ticket_areas stays, as a view with
-- the same columns as before, for whoever reads it.
--
-- tickets.ticket_no: a load writes source_id << 40 | line (the line where
-- the record starts), so the same files give the same numbers, whatever
-- the threads; the tickets stored before this version are numbered here,
-- from 1 (below 2^40, where no source's numbers are).
-- areas.area_no: unique across layers; a layer loaded again gets new ones.
-- Neither column has a DEFAULT: DuckDB cannot replay from its WAL an ALTER
-- TABLE ADD COLUMN whose default calls nextval, so a run killed after this
-- migration would leave a store that does not open.
ALTER TABLE tickets ADD COLUMN ticket_no BIGINT;
UPDATE tickets SET ticket_no = rowid + 1;
ALTER TABLE areas ADD COLUMN area_no INTEGER;
UPDATE areas SET area_no = rowid + 1;

-- point: the point lies in the polygon; overlap: in several of the layer's
-- areas, placed in the smallest; snapped: outside every area, within the
-- snap tolerance of this one.
CREATE TYPE place_basis AS ENUM ('point', 'overlap', 'snapped');

CREATE TABLE ticket_places (
    ticket_no BIGINT NOT NULL,
    area_no   INTEGER NOT NULL,
    basis     place_basis NOT NULL
);
INSERT INTO ticket_places
    SELECT t.ticket_no, a.area_no, ta.basis::place_basis
    FROM ticket_areas ta
    JOIN tickets t ON t.city = ta.city AND t.ticket_id = ta.ticket_id
    JOIN areas a ON a.layer = ta.layer AND a.area_id = ta.area_id;
DROP TABLE ticket_areas;

CREATE VIEW ticket_areas AS
    SELECT t.city, t.ticket_id, a.layer, a.area_id, p.basis::VARCHAR AS basis
    FROM ticket_places p
    JOIN tickets t ON t.ticket_no = p.ticket_no
    JOIN areas a ON a.area_no = p.area_no;
