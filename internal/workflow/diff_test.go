package workflow

import (
	"fmt"
	"strings"
	"testing"
)

// apply rebuilds both sides from a diff: the from side is every kept and
// removed line, the to side every kept and added line, each in order and
// numbered consecutively.
func apply(t *testing.T, d []DiffLine) (from, to []string) {
	t.Helper()
	for _, l := range d {
		if l.Op != "+" {
			from = append(from, l.Text)
			if l.FromLine != len(from) {
				t.Errorf("line %q: from_line %d, want %d", l.Text, l.FromLine, len(from))
			}
		}
		if l.Op != "-" {
			to = append(to, l.Text)
			if l.ToLine != len(to) {
				t.Errorf("line %q: to_line %d, want %d", l.Text, l.ToLine, len(to))
			}
		}
	}
	return from, to
}

func TestLineDiffRebuildsBothSidesWithFewestChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		x, y        string
		added, gone int
	}{
		{"equal", "a b c", "a b c", 0, 0},
		{"both empty", "", "", 0, 0},
		{"from nothing", "", "a b", 2, 0},
		{"to nothing", "a b", "", 0, 2},
		{"one changed", "a b c d", "a B c d", 1, 1},
		{"inserted in the middle", "a b c", "a b x y c", 2, 0},
		{"removed at the ends", "x a b c y", "a b c", 0, 2},
		{"moved", "a b c d", "b c d a", 1, 1},
		{"repeated lines", "a a b a", "a b a a", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, y := strings.Fields(tt.x), strings.Fields(tt.y)
			d := LineDiff(x, y)
			from, to := apply(t, d)
			if strings.Join(from, " ") != tt.x || strings.Join(to, " ") != tt.y {
				t.Fatalf("LineDiff(%q, %q) rebuilds %q and %q", tt.x, tt.y, from, to)
			}
			added, gone := 0, 0
			for _, l := range d {
				added += map[string]int{"+": 1}[l.Op]
				gone += map[string]int{"-": 1}[l.Op]
			}
			if added != tt.added || gone != tt.gone {
				t.Errorf("LineDiff(%q, %q) = +%d -%d, want +%d -%d", tt.x, tt.y, added, gone, tt.added, tt.gone)
			}
		})
	}
}

func TestLineDiffOfHugeTextsStaysBounded(t *testing.T) {
	t.Parallel()
	var x, y []string
	for i := range 5000 {
		x = append(x, fmt.Sprintf("x%d", i))
		y = append(y, fmt.Sprintf("y%d", i))
	}
	x = append([]string{"same"}, x...)
	y = append([]string{"same"}, y...)
	d := LineDiff(x, y) // 25M cells: over the bound, so whole
	from, to := apply(t, d)
	if len(from) != len(x) || len(to) != len(y) || d[0].Op != "=" {
		t.Fatalf("huge diff rebuilds %d and %d lines, want %d and %d", len(from), len(to), len(x), len(y))
	}
}

func TestRenderSortsKeysAsYAML(t *testing.T) {
	t.Parallel()
	got, err := Render([]byte(`{"steps":[{"type":"log","name":"a"}],"name":"wf"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := "name: wf\nsteps:\n- name: a\n  type: log\n"
	if got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}
