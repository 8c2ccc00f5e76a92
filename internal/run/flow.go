package run

import (
	"context"
	"fmt"
	"maps"
	"time"

	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/step"
	"aias/internal/workflow"
)

// Control flow: the engine's nodes. condition, delay, switch and foreach
// (workflow.ControlKinds) do no work of their own. Each decides once —
// evaluates its expression, chooses a branch, lists the items, computes a
// time — as one attempt of its step, and the decision is committed as the
// step's output like any step's. The walk then continues from the
// recorded decision, never deciding again: a condition stops the run, a
// delay parks it, a switch walks a branch, a foreach walks its body once
// per item. That is what makes a retried run take the same path.
//
// The recorded outputs are read back by runs stored long ago, so their
// shapes do not change:
//
//	condition  {"passed": bool}
//	delay      {"until": RFC 3339 time, UTC, with nanoseconds}
//	switch     {"case": n}, -1 for default
//	foreach    {"items": [...]}
//
// The rules of their with blocks, checked when a definition is saved, are
// package workflow's (flow.go).

// node is a control node of the walk.
type node interface {
	// decide runs one attempt of the node's step: its result's output is
	// committed as the step's record.
	decide(ctx context.Context, w *walker, s workflow.Step, env step.Env) (step.Result, error)
	// next continues the walk from the node's output, as recorded; fresh
	// says this delivery decided it.
	next(ctx context.Context, w *walker, s workflow.Step, out any, fresh bool, env step.Env) error
}

// nodes are the control nodes by kind; any other step is work.
var nodes = map[workflow.Kind]node{
	workflow.Condition: condition{},
	workflow.Delay:     delay{},
	workflow.Switch:    switchNode{},
	workflow.Foreach:   foreach{},
}

// runner returns how one attempt of s runs: a control node decides, a step
// type does its work. It is false for a type that is neither.
func (w *walker) runner(s workflow.Step) (func(context.Context, step.Env) (step.Result, error), bool) {
	if n, ok := nodes[s.Kind()]; ok {
		return func(ctx context.Context, env step.Env) (step.Result, error) { return n.decide(ctx, w, s, env) }, true
	}
	typ, ok := step.Lookup(s.Type)
	if !ok {
		return nil, false
	}
	return func(ctx context.Context, env step.Env) (step.Result, error) { return typ.Run(ctx, w.deps, s.With, env) }, true
}

// record makes a step's output visible to later steps as steps.<name>.output.
func record(env step.Env, s workflow.Step, out any) {
	env["steps"].(map[string]any)[s.Name] = map[string]any{"output": out}
}

// condition gates the rest of the run on a boolean expression (with.if):
// false stops the run, successfully, or fails it for good when with.on_false
// says so. Anything but a boolean is a mistake in the definition.
type condition struct{}

func (condition) decide(ctx context.Context, _ *walker, s workflow.Step, env step.Env) (step.Result, error) {
	src, _ := s.With["if"].(string)
	v, err := step.Eval(ctx, src, env.WithoutSecrets())
	if err != nil {
		return step.Result{}, err
	}
	passed, ok := v.(bool)
	if !ok {
		return step.Result{}, step.Permanent(fmt.Errorf("condition %q produced %T, not a boolean", src, v))
	}
	if !passed && s.With["on_false"] == workflow.OnFalseFail {
		return step.Result{}, step.Permanent(fmt.Errorf("condition %s is false", src))
	}
	return step.Result{Output: map[string]any{"passed": passed}}, nil
}

func (condition) next(_ context.Context, _ *walker, s workflow.Step, out any, _ bool, env step.Env) error {
	record(env, s, out)
	if m, ok := out.(map[string]any); ok && m["passed"] == false {
		return errStopped
	}
	return nil
}

// delay pauses the run without holding a worker: for a duration
// (with.for) or until a time (with.until, an RFC 3339 time or Unix
// seconds). Its step is committed with the time, which parks the run
// (commitStep); a time already past continues at once.
type delay struct{}

func (delay) decide(ctx context.Context, w *walker, s workflow.Step, env step.Env) (step.Result, error) {
	now := w.e.now()
	var until time.Time
	if src, _ := s.With["for"].(string); src != "" {
		d, err := time.ParseDuration(src)
		if err != nil {
			return step.Result{}, step.Permanent(fmt.Errorf("delay for %q: %w", src, err))
		}
		until = now.Add(d)
	} else {
		src, _ := s.With["until"].(string)
		v, err := step.Eval(ctx, src, env.WithoutSecrets())
		if err != nil {
			return step.Result{}, err
		}
		if until, err = timeOf(v); err != nil {
			return step.Result{}, step.Permanent(fmt.Errorf("delay until: %w", err))
		}
	}
	if until.Sub(now) > workflow.MaxDelay {
		return step.Result{}, step.Permanent(fmt.Errorf("delay until %s is more than %s away", until.Format(time.RFC3339), workflow.MaxDelay))
	}
	res := step.Result{Output: map[string]any{"until": until.UTC().Format(time.RFC3339Nano)}}
	if until.After(now) { // only a time to come parks the run
		res.Until = until
	}
	return res, nil
}

func (delay) next(ctx context.Context, w *walker, s workflow.Step, out any, fresh bool, env step.Env) error {
	record(env, s, out)
	until, ok := untilOf(out)
	switch {
	case !ok || w.trial != nil: // a trial does not wait: it shows the time and goes on
		return nil
	case fresh:
		// Its commit parked the run if the time was still to come when the
		// step ran; the walk must agree with it, whatever the clock says now.
		if w.parked {
			w.parked = false
			return &DelayError{Until: until}
		}
		return nil
	case !w.e.now().Before(until):
		return nil
	}
	return w.park(ctx, until) // an early delivery (a sweep, a redrive): park the run again
}

// park puts the run to sleep until a recorded delay's time.
func (w *walker) park(ctx context.Context, until time.Time) error {
	ctx, cancel := detached(ctx)
	defer cancel()
	err := w.e.DB.InTenantTx(ctx, w.r.TenantID, func(q postgres.Querier) error { return delayRun(ctx, q, w.r, until) })
	if err != nil {
		return err
	}
	return &DelayError{Until: until}
}

// timeOf reads a time from an RFC 3339 string or Unix seconds.
func timeOf(v any) (time.Time, error) {
	switch v := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", v)
		}
		return t, nil
	case int:
		return time.Unix(int64(v), 0), nil
	case int64:
		return time.Unix(v, 0), nil
	case float64:
		return time.Unix(0, int64(v*float64(time.Second))), nil
	case time.Time:
		return v, nil
	}
	return time.Time{}, fmt.Errorf("got %T, want an RFC 3339 string or Unix seconds", v)
}

// untilOf reads back the time a recorded delay waits for.
func untilOf(out any) (time.Time, bool) {
	m, ok := out.(map[string]any)
	if !ok {
		return time.Time{}, false
	}
	s, ok := m["until"].(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// switchNode walks the steps of the first case whose when holds, or its
// default (or nothing) when none does. The branches belong to the
// definition, so their steps are run and committed like any other.
type switchNode struct{}

func (switchNode) decide(ctx context.Context, _ *walker, s workflow.Step, env step.Env) (step.Result, error) {
	whens := make([]string, len(s.Cases))
	for i, c := range s.Cases {
		whens[i] = c.When
	}
	k, err := choose(ctx, whens, env)
	if err != nil {
		return step.Result{}, err
	}
	return step.Result{Output: map[string]any{"case": k}}, nil
}

func (switchNode) next(ctx context.Context, w *walker, s workflow.Step, out any, _ bool, env step.Env) error {
	record(env, s, out)
	k, _ := caseOf(out)
	if k < 0 || k >= len(s.Cases) {
		k = -1 // the default
	}
	for i, c := range s.Cases {
		if i != k {
			recordNotRun(env, c.Steps)
		}
	}
	if k == -1 {
		return w.walk(ctx, s.Default, env)
	}
	recordNotRun(env, s.Default)
	return w.walk(ctx, s.Cases[k].Steps, env)
}

// recordNotRun gives the steps of a branch that does not run (and of the
// switches nested in it) a null output, so that a step after the switch
// reads steps.x.output as null and can write `steps.x.output ?? other`.
func recordNotRun(env step.Env, steps []workflow.Step) {
	for _, s := range steps {
		record(env, s, nil)
		for _, c := range s.Cases {
			recordNotRun(env, c.Steps)
		}
		recordNotRun(env, s.Default)
	}
}

// choose returns the index of the first condition in whens that holds, or
// -1 when none does. Each must produce a boolean.
func choose(ctx context.Context, whens []string, env step.Env) (int, error) {
	env = env.WithoutSecrets()
	for i, src := range whens {
		v, err := step.Eval(ctx, src, env)
		if err != nil {
			return 0, err
		}
		b, ok := v.(bool)
		if !ok {
			return 0, step.Permanent(fmt.Errorf("case %d: %q produced %T, not a boolean", i, src, v))
		}
		if b {
			return i, nil
		}
	}
	return -1, nil
}

// caseOf reads back the branch a recorded switch chose.
func caseOf(out any) (int, bool) {
	m, ok := out.(map[string]any)
	if !ok {
		return 0, false
	}
	n, ok := m["case"].(float64)
	return int(n), ok
}

// foreach walks its body once per item of a list (with.items), evaluated
// once and bounded by the plan. Inside the body, item is the current
// element, index its position and steps.<body step> the current
// iteration's; after the loop, steps.<name>.output is {"items": [...],
// "results": [...]}, results holding each iteration's body outputs by
// step name.
type foreach struct{}

func (foreach) decide(ctx context.Context, w *walker, s workflow.Step, env step.Env) (step.Result, error) {
	src, _ := s.With["items"].(string)
	v, err := step.Eval(ctx, src, env.WithoutSecrets())
	if err != nil {
		return step.Result{}, err
	}
	var items []any
	switch v := v.(type) {
	case nil:
		items = []any{}
	case []any:
		items = v
	default:
		return step.Result{}, step.Permanent(fmt.Errorf("items %q produced %T, not a list", src, v))
	}
	limit := w.maxItems
	if limit <= 0 {
		limit = plan.DefaultForeachItems
	}
	if len(items) > limit {
		return step.Result{}, step.Permanent(fmt.Errorf("items has %d elements; the plan allows at most %d per foreach", len(items), limit))
	}
	if err := step.CheckEncodable(items, "items", step.MaxOutputBytes); err != nil {
		return step.Result{}, err
	}
	return step.Result{Output: map[string]any{"items": items}}, nil
}

func (foreach) next(ctx context.Context, w *walker, s workflow.Step, out any, _ bool, env step.Env) error {
	items, _ := itemsOf(out)
	// The body may read its own foreach's items (validation lets it): the
	// results are added once every iteration has run.
	record(env, s, map[string]any{"items": items})
	outputs := env["steps"].(map[string]any)
	results := make([]any, len(items))
	for i, item := range items {
		iter := maps.Clone(env)
		inner := maps.Clone(outputs)
		iter["steps"], iter["item"], iter["index"] = inner, item, i
		iter[iterationKey] = fmt.Sprintf("%s[%d]", iterationOf(env), i)
		if err := w.walk(ctx, s.Steps, iter); err != nil {
			return err
		}
		results[i] = bodyOutputs(inner, outputs)
	}
	record(env, s, map[string]any{"items": items, "results": results})
	return nil
}

// itemsOf reads back the list a recorded foreach iterates.
func itemsOf(out any) ([]any, bool) {
	m, ok := out.(map[string]any)
	if !ok {
		return nil, false
	}
	items, ok := m["items"].([]any)
	return items, ok
}

// iterationKey holds, in a foreach body's environment, the iteration path
// ("[2]", "[2][0]" when nested) that makes a body step's instance name
// unique. Expressions cannot name it (it is not a declared variable).
const iterationKey = "$iteration"

func iterationOf(env step.Env) string {
	s, _ := env[iterationKey].(string)
	return s
}

// bodyOutputs is one foreach iteration's outputs by body step name.
func bodyOutputs(inner, outer map[string]any) map[string]any {
	res := map[string]any{}
	for name, v := range inner {
		if _, ok := outer[name]; ok {
			continue
		}
		if m, ok := v.(map[string]any); ok {
			res[name] = m["output"]
		}
	}
	return res
}
