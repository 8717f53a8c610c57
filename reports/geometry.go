package reports

import (
	"encoding/json"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/simplify"

	"github.com/equity311/equity311/analysis/results"
)

// layerGeoJSON returns a layer's polygons as compact GeoJSON for drawing
// (the shapes are not changed):
// simplified to about 5 m and rounded to 1e-5 degrees (about 1 m), each
// feature's "name" property set to labels[area_id].
func layerGeoJSON(shapes []results.AreaShape, labels map[string]string) (json.RawMessage, error) {
	fc := geojson.NewFeatureCollection()
	simp := simplify.DouglasPeucker(0.00005)
	for _, s := range shapes {
		g := orb.Round(simplifyKeepingRings(simp, orb.Clone(s.Geometry)), 1e5)
		f := geojson.NewFeature(g)
		f.Properties["name"] = labels[s.ID]
		fc.Append(f)
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
