package jsontext

import (
	"encoding/json"
	"testing"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{`null`, ""},
		{`" 25025010300 "`, "25025010300"},
		{`25025010300`, "25025010300"},
		{`1e21`, "1000000000000000000000"},
		{`-71.0587`, "-71.0587"},
		{`true`, "true"},
		{`{"type": "Point", "coordinates": [-87.6, 41.8]}`, "(41.8, -87.6)"},
		{`[1, "a"]`, `[1,"a"]`},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.in), &v); err != nil {
			t.Fatal(err)
		}
		if got := String(v); got != c.want {
			t.Errorf("String(%s) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := String(json.Number("12.50")); got != "12.50" {
		t.Errorf("json.Number kept as %q", got)
	}
}
