package census

import (
	"math"
	"testing"
)

// FuzzCensusTable reads arbitrary bytes as a census table: it must never
// panic, every cell it keeps has an id, no value is infinite, and the rows
// it rejects are rows it read.
func FuzzCensusTable(f *testing.F) {
	for _, s := range []string{
		"GEOID,population,population_moe\n25025000101,4000,300\n25025000202,NA,\n",
		"GEOID,B01003_001E,B01003_001M,B03002_001E,B03002_003E\nA,10,2,10,5\n",
		`[["NAME","B01003_001E","state","county","tract"],["x","12","25","025","000101"]]`,
		"ct_id_10,total_pop,med_house_income\n1,\"1,200\",-666666666\n2,(X),*****\n",
		"GEOID,a,a_moe\n\"unterminated,1,2\nB,1e999,NaN\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := readTable("fuzz.csv", data, "")
		if err != nil {
			return
		}
		p := tb.parse()
		p.deriveCanonical()
		if p.rowsRejected > p.staged.Read {
			t.Fatalf("%d rows rejected of %d read", p.rowsRejected, p.staged.Read)
		}
		for _, c := range p.cells {
			if c.id == "" {
				t.Fatalf("a cell without an id: %+v", c)
			}
			if c.est != nil && math.IsInf(*c.est, 0) {
				t.Fatalf("an infinite estimate for %s %s", c.id, c.variable)
			}
		}
	})
}
