package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
)

// Place is one of a ticket's places: an area (areas.area_no) and how the
// ticket came to be in it (point, overlap or snapped; see migration 17).
type Place struct {
	Area  int32
	Basis string
}

// PlaceSets returns the number (place_sets.set_no) of the place set that
// holds exactly each list of places, in the order given, and stores the
// sets not stored yet, numbered after the largest stored in the order
// given. A ticket's places are its set (ticket_place_sets, migration 19),
// so the few combinations of areas are stored once, not per ticket. It
// runs on conn, inside the caller's transaction if one is open.
func PlaceSets(ctx context.Context, conn *sql.Conn, sets [][]Place) ([]int32, error) {
	out := make([]int32, len(sets))
	if len(sets) == 0 {
		return out, nil
	}
	stored := map[string]int32{}
	var last int32
	rows, err := conn.QueryContext(ctx, `SELECT set_no, list({'a': area_no, 'b': basis::VARCHAR}) FROM place_sets GROUP BY set_no`)
	if err != nil {
		return nil, fmt.Errorf("place sets: %w", err)
	}
	for rows.Next() {
		var no int32
		var places []any
		if err := rows.Scan(&no, &places); err != nil {
			rows.Close()
			return nil, fmt.Errorf("place sets: %w", err)
		}
		set := make([]Place, 0, len(places))
		for _, p := range places {
			m, ok := p.(map[string]any)
			a, okA := m["a"].(int32)
			b, okB := m["b"].(string)
			if !ok || !okA || !okB {
				rows.Close()
				return nil, fmt.Errorf("place sets: set %d: unexpected place %v", no, p)
			}
			set = append(set, Place{a, b})
		}
		k := placeKey(set)
		if prev, ok := stored[k]; !ok || no < prev {
			stored[k] = no
		}
		last = max(last, no)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("place sets: %w", err)
	}
	var add [][]driver.Value
	for i, set := range sets {
		k := placeKey(set)
		no, ok := stored[k]
		if !ok {
			if len(set) == 0 {
				return nil, fmt.Errorf("place sets: an empty set of places")
			}
			last++
			no = last
			stored[k] = no
			for _, p := range set {
				add = append(add, []driver.Value{no, p.Area, p.Basis})
			}
		}
		out[i] = no
	}
	if err := AppendRows(ctx, conn, "place_sets", add); err != nil {
		return nil, fmt.Errorf("store place sets: %w", err)
	}
	return out, nil
}

// placeKey is a set's places in the order of their areas, as one string.
func placeKey(set []Place) string {
	s := slices.Clone(set)
	slices.SortFunc(s, func(a, b Place) int { return cmp.Or(cmp.Compare(a.Area, b.Area), cmp.Compare(a.Basis, b.Basis)) })
	var b strings.Builder
	for _, p := range s {
		fmt.Fprintf(&b, "%d:%s,", p.Area, p.Basis)
	}
	return b.String()
}
