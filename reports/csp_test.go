package reports

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"testing"
)

func TestInlineScriptHashes(t *testing.T) {
	page := []byte(`<html><head><script>var a = 1;</script><script type="text/plain" id="lic">MIT</script>
<script src="x.js"></script><SCRIPT type="module">import x from "y";</SCRIPT><script type="application/json">{"a":1}</script></head></html>`)
	h := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	want := []string{h("var a = 1;"), h(`import x from "y";`)}
	if got := InlineScriptHashes(page); !slices.Equal(got, want) {
		t.Errorf("hashes %v, want %v", got, want)
	}
}
