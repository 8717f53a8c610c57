// Package boundary reads area boundaries — GeoJSON FeatureCollections and
// ESRI shapefiles (.shp, .zip or a folder), in WGS84 or a projected
// coordinate system converted with geo/proj — and loads them as a layer of
// areas for geo to place tickets in.
package boundary

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/internal/jsontext"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"
	"github.com/paulmach/orb/project"

	place "github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/proj"
	"github.com/equity311/equity311/store"
)

// Options configure Load.
// Its tags are the one definition of the options for the command line's
// flags and the service's [[layer]] keys (package internal/options).
type Options struct {
	Layer    string `toml:"name" flag:"layer" help:"layer name, e.g. neighborhoods or tracts (required)"`
	IDProp   string `toml:"id_prop" help:"feature property with the area id (default: GEOID, geoid20, ... or the feature id)"`
	NameProp string `toml:"name_prop" help:"feature property with the area name (default: name, Name, ...)"`
	// CRS names the coordinate system when the file does not (or says it
	// wrongly), e.g. "EPSG:2249"; projected coordinates become WGS84.
	CRS string `toml:"crs" help:"coordinate system of the file when it does not say, e.g. EPSG:2249 (projected ones are converted to WGS84)"`
	// Force loads a file again that was loaded before with other options.
	Force bool `toml:"force" help:"load a file again that was loaded before with other options"`
	// MaxBytes caps the file, or each part of a shapefile (default MaxFileBytes).
	MaxBytes int64        `toml:"-"`
	Log      *slog.Logger `toml:"-"`
}

// Result reports a boundary load.
type Result struct {
	Layer    string
	Areas    int
	IDProp   string // the property used for ids ("(feature id)" for the feature's own id)
	NameProp string
	// Warnings report what loads but deserves a look: self-intersecting
	// rings (a point near the crossing may fall in the wrong area).
	Warnings []string
	store.LoadResult
}

// Property names tried, in order, when none is given.
var (
	idProps   = []string{"GEOID", "geoid", "GEOID20", "geoid20", "GEOID10", "geoid10", "fips", "FIPS", "GEOCODE", "area_id", "id", "ID", "nbhd_id", "Neighborhood_ID", "NTACode", "nc_id", "AREA_NUMBE"}
	nameProps = []string{"name", "Name", "NAME", "NAMELSAD", "NTAName", "COMMUNITY", "nhood", "BlockGr202"}
)

const featureIDProp = "(feature id)"

// Load loads the polygons of a GeoJSON FeatureCollection or an ESRI
// shapefile as a layer, replacing the layer's previous areas. Ids must be
// unique. Loading the same file into the same layer again changes nothing.
// Tickets placed before are marked for assign to place them again.
func Load(ctx context.Context, st *store.Store, path string, opt Options) (Result, error) {
	res := Result{Layer: opt.Layer}
	if opt.Layer == "" {
		return res, errors.New("boundaries: a layer name is required")
	}
	log := cmp.Or(opt.Log, slog.New(slog.DiscardHandler))
	data, shp, checksum, err := readFile(path, cmp.Or(opt.MaxBytes, MaxFileBytes))
	if err != nil {
		return res, err
	}
	options := store.Options(map[string]string{"id_prop": opt.IDProp, "name_prop": opt.NameProp, "crs": opt.CRS})
	load := store.Load{Kind: "boundaries", Name: path, Profile: opt.Layer, Checksum: checksum, Options: options,
		Current:     `EXISTS (SELECT 1 FROM layers l WHERE l.source_id = s.source_id AND l.layer = ?)`,
		CurrentArgs: []any{opt.Layer}}
	var areas []area
	res.LoadResult, err = st.Load(ctx, load, opt.Force,
		func(conn *sql.Conn) (store.Staged, error) {
			if areas, res.IDProp, res.NameProp, err = readFeatures(path, data, shp, opt); err != nil {
				return store.Staged{}, err
			}
			res.Areas, res.Warnings = len(areas), append(selfIntersecting(areas), overlapping(areas)...)
			return store.Staged{Read: int64(len(areas))}, stageAreas(ctx, conn, path, areas)
		},
		func(conn *sql.Conn, id int64) (store.Written, error) {
			err := replaceLayer(ctx, conn, id, opt.Layer, res.IDProp, res.NameProp, len(areas), st.Now())
			return store.Written{Loaded: int64(len(areas))}, err
		})
	if err != nil || res.AlreadyLoaded {
		return res, err
	}
	log.Info("loaded boundaries", "file", path, "layer", opt.Layer, "areas", len(areas), "id_prop", res.IDProp, "name_prop", res.NameProp)
	return res, nil
}

// readFile reads a GeoJSON file, or the parts of a shapefile, with the
// checksum that identifies them.
func readFile(path string, limit int64) (data []byte, shp *shapefileParts, checksum string, err error) {
	if isShapefile(path) {
		p, err := readShapefileParts(path, limit)
		if err != nil {
			return nil, nil, "", fmt.Errorf("read %s: %w", path, err)
		}
		return nil, &p, store.Checksum(slices.Concat(p.shp, p.dbf, p.prj)), nil
	}
	data, checksum, err = store.ReadFile(path, limit)
	return data, nil, checksum, err
}

// selfIntersecting lists the rings that cross themselves.
func selfIntersecting(areas []area) []string {
	var out []string
	for _, a := range areas {
		for pi, poly := range a.geom {
			for ri, ring := range poly {
				if n := selfIntersections(ring, 20000); n > 0 {
					out = append(out, fmt.Sprintf("area %s: polygon %d ring %d crosses itself (%d pairs of edges meet)", a.id, pi, ri, n))
				}
			}
		}
	}
	return out
}

// overlapSamples is how many grid points the overlap check samples.
const overlapSamples = 250_000

// overlapping warns about areas whose polygons overlap, the largest
// overlaps first (at most 10 named).
func overlapping(areas []area) []string {
	geoms := make([]orb.MultiPolygon, len(areas))
	for i, a := range areas {
		geoms[i] = a.geom
	}
	ov := place.FindOverlaps(geoms, overlapSamples)
	var out []string
	for i, o := range ov {
		if i == 10 {
			out = append(out, fmt.Sprintf("%d more pairs of areas overlap", len(ov)-10))
			break
		}
		out = append(out, fmt.Sprintf("areas %s and %s overlap (about %.2f km²): a ticket in both is placed in the smaller, and assign counts such tickets",
			areas[o.A].id, areas[o.B].id, o.SqKm))
	}
	return out
}

// stageAreas writes the areas (WKB in WGS84, with their area in m²) into
// the TEMP table stage_areas on conn.
func stageAreas(ctx context.Context, conn *sql.Conn, path string, areas []area) error {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_areas (area_id VARCHAR, name VARCHAR, area_m2 DOUBLE, geometry BLOB)`); err != nil {
		return err
	}
	i := 0
	_, err := store.Append(ctx, conn, "stage_areas", 4, func(row []driver.Value) (bool, error) {
		if i == len(areas) {
			return false, nil
		}
		a := areas[i]
		b, err := wkb.Marshal(a.geom)
		if err != nil {
			return false, fmt.Errorf("%s: area %s: %w", path, a.id, err)
		}
		row[0], row[1], row[2], row[3] = a.id, a.name, geo.Area(a.geom), b
		i++
		return true, nil
	})
	return err
}

// replaceLayer puts the staged areas in place of the layer's, inside the
// load's transaction: places, crosswalks and areas of the old layer go, the
// new areas are numbered after the largest number stored (areas.area_no),
// and every placed ticket is marked to be placed again.
func replaceLayer(ctx context.Context, conn *sql.Conn, sourceID int64, layer, idProp, nameProp string, n int, now time.Time) error {
	stmts := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM place_sets WHERE area_no IN (SELECT area_no FROM areas WHERE layer = ?)`, []any{layer}},
		{`DELETE FROM crosswalk WHERE from_layer = ? OR to_layer = ?`, []any{layer, layer}},
		{`DELETE FROM areas WHERE layer = ?`, []any{layer}},
		{`INSERT INTO areas (layer, area_id, name, area_m2, geometry, area_no)
			SELECT ?, area_id, name, area_m2, geometry, ((SELECT coalesce(max(area_no), 0) FROM areas) + row_number() OVER (ORDER BY area_id))::INTEGER
			FROM stage_areas`, []any{layer}},
		{`INSERT OR REPLACE INTO layers VALUES (?, ?, ?, ?, ?, ?)`, []any{layer, sourceID, idProp, nameProp, n, now}},
		// Every placed ticket must be placed again against the new layer.
		{`UPDATE tickets SET geo_quality = NULL WHERE geo_quality IN ('ok', 'outside')`, nil},
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(s.q)[0], err)
		}
	}
	return nil
}

type area struct {
	id, name string
	geom     orb.MultiPolygon
}

// readFeatures decodes the features and picks their id and name.
func readFeatures(path string, data []byte, shp *shapefileParts, opt Options) (areas []area, idProp, nameProp string, err error) {
	var crs struct {
		CRS struct {
			Properties struct {
				Name string `json:"name"`
			} `json:"properties"`
		} `json:"crs"`
	}
	var fc *geojson.FeatureCollection
	if shp != nil {
		if fc, crs.CRS.Properties.Name, err = shapefileFeatures(*shp); err != nil {
			return nil, "", "", fmt.Errorf("read %s: %w", path, err)
		}
	} else {
		_ = json.Unmarshal(data, &crs)
		if fc, err = geojson.UnmarshalFeatureCollection(data); err != nil {
			return nil, "", "", fmt.Errorf("read %s: not a GeoJSON FeatureCollection: %w", path, err)
		}
	}
	if len(fc.Features) == 0 {
		return nil, "", "", fmt.Errorf("read %s: no features", path)
	}
	var transform proj.Transform
	crsName := crs.CRS.Properties.Name
	if opt.CRS != "" {
		crsName = opt.CRS
	}
	if crsName != "" && !isLonLatCRS(crsName) {
		if transform, err = proj.ParseCRS(crsName); err != nil {
			return nil, "", "", fmt.Errorf("read %s: %w", path, err)
		}
	}
	idProp = opt.IDProp
	if idProp == "" {
		idProp = pickProp(fc, idProps)
		if idProp == "" && fc.Features[0].ID != nil {
			idProp = featureIDProp
		}
		if idProp == "" {
			idProp = pickProp(fc, nameProps)
		}
		if idProp == "" {
			return nil, "", "", equity311.OptionErrorf("id_prop", "read %s: no id property found (tried %s); name the property that holds the area id", path, strings.Join(idProps, ", "))
		}
	}
	nameProp = opt.NameProp
	if nameProp == "" {
		if nameProp = pickProp(fc, nameProps); nameProp == "" {
			nameProp = idProp
		}
	}
	seen := map[string]int{}
	for k, f := range fc.Features {
		id := propString(f, idProp)
		if id == "" {
			return nil, "", "", fmt.Errorf("read %s: feature %d has no %s", path, k, idProp)
		}
		if prev, dup := seen[id]; dup {
			return nil, "", "", fmt.Errorf("read %s: features %d and %d share the id %s=%q; ids must be unique", path, prev, k, idProp, id)
		}
		seen[id] = k
		var mp orb.MultiPolygon
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			mp = g
		default:
			return nil, "", "", fmt.Errorf("read %s: feature %d (%s): geometry %T, want Polygon or MultiPolygon", path, k, id, f.Geometry)
		}
		if len(mp) == 0 || len(mp[0]) == 0 {
			return nil, "", "", fmt.Errorf("read %s: feature %d (%s): empty geometry", path, k, id)
		}
		if transform != nil {
			if b := mp.Bound(); b.Min[0] >= -180 && b.Max[0] <= 180 && b.Min[1] >= -90 && b.Max[1] <= 90 {
				return nil, "", "", equity311.OptionErrorf("crs", "read %s: feature %d (%s): coordinates %v..%v look like longitude and latitude degrees, not %s's projected units: leave out the coordinate system, or check the file",
					path, k, id, b.Min, b.Max, crsName)
			}
			mp = project.MultiPolygon(mp, transform)
		}
		b := mp.Bound()
		if b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 {
			return nil, "", "", equity311.OptionErrorf("crs", "read %s: feature %d (%s): coordinates %v..%v are not lon/lat degrees: name the projected coordinate system (EPSG:NNNN)", path, k, id, b.Min, b.Max)
		}
		for pi, poly := range mp {
			for ri, ring := range poly {
				if len(ring) < 4 {
					return nil, "", "", fmt.Errorf("read %s: feature %d (%s): polygon %d ring %d has %d points, want at least 4", path, k, id, pi, ri, len(ring))
				}
				if ring[0] != ring[len(ring)-1] {
					poly[ri] = append(ring, ring[0])
				}
			}
		}
		if planar.Area(mp) == 0 {
			return nil, "", "", fmt.Errorf("read %s: feature %d (%s): the polygon has no area", path, k, id)
		}
		name := propString(f, nameProp)
		if name == "" {
			name = id
		}
		areas = append(areas, area{id: id, name: name, geom: mp})
	}
	return areas, idProp, nameProp, nil
}

func isLonLatCRS(name string) bool {
	n := strings.ToUpper(name)
	return strings.HasSuffix(n, "CRS84") || strings.HasSuffix(n, ":4326") || strings.HasSuffix(n, "::4326")
}

// pickProp returns the first candidate property that every feature has.
func pickProp(fc *geojson.FeatureCollection, candidates []string) string {
	for _, c := range candidates {
		all := true
		for _, f := range fc.Features {
			if propString(f, c) == "" {
				all = false
				break
			}
		}
		if all {
			return c
		}
	}
	return ""
}

// propString reads a property as text; numbers keep all their digits.
func propString(f *geojson.Feature, prop string) string {
	var v any
	if prop == featureIDProp {
		v = f.ID
	} else {
		v = f.Properties[prop]
	}
	return jsontext.String(v)
}
