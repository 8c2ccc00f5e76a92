package step

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// StepRefs returns the names of the steps the expression src reads, that is
// every steps.<name> or steps["name"] in it, in order of appearance and
// without duplicates. Lookups with a computed key cannot be resolved before
// the run and are not reported.
func StepRefs(src string) ([]string, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, err
	}
	v := &refVisitor{seen: map[string]bool{}}
	ast.Walk(&tree.Node, v)
	return v.names, nil
}

type refVisitor struct {
	names []string
	seen  map[string]bool
}

func (v *refVisitor) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	root, ok := m.Node.(*ast.IdentifierNode)
	if !ok || root.Value != "steps" {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok || v.seen[prop.Value] {
		return
	}
	v.seen[prop.Value] = true
	v.names = append(v.names, prop.Value)
}
