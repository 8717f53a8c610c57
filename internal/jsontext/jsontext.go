// Package jsontext renders decoded JSON values as the text a CSV cell
// would hold, the one way every reader of JSON feeds and files does.
package jsontext

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// String renders v, a value decoded by encoding/json (or XML read into the
// same shapes): "" for null, strings trimmed, numbers with all their
// digits and no exponent, booleans as true/false, a GeoJSON-style point
// {"coordinates": [lon, lat]} as "(lat, lon)" (Socrata writes points so),
// and anything else as its JSON.
func String(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		if c, ok := x["coordinates"].([]any); ok && len(c) == 2 {
			return fmt.Sprintf("(%s, %s)", String(c[1]), String(c[0]))
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
