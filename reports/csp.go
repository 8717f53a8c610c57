package reports

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
)

// inlineScript matches a script element without src, with its attributes
// and content.
var inlineScript = regexp.MustCompile(`(?is)<script(\s[^>]*)?>(.*?)</script>`)

// srcAttr matches a src attribute.
var srcAttr = regexp.MustCompile(`(?i)(^|\s)src\s*=`)

// scriptType matches a type attribute's value.
var scriptType = regexp.MustCompile(`(?i)\btype\s*=\s*["']?([^"'\s>]+)`)

// InlineScriptHashes returns the Content-Security-Policy source of every
// inline script a page runs ('sha256-…', as CSP Level 2 defines it, over
// the script's text exactly as written), so that a server can allow those
// scripts and no other. Scripts with src, and data blocks (type
// text/plain, application/json, …), are left out.
func InlineScriptHashes(page []byte) []string {
	var out []string
	for _, m := range inlineScript.FindAllSubmatch(page, -1) {
		attrs := string(m[1])
		if srcAttr.MatchString(attrs) {
			continue // not inline
		}
		if t := scriptType.FindStringSubmatch(attrs); t != nil {
			switch strings.ToLower(t[1]) {
			case "text/javascript", "application/javascript", "module":
			default:
				continue // a data block: never run
			}
		}
		sum := sha256.Sum256(m[2])
		out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return out
}
