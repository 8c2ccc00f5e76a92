package workflow

import (
	"fmt"

	"aias/internal/step"
)

// Node is one step of a definition with its place in the tree of steps that
// switch branches and foreach bodies make.
type Node struct {
	Step  Step
	Path  string // JSON path, e.g. "steps[1].cases[0].steps[2]"
	Order int    // position in a pre-order walk of the whole tree
	Depth int    // 0 for top-level steps
	// Scopes are the branches enclosing the step, outermost first.
	Scopes []Scope
}

// Scope is one branch a step is nested in: a switch case, a switch default
// or a foreach body.
type Scope struct {
	Container string // path of the switch or foreach step
	Branch    string // "cases[0]", "default" or "steps"
	Foreach   bool
}

// Walk lists every step of d in pre-order: a container, then its branches
// in order, then its next sibling.
func (d Definition) Walk() []Node {
	var nodes []Node
	var walk func(steps []Step, path string, depth int, scopes []Scope)
	walk = func(steps []Step, path string, depth int, scopes []Scope) {
		for i, s := range steps {
			p := fmt.Sprintf("%s[%d]", path, i)
			nodes = append(nodes, Node{Step: s, Path: p, Order: len(nodes), Depth: depth, Scopes: scopes})
			for j, c := range s.Cases {
				walk(c.Steps, fmt.Sprintf("%s.cases[%d].steps", p, j), depth+1,
					withScope(scopes, Scope{Container: p, Branch: fmt.Sprintf("cases[%d]", j)}))
			}
			walk(s.Default, p+".default", depth+1, withScope(scopes, Scope{Container: p, Branch: "default"}))
			walk(s.Steps, p+".steps", depth+1, withScope(scopes, Scope{Container: p, Branch: "steps", Foreach: true}))
		}
	}
	walk(d.Steps, "steps", 0, nil)
	return nodes
}

func withScope(scopes []Scope, s Scope) []Scope {
	out := make([]Scope, len(scopes), len(scopes)+1)
	copy(out, scopes)
	return append(out, s)
}

// visibleFrom says whether the output of step n can exist when step r runs,
// and if not, why. A step may read the steps before it in the tree's order,
// except those in another branch of a switch it is inside too, and those in
// a foreach body it is not inside (each iteration has its own outputs).
// Steps in a switch branch can be read after the switch; their output is
// nil when the branch did not run.
func visibleFrom(n, r Node) (bool, string) {
	if n.Order >= r.Order {
		return false, "does not run before this step"
	}
	for _, s := range n.Scopes {
		shared := false
		for _, rs := range r.Scopes {
			if rs.Container != s.Container {
				continue
			}
			shared = true
			if rs.Branch != s.Branch {
				return false, "is in another branch of " + s.Container
			}
		}
		if !shared && s.Foreach {
			return false, "is inside the foreach " + s.Container + "; only its body can read it"
		}
	}
	return true, ""
}

// Effect is a step that acts outside AIAS when it runs (step.SideEffect).
type Effect struct {
	Path string `json:"path"`
	Name string `json:"name"`
	Type string `json:"type"`
	Does string `json:"does"`
	// Line is where the step is in the document it was sent as (0: unknown).
	Line int `json:"line,omitempty"`
}

// SideEffects lists the steps of d, nested ones included, that act outside
// AIAS when they run, in the order of Walk.
func (d Definition) SideEffects() []Effect {
	var out []Effect
	for _, n := range d.Walk() {
		if does := step.SideEffect(n.Step.Type); does != "" {
			out = append(out, Effect{Path: n.Path, Name: n.Step.Name, Type: n.Step.Type, Does: does})
		}
	}
	return out
}
