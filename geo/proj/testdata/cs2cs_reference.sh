#!/usr/bin/env bash
# Reference points for geo/proj's tests, computed by PROJ's cs2cs (Debian
# proj-bin; PROJ 9.1.1 when committed). Run from this folder:
#   ./cs2cs_reference.sh > cs2cs_points.csv
# For every zone equity311 converts, a 6 × 6 grid over the zone's EPSG
# area of use is projected from the zone's own geographic datum — NAD83
# (EPSG:4269) for the state plane zones, WGS84 (EPSG:4326) for web
# Mercator. EPSG:4269 and EPSG:4326 take latitude first, so cs2cs reads
# "lat lon" and, for these projected systems, writes "easting northing".
# Not run by the tests: they read the committed CSV.
set -euo pipefail
zones="26986 2249 32118 2263 26943 2227 26945 2229 26971 3435 26972 3436 3857"
echo "epsg,lon,lat,x,y"
for c in $zones; do
  src=EPSG:4269
  [ "$c" = 3857 ] && src=EPSG:4326
  bbox=$(projinfo "EPSG:$c" -o PROJJSON -q | python3 -c '
import json, sys
b = json.load(sys.stdin)["bbox"]
s, w, n, e = b["south_latitude"], b["west_longitude"], b["north_latitude"], b["east_longitude"]
if e - w > 10:  # web Mercator: a city-sized window and the far north
    print(-123.0, 25.0, -66.0, 80.0)
else:
    print(w, s, e, n)')
  read -r w s e n <<<"$bbox"
  awk -v w="$w" -v s="$s" -v e="$e" -v n="$n" 'BEGIN {
    for (i = 0; i < 6; i++) for (j = 0; j < 6; j++)
      printf "%.9f %.9f\n", s + (n - s) * (j + 0.5) / 6, w + (e - w) * (i + 0.5) / 6 }' |
  cs2cs -f %.6f "$src" "EPSG:$c" |
  paste -d' ' <(awk -v w="$w" -v s="$s" -v e="$e" -v n="$n" 'BEGIN {
    for (i = 0; i < 6; i++) for (j = 0; j < 6; j++)
      printf "%.9f %.9f\n", w + (e - w) * (i + 0.5) / 6, s + (n - s) * (j + 0.5) / 6 }') - |
  awk -v c="$c" '{ printf "%s,%s,%s,%s,%s\n", c, $1, $2, $3, $4 }'
done
