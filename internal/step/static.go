package step

import (
	"fmt"
	"math"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// checkBuilds refuses, when a definition is saved, an expression whose
// literal parts already build more text than the budget allows, such as
// let a = repeat("x", 999999); let b = a + a; ... — what can be known
// before the run is reported at save time. It adds up the strings built by
// repeat and + whose sizes follow from literals (through let variables),
// each counted once: a loop can only build more. Everything else is left
// to the run-time budget.
func checkBuilds(src string) error {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil // compiling reports it
	}
	e := &estimator{vars: map[string]int64{}}
	e.size(tree.Node)
	if e.total > MaxBuildBytes {
		return fmt.Errorf("builds at least %d bytes of text, more than the %s an expression may build in one step",
			e.total, sizeText(MaxBuildBytes))
	}
	return nil
}

// estimator adds up the sizes of strings built from literals.
type estimator struct {
	vars  map[string]int64 // let variables of known size
	total int64
}

const unknown = -1

// size returns the length of the string node evaluates to, or unknown, and
// adds what node builds to the total.
func (e *estimator) size(node ast.Node) int64 {
	switch n := node.(type) {
	case *ast.StringNode:
		return int64(len(n.Value))
	case *ast.IdentifierNode:
		if v, ok := e.vars[n.Value]; ok {
			return v
		}
		return unknown
	case *ast.BinaryNode:
		l, r := e.size(n.Left), e.size(n.Right)
		if n.Operator == "+" && l != unknown && r != unknown {
			return e.built(l + r)
		}
		return unknown
	case *ast.VariableDeclaratorNode:
		v := e.size(n.Value)
		prev, shadowed := e.vars[n.Name]
		if v == unknown {
			delete(e.vars, n.Name)
		} else {
			e.vars[n.Name] = v
		}
		out := e.size(n.Expr)
		delete(e.vars, n.Name)
		if shadowed {
			e.vars[n.Name] = prev
		}
		return out
	case *ast.BuiltinNode:
		return e.builtin(n)
	case *ast.ConditionalNode:
		e.size(n.Cond)
		a, b := e.size(n.Exp1), e.size(n.Exp2)
		if a == unknown || b == unknown {
			return unknown
		}
		return max(a, b)
	case *ast.SequenceNode:
		out := int64(unknown)
		for _, c := range n.Nodes {
			out = e.size(c)
		}
		return out
	}
	e.children(node)
	return unknown
}

func (e *estimator) builtin(n *ast.BuiltinNode) int64 {
	args := make([]int64, len(n.Arguments))
	for i, a := range n.Arguments {
		args[i] = e.size(a)
	}
	switch n.Name {
	case "repeat":
		if len(args) != 2 {
			return unknown
		}
		count, ok := n.Arguments[1].(*ast.IntegerNode)
		if !ok || args[0] == unknown || count.Value < 0 {
			return unknown
		}
		if args[0] > 0 && int64(count.Value) > math.MaxInt64/args[0] {
			return e.built(math.MaxInt64)
		}
		return e.built(args[0] * int64(count.Value))
	case "upper", "lower":
		if len(args) == 1 {
			return args[0]
		}
	}
	return unknown
}

// built adds n to the total, without overflowing, and returns it.
func (e *estimator) built(n int64) int64 {
	e.total = min(e.total+n, math.MaxInt64/2)
	return n
}

// children sizes the children of a node the estimator has no rule for.
func (e *estimator) children(node ast.Node) {
	var kids []ast.Node
	switch n := node.(type) {
	case *ast.UnaryNode:
		kids = []ast.Node{n.Node}
	case *ast.ChainNode:
		kids = []ast.Node{n.Node}
	case *ast.MemberNode:
		kids = []ast.Node{n.Node, n.Property}
	case *ast.SliceNode:
		kids = []ast.Node{n.Node, n.From, n.To}
	case *ast.CallNode:
		kids = append([]ast.Node{n.Callee}, n.Arguments...)
	case *ast.PredicateNode:
		kids = []ast.Node{n.Node}
	case *ast.ArrayNode:
		kids = n.Nodes
	case *ast.MapNode:
		kids = n.Pairs
	case *ast.PairNode:
		kids = []ast.Node{n.Key, n.Value}
	}
	for _, k := range kids {
		if k != nil {
			e.size(k)
		}
	}
}
