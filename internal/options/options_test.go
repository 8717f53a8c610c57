package options

import (
	"testing"
	"time"
)

type inner struct {
	Profile string `toml:"profile" help:"the profile"`
}

type example struct {
	URL     string        `toml:"url" help:"where"`
	Rate    float64       `toml:"requests_per_minute" flag:"rate"`
	KeyEnv  string        `toml:"api_key_env" secret:"env"`
	Window  time.Duration `toml:"window"`
	Skipped int           `toml:"-"`
	inner
}

// TestFields reads keys, flags, help and secrets, flattens embedded
// structs, leaves out "-" fields, and marks defaults.
func TestFields(t *testing.T) {
	v := example{URL: "https://x", Rate: 10, Window: time.Hour, inner: inner{Profile: "auto"}}
	fs := Fields(&v)
	var keys, flags []string
	for _, f := range fs {
		keys, flags = append(keys, f.Key), append(flags, f.Flag)
	}
	if got := len(fs); got != 5 {
		t.Fatalf("%d fields (%v), want 5", got, keys)
	}
	want := []string{"url", "rate", "api-key-env", "window", "profile"}
	for i := range want {
		if flags[i] != want[i] {
			t.Errorf("flag %d = %q, want %q", i, flags[i], want[i])
		}
	}
	if !fs[2].Secret || fs[0].Secret || fs[0].Help != "where" || fs[4].Help != "the profile" {
		t.Errorf("secret or help tags misread: %+v", fs)
	}
	fs[1].Value.SetFloat(5) // the fields of a pointer are settable
	if v.Rate != 5 {
		t.Errorf("Rate %v after setting its field, want 5", v.Rate)
	}
	def := example{URL: "", Rate: 10, Window: time.Hour, inner: inner{Profile: "auto"}}
	for _, s := range Settings(&v, &def) {
		isDefault := s.Key == "api_key_env" || s.Key == "window" || s.Key == "profile"
		if s.Default != isDefault {
			t.Errorf("%s = %s: default %v, want %v", s.Key, s.Value, s.Default, isDefault)
		}
		if s.Key == "window" && s.Value != `"1h0m0s"` {
			t.Errorf("window written as %s", s.Value)
		}
	}
}
