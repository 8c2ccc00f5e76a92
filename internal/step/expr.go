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
	memoryBudget = 1_000_000 // expr's allocation units (elements) per evaluation; see also budget.go
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

// meteredEnv is compileEnv with the budget of the metered program.
var meteredEnv = meterEnv(compileEnv)

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
//
// The evaluation spends ctx's budget (see WithBudget; a context without one
// gives the evaluation its own) and stops, permanently, when the budget runs
// out or ctx's deadline passes; a canceled ctx stops it with a retryable
// error.
func Eval(ctx context.Context, src string, env Env) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prog, err := compile(src)
	if err != nil {
		return nil, Permanent(err)
	}
	// Programs are compiled against a map[string]any env and use a type
	// assertion on it, so the named Env type must be converted. A metered
	// program also reads the budget it reports to from it.
	vars := map[string]any(env)
	if prog.metered {
		var b *budget
		ctx, b = budgetFrom(ctx)
		b.begin(ctx)
		defer b.end()
		vars = make(map[string]any, len(env)+1)
		for k, v := range env {
			vars[k] = v
		}
		vars[budgetVar] = b
	}
	machine := vm.VM{MemoryBudget: memoryBudget}
	out, err := machine.Run(prog.Program, vars)
	if err != nil {
		return nil, runError(src, err)
	}
	return out, nil
}

// runError classifies an evaluation's failure: a spent budget (permanent)
// or a canceled context (retryable) as it is, their messages saying why
// without the expression; any other failure as a permanent error naming
// the expression.
func runError(src string, err error) error {
	var (
		spent   *budgetError
		stopped *stoppedError
	)
	switch {
	case errors.As(err, &spent):
		return spent
	case errors.As(err, &stopped):
		return stopped
	}
	return Permanent(fmt.Errorf("expression %q: %s", src, describe(err)))
}

// program is a compiled expression. metered says the meter rewrote it
// (meter.go): it loops, builds or scans, and reports to a budget. One that
// does none of these (a member chain, arithmetic, a comparison) takes time
// bounded by its size and runs without one.
type program struct {
	*vm.Program
	metered bool
}

// compile returns the program for src, from the cache when possible. src
// is checked as written first, so its errors are the ones its author
// wrote; then what its literals alone would build (checkBuilds); then it is
// compiled again with the meter.
func compile(src string) (program, error) {
	if prog, ok := programs.get(src); ok {
		return prog, nil
	}
	if len(src) > MaxExprBytes {
		return program{}, fmt.Errorf("expression is longer than %d bytes", MaxExprBytes)
	}
	if _, err := expr.Compile(src, expr.Env(compileEnv), expr.MaxNodes(maxExprNodes)); err != nil {
		return program{}, fmt.Errorf("invalid expression: %s", describe(err))
	}
	if err := checkBuilds(src); err != nil {
		return program{}, fmt.Errorf("expression %w", err)
	}
	patch := &meterPatch{}
	opts := append([]expr.Option{expr.Env(meteredEnv), expr.MaxNodes(maxExprNodes), expr.Patch(patch)}, meterFunctions...)
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return program{}, fmt.Errorf("invalid expression: %s", describe(err))
	}
	p := program{Program: prog, metered: patch.used}
	programs.put(src, p)
	return p, nil
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
	m  map[string]program
}

var programs = &programCache{m: make(map[string]program)}

func (c *programCache) get(src string) (program, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.m[src]
	return p, ok
}

func (c *programCache) put(src string, p program) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheSize {
		clear(c.m)
	}
	c.m[src] = p
}
