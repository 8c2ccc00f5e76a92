package step

import (
	"context"
	"fmt"

	"aias/internal/errs"
)

// condition gates the rest of the run on an expression:
//
//	with:
//	  if: "steps.normalize.output.total > 100"
//	  on_false: stop   # or fail
//
// When the expression is false the run either ends successfully, skipping
// the remaining steps ("stop", the default), or fails without retrying
// ("fail"). The expression must produce a boolean; anything else is treated
// as a mistake in the definition rather than guessed at.
type condition struct{}

const (
	onFalseStop = "stop"
	onFalseFail = "fail"
)

var conditionSchema = schema{
	{name: "if", kind: exprField, required: true},
	{name: "on_false", kind: stringField},
}

func (condition) Name() string { return "condition" }

func (condition) Validate(with map[string]any, path string) []errs.FieldError {
	problems := conditionSchema.validate(with, path)
	if v, ok := with["on_false"].(string); ok && v != onFalseStop && v != onFalseFail {
		problems = append(problems, fieldErr(fieldPath(path, "on_false"), "must be %q or %q", onFalseStop, onFalseFail))
	}
	return preferSecretProblems(problems)
}

func (condition) Sources(with map[string]any, path string) []Source {
	return conditionSchema.sources(with, path)
}

func (condition) Run(ctx context.Context, _ Deps, with map[string]any, env Env) (Result, error) {
	env = env.WithoutSecrets()
	src := str(with, "if", "")
	v, err := Eval(ctx, src, env)
	if err != nil {
		return Result{}, err
	}
	passed, ok := v.(bool)
	if !ok {
		return Result{}, Permanent(fmt.Errorf("condition %q produced %T, not a boolean", src, v))
	}
	if passed {
		return Result{Output: map[string]any{"passed": true}}, nil
	}
	if str(with, "on_false", onFalseStop) == onFalseFail {
		return Result{}, Permanent(fmt.Errorf("condition %s is false", src))
	}
	return Result{Output: map[string]any{"passed": false}}, nil
}
