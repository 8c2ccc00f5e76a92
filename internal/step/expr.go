package step

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Limits on expressions. Definitions come from tenants, so both the size of an
// expression and the work it may do while running are bounded.
const (
	MaxExprBytes = 4096      // longest accepted expression source
	maxExprNodes = 1000      // AST nodes per expression
	memoryBudget = 1_000_000 // expr's allocation units per evaluation
	cacheSize    = 4096      // compiled programs kept in memory
)

// compileEnv declares the variables an expression may use. Their members are
// untyped maps, so any trigger.body.x compiles while a misspelt root such as
// "trigerr" is caught when the definition is saved. secrets compiles
// everywhere; where it may be used is a validation rule of its own (see
// Source.CheckSecrets), so that a misplaced secret is reported as such.
//
// item (the element of a foreach list) may hold any JSON value, so it is
// declared with the interface type a map member has: item * 2 and item.id
// both compile, as trigger.body * 2 and trigger.body.id do.
var compileEnv = types.Map{
	"trigger":  types.TypeOf(map[string]any{}),
	"steps":    types.TypeOf(map[string]any{}),
	"run":      types.TypeOf(map[string]any{}),
	"step":     types.TypeOf(map[string]any{}),
	"item":     anyValue{},
	"index":    types.Int,
	SecretsKey: types.TypeOf(map[string]any{}),
}

// anyValue is the type of a value known only at run time.
type anyValue struct{}

var interfaceType = reflect.TypeFor[any]()

func (anyValue) Nature() nature.Nature   { return nature.FromType(interfaceType) }
func (anyValue) Equal(t types.Type) bool { return t == types.Any || t == anyValue{} }
func (anyValue) String() string          { return "any" }

// CompileExpr checks that src is a valid expression over Env.
func CompileExpr(src string) error {
	_, err := compile(src)
	return err
}

// Eval evaluates the expression src against env. Expressions that fail to
// compile or fail at run time are permanent errors: the same definition and
// input would fail again. A missing map key evaluates to nil; use `?.` to
// reach through a value that may itself be nil and `??` for a default.
func Eval(ctx context.Context, src string, env Env) (any, error) {
	// The VM cannot be interrupted, so the context is checked up front; the
	// node and memory limits bound how long the evaluation itself can take.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prog, err := compile(src)
	if err != nil {
		return nil, Permanent(err)
	}
	machine := vm.VM{MemoryBudget: memoryBudget}
	// Programs are compiled against a map[string]any env and use a type
	// assertion on it, so the named Env type must be converted.
	out, err := machine.Run(prog, map[string]any(env))
	if err != nil {
		return nil, Permanent(fmt.Errorf("expression %q: %s", src, describe(err)))
	}
	return out, nil
}

// compile returns the program for src, from the cache when possible.
func compile(src string) (*vm.Program, error) {
	if prog, ok := programs.get(src); ok {
		return prog, nil
	}
	if len(src) > MaxExprBytes {
		return nil, fmt.Errorf("expression is longer than %d bytes", MaxExprBytes)
	}
	prog, err := expr.Compile(src, expr.Env(compileEnv), expr.MaxNodes(maxExprNodes))
	if err != nil {
		return nil, fmt.Errorf("invalid expression: %s", describe(err))
	}
	programs.put(src, prog)
	return prog, nil
}

// describe renders an expr error on one line; expr's own Error() adds a
// multi-line source snippet that reads badly in an API response or a log.
func describe(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Line > 0 {
			return fmt.Sprintf("%s (line %d, column %d)", fe.Message, fe.Line, fe.Column+1)
		}
		return fe.Message
	}
	return err.Error()
}

// programCache is a bounded map of compiled programs. When it fills up it
// starts over: definitions are few and hot, so a full reset is rare and far
// simpler than tracking recency.
type programCache struct {
	mu sync.RWMutex
	m  map[string]*vm.Program
}

var programs = &programCache{m: make(map[string]*vm.Program)}

func (c *programCache) get(src string) (*vm.Program, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.m[src]
	return p, ok
}

func (c *programCache) put(src string, p *vm.Program) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheSize {
		clear(c.m)
	}
	c.m[src] = p
}
