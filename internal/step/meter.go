package step

import (
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/types"
)

// The meter: compiled programs are rewritten so that everything that loops,
// builds or scans reports to the evaluation's budget (budget.go) before or
// as it does so. expr's own memory budget does not count strings, and its
// VM never looks at a context, so without this an expression could build
// gigabytes with + or run for minutes inside a reduce.
//
// The rewrite (meterPatch) turns
//
//   - every predicate body p (map, filter, reduce, all, ...) into
//     "@tick(@budget); p": one unit of work per iteration, and a look at the
//     context and the clock every checkEvery units;
//   - a + b, unless both sides are known numbers, into @add(@budget, a, b),
//     which counts a concatenation before it allocates it;
//   - s matches p into @matches(@budget, s, p), which caps the pattern's
//     length, caches compiled patterns and counts the scan;
//   - the builtins that build or scan (repeat, join, replace, toJSON, split,
//     sort, ...) into @call(@budget, "name", args...), which estimates what
//     the call reads and builds from its arguments before running it;
//   - list and map literals, ranges and the results of map, filter, groupBy
//     and sortBy into @alloc(@budget, value), which counts their elements.
//
// The names start with '@', which expr's lexer refuses, so no definition can
// call them or shadow them. Calls keep the type the checker gave the node
// they replace, so the rewrite changes no program's meaning, only what it
// may spend.
const (
	budgetVar = "@budget"
	fnTick    = "@tick"
	fnAdd     = "@add"
	fnMatches = "@matches"
	fnCall    = "@call"
	fnAlloc   = "@alloc"
)

// meterFunctions are the compile options that declare the meter functions;
// a metered compile adds a meterPatch of its own.
var meterFunctions = []expr.Option{
	expr.Function(fnTick, tick),
	expr.Function(fnAdd, add),
	expr.Function(fnMatches, matches),
	expr.Function(fnCall, callBuiltin),
	expr.Function(fnAlloc, alloc),
}

// meterEnv adds the budget's variable to the compile environment.
func meterEnv(env types.Map) types.Map {
	out := make(types.Map, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	out[budgetVar] = types.TypeOf(&budget{})
	return out
}

// allocating are the builtins whose result is a list or map they created.
var allocating = map[string]bool{"map": true, "filter": true, "groupBy": true, "sortBy": true}

// meterPatch rewrites one program; used says it rewrote anything.
type meterPatch struct{ used bool }

func (p *meterPatch) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		n.Node = &ast.SequenceNode{Nodes: []ast.Node{p.meterCall(fnTick), n.Node}}
	case *ast.BinaryNode:
		switch {
		case n.Operator == "+" && (!numeric(n.Left) || !numeric(n.Right)):
			replace(node, p.meterCall(fnAdd, n.Left, n.Right))
		case n.Operator == "matches":
			replace(node, p.meterCall(fnMatches, n.Left, n.Right))
		case n.Operator == "..":
			replace(node, p.meterCall(fnAlloc, n))
		case n.Operator == "in":
			// x in [..] and x in a..b answer a bool and keep nothing;
			// unwrapped, the optimizer turns them into a set lookup or a
			// comparison instead of building the list.
			n.Right = unwrapAlloc(n.Right)
		}
	case *ast.ArrayNode, *ast.MapNode:
		replace(node, p.meterCall(fnAlloc, n))
	case *ast.BuiltinNode:
		switch {
		case n.Name == "sum" && len(n.Arguments) == 1:
			n.Arguments[0] = unwrapAlloc(n.Arguments[0])
		case allocating[n.Name]:
			replace(node, p.meterCall(fnAlloc, n))
		case builtinCosts[n.Name] != nil:
			args := append([]ast.Node{&ast.StringNode{Value: n.Name}}, n.Arguments...)
			replace(node, p.meterCall(fnCall, args...))
		}
	}
}

// meterCall is a call of a meter function with the budget as its first
// argument.
func (p *meterPatch) meterCall(fn string, args ...ast.Node) *ast.CallNode {
	p.used = true
	return &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: fn},
		Arguments: append([]ast.Node{&ast.IdentifierNode{Value: budgetVar}}, args...),
	}
}

// replace puts call where node was, keeping its location and, when the
// checker knew it, its type.
func replace(node *ast.Node, call *ast.CallNode) {
	if nt := (*node).Nature(); nt.Type != nil && nt.Type.Kind() != reflect.Interface {
		call.SetNature(*nt)
	}
	ast.Patch(node, call)
}

// unwrapAlloc undoes the @alloc around a literal list or a range.
func unwrapAlloc(n ast.Node) ast.Node {
	c, ok := n.(*ast.CallNode)
	if !ok || len(c.Arguments) != 2 {
		return n
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == fnAlloc {
		return c.Arguments[1]
	}
	return n
}

// numeric reports whether the checker knows n to be a number.
func numeric(n ast.Node) bool {
	t := n.Type()
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}
