package boundary

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/equity311/equity311/geo/proj"
	"github.com/equity311/equity311/store"
)

// shapefileParts are the files of one ESRI shapefile: geometry (.shp),
// attributes (.dbf) and, when present, the coordinate system (.prj).
type shapefileParts struct{ shp, dbf, prj []byte }

// isShapefile reports whether path names a shapefile: a .shp, a .zip, or
// a folder holding a .shp (as the Census Bureau's TIGER/Line files come).
func isShapefile(path string) bool {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return true
	}
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".shp" || ext == ".zip"
}

// MaxFileBytes is the default cap on a boundary file, or on each part of a
// shapefile (declared and actually read, so that a small .zip cannot
// unpack into gigabytes).
const MaxFileBytes = 512 << 20

// readShapefileParts reads the parts of the shapefile at path, each of at
// most limit bytes.
func readShapefileParts(path string, limit int64) (shapefileParts, error) {
	readFile := func(n string) ([]byte, error) {
		b, _, err := store.ReadFile(n, limit)
		return b, err
	}
	var p shapefileParts
	pick := func(names []string, open func(string) ([]byte, error)) error {
		var shp string
		for _, n := range names {
			if strings.EqualFold(filepath.Ext(n), ".shp") {
				if shp != "" {
					return fmt.Errorf("more than one .shp (%s, %s): name the one to load", filepath.Base(shp), filepath.Base(n))
				}
				shp = n
			}
		}
		if shp == "" {
			return fmt.Errorf("no .shp file")
		}
		stem := strings.TrimSuffix(shp, filepath.Ext(shp))
		var err error
		if p.shp, err = open(shp); err != nil {
			return err
		}
		for _, n := range names {
			if !strings.EqualFold(strings.TrimSuffix(n, filepath.Ext(n)), stem) {
				continue
			}
			switch strings.ToLower(filepath.Ext(n)) {
			case ".dbf":
				p.dbf, err = open(n)
			case ".prj":
				p.prj, err = open(n)
			}
			if err != nil {
				return err
			}
		}
		if p.dbf == nil {
			return fmt.Errorf("%s has no .dbf beside it (the attributes)", filepath.Base(shp))
		}
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return p, err
	}
	switch {
	case st.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return p, err
		}
		var names []string
		for _, e := range entries {
			names = append(names, filepath.Join(path, e.Name()))
		}
		return p, pick(names, readFile)
	case strings.EqualFold(filepath.Ext(path), ".zip"):
		z, err := zip.OpenReader(path)
		if err != nil {
			return p, err
		}
		defer z.Close()
		files := map[string]*zip.File{}
		var names []string
		for _, f := range z.File {
			files[f.Name] = f
			names = append(names, f.Name)
		}
		return p, pick(names, func(n string) ([]byte, error) {
			f := files[n]
			if f.UncompressedSize64 > uint64(limit) {
				return nil, fmt.Errorf("%s in the zip unpacks to %d bytes, more than the limit of %d", n, f.UncompressedSize64, limit)
			}
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			b, err := io.ReadAll(io.LimitReader(rc, limit+1))
			if err != nil {
				return nil, fmt.Errorf("%s in the zip: %w", n, err)
			}
			if int64(len(b)) > limit {
				return nil, fmt.Errorf("%s in the zip unpacks to more than the limit of %d bytes (its header said %d)", n, limit, f.UncompressedSize64)
			}
			return b, nil
		})
	default:
		dir := filepath.Dir(path)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return p, err
		}
		names := []string{path}
		for _, e := range entries {
			n := filepath.Join(dir, e.Name())
			if !strings.EqualFold(filepath.Ext(n), ".shp") {
				names = append(names, n)
			}
		}
		return p, pick(names, readFile)
	}
}

// shapefileFeatures decodes a shapefile's polygons and attributes into
// GeoJSON-like features, and names its coordinate system from the .prj.
func shapefileFeatures(p shapefileParts) (*geojson.FeatureCollection, string, error) {
	geoms, err := readShp(p.shp)
	if err != nil {
		return nil, "", fmt.Errorf(".shp: %w", err)
	}
	recs, err := readDbf(p.dbf)
	if err != nil {
		return nil, "", fmt.Errorf(".dbf: %w", err)
	}
	if len(recs) != len(geoms) {
		return nil, "", fmt.Errorf(".shp has %d shapes, .dbf %d records", len(geoms), len(recs))
	}
	fc := geojson.NewFeatureCollection()
	for i, g := range geoms {
		f := geojson.NewFeature(g)
		for k, v := range recs[i] {
			f.Properties[k] = v
		}
		fc.Append(f)
	}
	crs, err := proj.PrjCRS(string(p.prj))
	return fc, crs, err
}

// readShp reads polygon shapes (types 5, 15 and 25; Z and M ignored).
// Shapefile rings run clockwise around areas and counter-clockwise around
// holes; the result follows GeoJSON (outer rings counter-clockwise).
func readShp(b []byte) ([]orb.MultiPolygon, error) {
	if len(b) < 100 || binary.BigEndian.Uint32(b[0:4]) != 9994 {
		return nil, fmt.Errorf("not a shapefile (file code)")
	}
	var out []orb.MultiPolygon
	for pos, n := 100, 1; pos < len(b); n++ {
		if pos+8 > len(b) {
			return nil, fmt.Errorf("record %d: truncated header", n)
		}
		length := int(binary.BigEndian.Uint32(b[pos+4:pos+8])) * 2
		c := b[pos+8:]
		if length > len(c) || length < 4 {
			return nil, fmt.Errorf("record %d: content of %d bytes runs past the file", n, length)
		}
		c = c[:length]
		pos += 8 + length
		switch typ := binary.LittleEndian.Uint32(c[0:4]); typ {
		case 0:
			return nil, fmt.Errorf("record %d has no geometry", n)
		case 5, 15, 25:
			if len(c) < 44 {
				return nil, fmt.Errorf("record %d: truncated polygon", n)
			}
			nParts := int(binary.LittleEndian.Uint32(c[36:40]))
			nPoints := int(binary.LittleEndian.Uint32(c[40:44]))
			if 44+4*nParts+16*nPoints > len(c) || nParts < 1 {
				return nil, fmt.Errorf("record %d: %d parts and %d points do not fit", n, nParts, nPoints)
			}
			starts := make([]int, nParts+1)
			for i := 0; i < nParts; i++ {
				starts[i] = int(binary.LittleEndian.Uint32(c[44+4*i:]))
			}
			starts[nParts] = nPoints
			pts := c[44+4*nParts:]
			var rings []orb.Ring
			for i := 0; i < nParts; i++ {
				if starts[i] > starts[i+1] || starts[i+1] > nPoints {
					return nil, fmt.Errorf("record %d: part %d has bad bounds", n, i)
				}
				var r orb.Ring
				for k := starts[i]; k < starts[i+1]; k++ {
					x := math.Float64frombits(binary.LittleEndian.Uint64(pts[16*k:]))
					y := math.Float64frombits(binary.LittleEndian.Uint64(pts[16*k+8:]))
					r = append(r, orb.Point{x, y})
				}
				rings = append(rings, r)
			}
			out = append(out, assembleRings(rings))
		default:
			return nil, fmt.Errorf("record %d: shape type %d is not a polygon", n, typ)
		}
	}
	return out, nil
}

// assembleRings groups shapefile rings into polygons: clockwise rings are
// outer rings, counter-clockwise ones holes of the outer ring holding them.
// A file whose rings all turn the same way is read by containment instead.
func assembleRings(rings []orb.Ring) orb.MultiPolygon {
	type ring struct {
		r    orb.Ring
		area float64
	}
	var outers, holes []ring
	cw := 0
	for _, r := range rings {
		if len(r) >= 3 && r.Orientation() == orb.CW {
			cw++
		}
	}
	for _, r := range rings {
		if len(r) < 3 {
			continue
		}
		a := math.Abs(planar.Area(r))
		switch {
		case cw == 0 || cw == len(rings):
			outers = append(outers, ring{r, a}) // sorted out by containment below
		case r.Orientation() == orb.CW:
			outers = append(outers, ring{r, a})
		default:
			holes = append(holes, ring{r, a})
		}
	}
	if cw == 0 || cw == len(rings) {
		// No orientation to go by: a ring inside a larger one is its hole.
		sort.Slice(outers, func(i, j int) bool { return outers[i].area > outers[j].area })
		var keep []ring
		for _, r := range outers {
			inside := false
			for _, o := range keep {
				if planar.RingContains(o.r, r.r[0]) {
					inside = true
					break
				}
			}
			if inside {
				holes = append(holes, r)
			} else {
				keep = append(keep, r)
			}
		}
		outers = keep
	}
	mp := make(orb.MultiPolygon, len(outers))
	for i, o := range outers {
		mp[i] = orb.Polygon{orient(o.r, orb.CCW)}
	}
	for _, h := range holes {
		for i, o := range outers {
			if planar.RingContains(o.r, h.r[0]) {
				mp[i] = append(mp[i], orient(h.r, orb.CW))
				break
			}
		}
	}
	return mp
}

// orient returns a copy of r turning the way given (orb.CCW or orb.CW).
func orient(r orb.Ring, o orb.Orientation) orb.Ring {
	c := r.Clone()
	if c.Orientation() != o {
		c.Reverse()
	}
	return c
}

// readDbf reads dBase III attribute records. Text is UTF-8, or Latin-1
// where it is not valid UTF-8; numbers keep their digits as text.
func readDbf(b []byte) ([]map[string]any, error) {
	if len(b) < 32 {
		return nil, fmt.Errorf("too short")
	}
	nrec := int(binary.LittleEndian.Uint32(b[4:8]))
	hlen := int(binary.LittleEndian.Uint16(b[8:10]))
	rlen := int(binary.LittleEndian.Uint16(b[10:12]))
	type field struct {
		name string
		typ  byte
		len  int
	}
	var fields []field
	for pos := 32; pos+32 <= hlen && b[pos] != 0x0D; pos += 32 {
		name := string(bytes.TrimRight(b[pos:pos+11], "\x00 "))
		fields = append(fields, field{name, b[pos+11], int(b[pos+16])})
	}
	var out []map[string]any
	for i := 0; i < nrec; i++ {
		start := hlen + i*rlen
		if start+rlen > len(b) {
			return nil, fmt.Errorf("record %d runs past the file", i+1)
		}
		rec := b[start : start+rlen]
		if rec[0] == '*' {
			continue // deleted
		}
		m := map[string]any{}
		pos := 1
		for _, f := range fields {
			raw := bytes.TrimSpace(rec[pos : pos+f.len])
			pos += f.len
			s := string(raw)
			if !utf8.Valid(raw) {
				r := make([]rune, len(raw))
				for k, c := range raw {
					r[k] = rune(c)
				}
				s = string(r)
			}
			switch f.typ {
			case 'N', 'F':
				if v, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "eE") && (strings.Contains(s, ".") || len(s) < 16) {
					if strings.Contains(s, ".") {
						m[f.name] = v
					} else {
						m[f.name] = s // integers as text keep leading zeros and all digits
					}
					continue
				}
			}
			m[f.name] = s
		}
		out = append(out, m)
	}
	return out, nil
}

// selfIntersections counts pairs of non-adjacent edges of a closed ring
// that cross or touch. Rings over maxVertices are not checked (-1). Edges
// are swept in order of their lowest y, so each is compared only with the
// edges whose y-range overlaps its own.
func selfIntersections(r orb.Ring, maxVertices int) int {
	n := len(r) - 1 // edges
	if n > maxVertices {
		return -1
	}
	type seg struct {
		a, b       orb.Point
		minY, maxY float64
		minX, maxX float64
		k          int // edge number along the ring
	}
	segs := make([]seg, n)
	for i := 0; i < n; i++ {
		a, b := r[i], r[i+1]
		segs[i] = seg{a, b, math.Min(a[1], b[1]), math.Max(a[1], b[1]), math.Min(a[0], b[0]), math.Max(a[0], b[0]), i}
	}
	slices.SortFunc(segs, func(x, y seg) int { return cmp.Compare(x.minY, y.minY) })
	count := 0
	for p := range segs {
		si := segs[p]
		for q := p + 1; q < n && segs[q].minY <= si.maxY; q++ {
			sj := segs[q]
			if sj.maxX < si.minX || sj.minX > si.maxX {
				continue
			}
			lo, hi := min(si.k, sj.k), max(si.k, sj.k)
			if hi-lo == 1 || lo == 0 && hi == n-1 {
				continue // neighbours along the ring meet at their shared vertex
			}
			if segmentsMeet(si.a, si.b, sj.a, sj.b) {
				count++
			}
		}
	}
	return count
}

func cross(o, a, b orb.Point) float64 { return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0]) }

func segmentsMeet(p1, p2, p3, p4 orb.Point) bool {
	d1, d2 := cross(p3, p4, p1), cross(p3, p4, p2)
	d3, d4 := cross(p1, p2, p3), cross(p1, p2, p4)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	on := func(p, q, r orb.Point) bool {
		return math.Min(p[0], q[0]) <= r[0] && r[0] <= math.Max(p[0], q[0]) && math.Min(p[1], q[1]) <= r[1] && r[1] <= math.Max(p[1], q[1])
	}
	return d1 == 0 && on(p3, p4, p1) || d2 == 0 && on(p3, p4, p2) || d3 == 0 && on(p1, p2, p3) || d4 == 0 && on(p1, p2, p4)
}
