package chaos

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"
)

// Row is one line of the progress output.
func (r Result) Row() string {
	verdict := "PASS"
	if !r.Pass() {
		verdict = "FAIL: " + strings.Join(r.Failures, "; ")
	}
	return fmt.Sprintf("%2d  %-44s runs=%-5d L=%d D=%d (≤%d) R=%-6s %s  [%s]", r.N, r.Name, r.Accepted, r.L, r.D, r.DBound,
		fmtDur(r.R), verdict, r.Took.Round(time.Second))
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// Table renders the results as the Markdown table of docs/reliability.md.
func Table(results []Result) string {
	var b strings.Builder
	b.WriteString("| # | scenario | runs | L | D (bound) | R | took | result | measured |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, r := range results {
		verdict := "pass"
		if !r.Pass() {
			verdict = "**FAIL**: " + strings.Join(r.Failures, "; ")
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %d | %d (≤ %d) | %s | %s | %s | %s |\n", r.N, r.Name, r.Accepted, r.L, r.D, r.DBound,
			fmtDur(r.R), r.Took.Round(time.Second), escape(verdict), escape(strings.Join(r.Notes, "; ")))
	}
	return b.String()
}

func escape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// Markers delimit the generated table in docs/reliability.md.
const (
	BeginMarker = "<!-- chaos:begin -->"
	EndMarker   = "<!-- chaos:end -->"
)

// WriteTable replaces what lies between the markers of the file at path
// with the table and a line saying when and how it was measured.
func WriteTable(path, header string, results []Result) error {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the document
	if err != nil {
		return err
	}
	i, j := bytes.Index(b, []byte(BeginMarker)), bytes.Index(b, []byte(EndMarker))
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %s … %s not found", path, BeginMarker, EndMarker)
	}
	var out bytes.Buffer
	out.Write(b[:i+len(BeginMarker)])
	out.WriteString("\n" + header + "\n\n" + Table(results) + "\n")
	out.Write(b[j:])
	return os.WriteFile(path, out.Bytes(), 0o644) //nolint:gosec // a document of the repository
}
