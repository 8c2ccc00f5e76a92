package console_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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

func TestPerMinuteStacksStatusesInTheirMinute(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 12, 30, 40, 0, time.UTC)
	minute := now.Truncate(time.Minute)
	ch := console.PerMinute(now, 24*time.Hour, []console.Count{
		{Minute: minute, Status: "succeeded", N: 3},
		{Minute: minute, Status: "failed", N: 1},
		{Minute: minute.Add(-time.Hour), Status: "succeeded", N: 2},
		{Minute: minute.Add(-25 * time.Hour), Status: "succeeded", N: 9}, // outside the window
	})
	if ch.Empty || len(ch.Bars) != 3 {
		t.Fatalf("bars = %+v, want 3 (two stacked in the last minute, one an hour earlier)", ch.Bars)
	}
	last := ch.Bars[len(ch.Bars)-1]
	if last.Class != "bar-failed" || ch.Bars[1].Class != "bar-succeeded" || last.Y+last.H != ch.Bars[1].Y {
		t.Errorf("the last minute's bars %+v, %+v: want failed stacked on succeeded", ch.Bars[1], last)
	}
	if ch.Bars[0].X >= ch.Bars[1].X || ch.Bars[1].X+ch.Bars[1].W > ch.Width+0.01 {
		t.Errorf("bars out of order or outside the chart: %+v", ch.Bars)
	}
	if !strings.Contains(ch.Summary, "6 runs") || !strings.Contains(ch.Summary, "at most 4") {
		t.Errorf("summary = %q, want 6 runs, at most 4 in one minute", ch.Summary)
	}
}

func TestTimelineShowsFailedAttemptsAndStepsThatNeverRan(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	at := func(ms int) *time.Time { v := start.Add(time.Duration(ms) * time.Millisecond); return &v }
	ch := console.Timeline(start, []console.Span{
		{Name: "a", Status: "succeeded", Start: at(0), End: at(100)},
		{Name: "b", Status: "failed", Start: at(2000), End: at(2500), Retries: 2},
		{Name: "c", Status: "pending"},
	})
	var classes []string
	for _, b := range ch.Bars {
		classes = append(classes, b.Class)
	}
	if strings.Join(classes, ",") != "bar-succeeded,bar-retry,bar-failed" {
		t.Errorf("bars = %v, want a's bar, then b's retry outline and bar, none for c", classes)
	}
	if ch.Bars[0].X >= ch.Bars[2].X || ch.Bars[2].W <= ch.Bars[0].W {
		t.Errorf("b starts after a and lasts longer: %+v", ch.Bars)
	}
	texts := ""
	for _, l := range ch.Labels {
		texts += l.Text + "|"
	}
	if !strings.Contains(texts, "2 failed attempts") || !strings.Contains(texts, "c|pending") {
		t.Errorf("labels = %s, want the failed attempts and c pending", texts)
	}
}
