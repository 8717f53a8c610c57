// Package options reads the one definition of an options struct — its
// fields' `toml` keys, `flag` names, `help` texts and `secret` markers —
// for the command line and the service config alike: the command line
// binds flags from it, the service decodes its config into it, and both
// print the same defaults because both start from the same value.
//
// Tags on a field:
//
//	toml:"page_size"          the config key (required; "-" leaves the field out)
//	flag:"rate"               the flag name, when it is not the key with dashes
//	help:"records per page"   what the option does
//	secret:"env"              the value names an environment variable holding a secret
//	secret:"url"              the value is a URL whose user information and query may hold secrets
//
// Embedded structs are flattened, as the TOML decoder does.
package options

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Field is one option of a struct.
type Field struct {
	Key    string // config key
	Flag   string // command-line flag name
	Help   string
	Secret bool          // the value is the name of an environment variable
	URL    bool          // the value is a URL that may carry credentials
	Value  reflect.Value // settable when the struct was given by pointer
}

// Fields lists the options of the struct v points to (or is), in field
// order, embedded structs flattened.
func Fields(v any) []Field {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	var out []Field
	walk(rv, &out)
	return out
}

func walk(rv reflect.Value, out *[]Field) {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		sf := rt.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && key == "" {
			walk(rv.Field(i), out)
			continue
		}
		if key == "" || key == "-" || !sf.IsExported() {
			continue
		}
		f := Field{Key: key, Flag: sf.Tag.Get("flag"), Help: sf.Tag.Get("help"), Secret: sf.Tag.Get("secret") == "env", URL: sf.Tag.Get("secret") == "url", Value: rv.Field(i)}
		if f.Flag == "" {
			f.Flag = strings.ReplaceAll(key, "_", "-")
		}
		*out = append(*out, f)
	}
}

// Format returns a field's value as the config file would write it.
func Format(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case time.Duration:
		return fmt.Sprintf("%q", x.String())
	}
	return fmt.Sprint(v.Interface())
}

// Setting is one option's value, and whether it is the default.
type Setting struct {
	Key, Value string
	Default    bool
	URL        bool // Value is a URL to redact before it is shown
}

// Settings lists v's options with their values, marking those equal to
// def's (both of the same struct type).
func Settings(v, def any) []Setting {
	fv, fd := Fields(v), Fields(def)
	out := make([]Setting, len(fv))
	for i, f := range fv {
		out[i] = Setting{Key: f.Key, Value: Format(f.Value), Default: reflect.DeepEqual(f.Value.Interface(), fd[i].Value.Interface()), URL: f.URL}
	}
	return out
}
