package geo

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/geojson"

	"github.com/equity311/equity311/internal/atomicfile"
	"github.com/equity311/equity311/store"
)

// ExportGeoJSON writes a table with areas — areas itself, or a per-area
// analysis table (layer, area_id) — as an RFC 7946 FeatureCollection: one
// feature per row with its area's polygon (WGS84 longitude and latitude,
// exterior rings counterclockwise, holes clockwise, no crs member) and
// every other column as a property. In a row with low_count set, every
// figure made from its requests (shares, ratios, rates, intervals) is
// null, and low_count says why; counts and the population stay. A row without an area (the city
// row) has a null geometry. It returns the features written.
func ExportGeoJSON(ctx context.Context, st *store.Store, table, out string) (int, error) {
	var n int
	var hasGeom, hasArea bool
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE column_name = 'geometry') > 0,
			count(*) FILTER (WHERE column_name IN ('layer', 'area_id')) = 2
		FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?`, table).Scan(&n, &hasGeom, &hasArea); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: %q (equity311 status lists the tables)", store.ErrNoTable, table)
	}
	q := fmt.Sprintf(`SELECT x.*, a.geometry AS "__geometry" FROM %q x LEFT JOIN areas a ON a.layer = x.layer AND a.area_id = x.area_id`, table)
	switch {
	case hasGeom:
		q = fmt.Sprintf(`SELECT * EXCLUDE (geometry), geometry AS "__geometry" FROM %q`, table)
	case !hasArea:
		return 0, fmt.Errorf("export %s as GeoJSON: it has no geometry and no area (layer, area_id) to take one from", table)
	}
	rows, err := st.DB().QueryContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	fc := geojson.NewFeatureCollection()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		var g orb.Geometry
		if b, ok := vals[len(vals)-1].([]byte); ok && len(b) > 0 {
			if g, err = wkb.Unmarshal(b); err != nil {
				return 0, fmt.Errorf("export %s: a geometry: %w", table, err)
			}
			g = rfc7946(g)
		}
		f := &geojson.Feature{Type: "Feature", Geometry: g, Properties: geojson.Properties{}}
		low, _ := valueOf(cols, vals, "low_count").(bool)
		for i, c := range cols[:len(cols)-1] {
			v := vals[i]
			switch x := v.(type) {
			case float64:
				if math.IsNaN(x) || math.IsInf(x, 0) || low && !strings.Contains(c, "population") && c != "area_m2" {
					v = nil // no figure, or one from too few requests
				}
			case time.Time:
				v = x.UTC().Format(time.RFC3339)
			case []byte:
				v = nil // no blob is a property
			}
			f.Properties[c] = v
		}
		fc.Append(f)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	b, err := json.Marshal(fc)
	if err != nil {
		return 0, err
	}
	if err := atomicfile.Write(out, append(b, '\n')); err != nil {
		return 0, err
	}
	return len(fc.Features), nil
}

func valueOf(cols []string, vals []any, name string) any {
	if i := slices.Index(cols, name); i >= 0 {
		return vals[i]
	}
	return nil
}

// rfc7946 orients a polygon's rings as RFC 7946 asks: the exterior
// counterclockwise, holes clockwise.
func rfc7946(g orb.Geometry) orb.Geometry {
	orient := func(p orb.Polygon) orb.Polygon {
		out := make(orb.Polygon, len(p))
		for i, r := range p {
			r = slices.Clone(r)
			if want := orb.CCW; (i == 0) != (r.Orientation() == want) {
				r.Reverse()
			}
			out[i] = r
		}
		return out
	}
	switch x := g.(type) {
	case orb.Polygon:
		return orient(x)
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(x))
		for i, p := range x {
			out[i] = orient(p)
		}
		return out
	}
	return g
}
