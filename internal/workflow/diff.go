package workflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"sigs.k8s.io/yaml"

	"aias/internal/errs"
	"aias/internal/postgres"
)

// Diff is a line diff between two versions of a workflow, each rendered
// the same way (YAML with sorted keys, as Render makes it), so only
// differences of meaning show, whatever notation each was sent in.
type Diff struct {
	WorkflowID uuid.UUID  `json:"workflow_id"`
	From       int        `json:"from"`
	To         int        `json:"to"`
	Added      int        `json:"added"`
	Removed    int        `json:"removed"`
	Lines      []DiffLine `json:"lines"`
}

// DiffLine is one line of a diff: kept ("="), removed ("-", a line of the
// from version) or added ("+", a line of the to version), with its line
// number in each version it is in (0 where it is not).
type DiffLine struct {
	Op       string `json:"op"`
	Text     string `json:"text"`
	FromLine int    `json:"from_line,omitempty"`
	ToLine   int    `json:"to_line,omitempty"`
}

// maxDiffCells bounds the table of the longest common subsequence
// (lines x lines, after the common head and tail are set aside). Past it
// the differing middle is shown as removed then added, whole.
const maxDiffCells = 4_000_000

// DiffVersions diffs version from against version to of workflow id.
func DiffVersions(ctx context.Context, q postgres.Querier, id uuid.UUID, from, to int) (Diff, error) {
	a, err := versionText(ctx, q, id, from)
	if err != nil {
		return Diff{}, err
	}
	b, err := versionText(ctx, q, id, to)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{WorkflowID: id, From: from, To: to, Lines: LineDiff(splitLines(a), splitLines(b))}
	for _, l := range d.Lines {
		switch l.Op {
		case "+":
			d.Added++
		case "-":
			d.Removed++
		}
	}
	return d, nil
}

// versionText is one stored version, rendered.
func versionText(ctx context.Context, q postgres.Querier, id uuid.UUID, version int) (string, error) {
	var raw []byte
	const get = `SELECT definition FROM workflow_versions WHERE workflow_id = $1 AND version = $2 AND tenant_id = $3`
	err := q.GetContext(ctx, &raw, get, id, version, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		return "", errs.NotFoundf("workflow version %d not found", version)
	}
	if err != nil {
		return "", fmt.Errorf("get workflow %s v%d: %w", id, version, postgres.Classify(err))
	}
	return Render(raw)
}

// Render is a stored definition (canonical JSON) as YAML with sorted keys:
// the text versions are diffed as, and the console's editor starts from.
func Render(definition []byte) (string, error) {
	y, err := yaml.JSONToYAML(definition)
	if err != nil {
		return "", fmt.Errorf("render definition: %w", err)
	}
	return string(y), nil
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// LineDiff is the shortest edit from x to y, by the longest common
// subsequence of their lines: the common head and tail first, then the
// quadratic table over what differs in between (whole, when that is more
// than maxDiffCells).
func LineDiff(x, y []string) []DiffLine {
	head := 0
	for head < len(x) && head < len(y) && x[head] == y[head] {
		head++
	}
	tail := 0
	for tail < len(x)-head && tail < len(y)-head && x[len(x)-1-tail] == y[len(y)-1-tail] {
		tail++
	}
	var out []DiffLine
	for i := range head {
		out = append(out, DiffLine{Op: "=", Text: x[i], FromLine: i + 1, ToLine: i + 1})
	}
	mx, my := x[head:len(x)-tail], y[head:len(y)-tail]
	out = append(out, middle(mx, my, head)...)
	for k := range tail {
		i, j := len(x)-tail+k, len(y)-tail+k
		out = append(out, DiffLine{Op: "=", Text: x[i], FromLine: i + 1, ToLine: j + 1})
	}
	return out
}

// middle diffs the lines between the common head (of off lines) and tail.
func middle(x, y []string, off int) []DiffLine {
	var out []DiffLine
	if len(x)*len(y) > maxDiffCells {
		for i, l := range x {
			out = append(out, DiffLine{Op: "-", Text: l, FromLine: off + i + 1})
		}
		for j, l := range y {
			out = append(out, DiffLine{Op: "+", Text: l, ToLine: off + j + 1})
		}
		return out
	}
	// lcs[i][j] is the length of the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int32, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, DiffLine{Op: "=", Text: x[i], FromLine: off + i + 1, ToLine: off + j + 1})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, DiffLine{Op: "-", Text: x[i], FromLine: off + i + 1})
			i++
		default:
			out = append(out, DiffLine{Op: "+", Text: y[j], ToLine: off + j + 1})
			j++
		}
	}
	return out
}
