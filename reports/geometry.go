package reports

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/simplify"

	"github.com/equity311/equity311/store"
)

// layerGeoJSON returns a layer's polygons as compact GeoJSON for drawing:
// simplified to about 5 m and rounded to 1e-5 degrees (about 1 m), each
// feature's "name" property set to labels[area_id].
func layerGeoJSON(ctx context.Context, st *store.Store, layer string, labels map[string]string) (json.RawMessage, error) {
	rows, err := st.DB().QueryContext(ctx, "SELECT area_id, geometry FROM areas WHERE layer = ? ORDER BY area_id", layer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fc := geojson.NewFeatureCollection()
	simp := simplify.DouglasPeucker(0.00005)
	for rows.Next() {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, err
		}
		g, err := wkb.Unmarshal(b)
		if err != nil {
			return nil, fmt.Errorf("layer %s area %s: %w", layer, id, err)
		}
		g = simplifyKeepingRings(simp, g)
		g = orb.Round(g, 1e5)
		f := geojson.NewFeature(g)
		f.Properties["name"] = labels[id]
		fc.Append(f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return fc.MarshalJSON()
}

// simplifyKeepingRings simplifies polygons but keeps a ring unsimplified
// when simplification would collapse it.
func simplifyKeepingRings(s *simplify.DouglasPeuckerSimplifier, g orb.Geometry) orb.Geometry {
	ring := func(r orb.Ring) orb.Ring {
		c := s.Ring(r.Clone())
		if len(c) < 4 {
			return r
		}
		return c
	}
	switch x := g.(type) {
	case orb.Polygon:
		out := make(orb.Polygon, len(x))
		for i, r := range x {
			out[i] = ring(r)
		}
		return out
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(x))
		for i, p := range x {
			out[i] = simplifyKeepingRings(s, p).(orb.Polygon)
		}
		return out
	}
	return g
}
