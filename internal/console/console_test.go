package console_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"aias/internal/console"
)

// The Content-Security-Policy forbids inline script and style, so the
// templates must hold none: no <script> without src, no style attribute
// or element, no on… handler, no javascript: URL. A template that broke
// this would be a page whose script silently does not run.
func TestTemplatesHoldNoInlineScriptOrStyle(t *testing.T) {
	t.Parallel()
	forbidden := map[string]*regexp.Regexp{
		"inline script":  regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`),
		"script w/o src": regexp.MustCompile(`(?i)<script(?:(?:\s+[a-z-]+(?:="[^"]*")?)*)>`),
		"style element":  regexp.MustCompile(`(?i)<style[\s>]`),
		"style attr":     regexp.MustCompile(`(?i)\sstyle=`),
		"event handler":  regexp.MustCompile(`(?i)\son[a-z]+=`),
		"js URL":         regexp.MustCompile(`(?i)javascript:`),
	}
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for what, re := range forbidden {
			for _, m := range re.FindAllString(string(b), -1) {
				if what == "script w/o src" && strings.Contains(m, "src=") {
					continue
				}
				t.Errorf("%s holds an %s: %q", f, what, m)
			}
		}
	}
}

// A page's own files stay small: the budget is 100 KB of assets a
// page; the console's whole set is far under it.
func TestAssetsStayUnderTheBudget(t *testing.T) {
	t.Parallel()
	total := 0
	err := filepath.WalkDir("assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		a, ok := console.LookupAsset(d.Name())
		if !ok || a.ContentType == "" || a.ETag == "" {
			t.Errorf("asset %s is not served with a type and an ETag", d.Name())
		}
		total += len(a.Body)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 || total > 40<<10 {
		t.Errorf("assets total %d bytes, want some and under 40 KiB (the page budget is 100 KB)", total)
	}
}

func TestThePolicyAllowsNoInlineScript(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "default-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(console.CSP, want) {
			t.Errorf("CSP %q lacks %q", console.CSP, want)
		}
	}
	if strings.Contains(console.CSP, "unsafe") {
		t.Errorf("CSP %q allows something unsafe", console.CSP)
	}
}
