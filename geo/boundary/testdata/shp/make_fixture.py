#!/usr/bin/env python3
"""Writes tiny_tracts.{shp,shx,dbf,prj} and tiny_tracts.zip with pyshp
(Debian: apt-get install python3-pyshp), an implementation independent of
equity311's reader. Made-up polygons: a tract with a hole, the tract that
fills the hole, and a two-part tract. Run: python3 make_fixture.py"""
import shapefile, zipfile

w = shapefile.Writer("tiny_tracts", shapeType=shapefile.POLYGON)
w.field("GEOID", "C", size=11)
w.field("NAMELSAD", "C", size=40)
w.field("ALAND", "N", size=14, decimal=0)
# Shapefile rings: outer clockwise, holes counter-clockwise.
outer = [(-71.10, 42.30), (-71.10, 42.32), (-71.08, 42.32), (-71.08, 42.30), (-71.10, 42.30)]
hole = [(-71.095, 42.305), (-71.085, 42.305), (-71.085, 42.315), (-71.095, 42.315), (-71.095, 42.305)]
w.poly([outer, hole])
w.record("25999000100", "Census Tract 1", 1000000)
w.poly([list(reversed(hole))])
w.record("25999000200", "Census Tract 2", 90000)
a = [(-71.07, 42.30), (-71.07, 42.31), (-71.06, 42.31), (-71.06, 42.30), (-71.07, 42.30)]
b = [(-71.05, 42.30), (-71.05, 42.31), (-71.04, 42.31), (-71.04, 42.30), (-71.05, 42.30)]
w.poly([a, b])
w.record("25999000300", "Census Tract 3", 200000)
w.close()
with open("tiny_tracts.prj", "w") as f:
    f.write('GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["Degree",0.017453292519943295]]')
with zipfile.ZipFile("tiny_tracts.zip", "w") as z:
    for ext in ("shp", "shx", "dbf", "prj"):
        z.write("tiny_tracts." + ext)
