package step

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// What expressions may spend while they run. Definitions come from tenants
// and run in a shared worker, so one step attempt's expressions together —
// every expression, template part and value the attempt evaluates, and the
// JSON the step encodes from them — share one budget (see WithBudget):
//
//   - MaxBuildBytes of new text and collections: a string built by +,
//     repeat, join, replace, toJSON, a rendered template, an encoded body;
//     each list element or map entry created counts elementBytes. Reading
//     the trigger or an earlier step's output costs nothing.
//   - MaxExprWork units of work: one per iteration of map, filter, reduce
//     and the other loops, one per 64 bytes or per element a function reads,
//     more for a regular expression.
//   - MaxExprTime of evaluation, or less when the step's context ends
//     sooner (its timeout, the run's).
//
// Running out fails the step permanently: the same definition and input
// would run out again. The limits are checked as the work happens, before
// a large string is allocated, so an expression cannot take the worker's
// memory or hold its CPU past them.
const (
	MaxBuildBytes = 32 << 20
	MaxExprWork   = 10_000_000
	MaxExprTime   = 5 * time.Second
	// elementBytes is what one created list element or map entry counts.
	elementBytes = 16
	// checkEvery is how many work units pass between looks at the clock
	// and the context.
	checkEvery = 256
)

// budget is what the expressions of one step attempt have left. It is not
// safe for concurrent use: a step evaluates its expressions one at a time.
type budget struct {
	ctx     context.Context // the running evaluation's
	work    int64
	built   int64
	spent   time.Duration // evaluation time of the finished evaluations
	started time.Time     // when the running evaluation began
	unseen  int64         // work since the clock and context were last read
}

type budgetKey struct{}

// WithBudget gives the expressions evaluated under the returned context one
// shared budget. The worker calls it once per step attempt; an evaluation
// under a context without a budget gets a budget of its own.
func WithBudget(ctx context.Context) context.Context {
	return context.WithValue(ctx, budgetKey{}, &budget{})
}

// budgetFrom returns ctx's budget, adding a fresh one when it has none.
func budgetFrom(ctx context.Context) (context.Context, *budget) {
	if b, ok := ctx.Value(budgetKey{}).(*budget); ok {
		return ctx, b
	}
	b := &budget{}
	return context.WithValue(ctx, budgetKey{}, b), b
}

// begin starts timing one evaluation under ctx; end stops it.
func (b *budget) begin(ctx context.Context) {
	b.ctx, b.started = ctx, time.Now()
}

func (b *budget) end() {
	b.spent += time.Since(b.started)
	b.started = time.Time{}
}

// charge spends work units and built bytes, and every checkEvery units
// looks at the clock and the context.
func (b *budget) charge(work, built int64) error {
	b.work += work
	b.built += built
	if b.built > MaxBuildBytes {
		return &budgetError{msg: fmt.Sprintf("it would build more than %s of text and lists in one step", sizeText(MaxBuildBytes))}
	}
	if b.work > MaxExprWork {
		return &budgetError{msg: fmt.Sprintf("it did more than %d units of work in one step (a loop iteration is one unit)", MaxExprWork)}
	}
	b.unseen += work
	if b.unseen < checkEvery {
		return nil
	}
	b.unseen = 0
	return b.check()
}

// room is how many bytes may still be built.
func (b *budget) room() int64 { return MaxBuildBytes - b.built }

// check fails when the evaluation's context has ended or the step's
// expressions have used up their time.
func (b *budget) check() error {
	if b.ctx != nil {
		if err := b.ctx.Err(); err != nil {
			cause := context.Cause(b.ctx)
			if errors.Is(err, context.DeadlineExceeded) {
				return &budgetError{msg: cause.Error(), cause: cause}
			}
			return &stoppedError{cause: cause}
		}
	}
	if !b.started.IsZero() && b.spent+time.Since(b.started) > MaxExprTime {
		return &budgetError{msg: fmt.Sprintf("it ran longer than %s in one step", MaxExprTime)}
	}
	return nil
}

// budgetError is an expression stopped for spending more than its budget,
// or for running into its step's deadline. It is permanent: the same
// expression on the same input would be stopped again. It wraps the
// deadline's cause, so the worker recognises a step or run timeout.
type budgetError struct {
	msg   string
	cause error
}

func (e *budgetError) Error() string   { return "expression stopped: " + e.msg }
func (e *budgetError) Unwrap() error   { return e.cause }
func (e *budgetError) Permanent() bool { return true }

// stoppedError is an expression stopped because its context was canceled
// (the run was canceled, the worker is shutting down). It is not the
// expression's fault, so it is not permanent; it wraps the cancel's cause.
type stoppedError struct{ cause error }

func (e *stoppedError) Error() string { return "expression stopped: " + e.cause.Error() }
func (e *stoppedError) Unwrap() error { return e.cause }

// sizeText renders a byte count the way the documentation does.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
