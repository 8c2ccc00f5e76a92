package step

import (
	"context"

	"aias/internal/errs"
)

// transform computes a value from the trigger and earlier outputs:
//
//	with:
//	  output: { id: "trigger.body.order.id", total: "trigger.body.order.total * 1.2" }
//
// output is an expression, or a map or list of them nested to any depth.
type transform struct{}

var transformSchema = Schema{
	{Name: "output", Kind: ValueField, Required: true},
}

func (transform) Name() string { return "transform" }

func (transform) Validate(with map[string]any, path string) []errs.FieldError {
	return PreferSecretProblems(transformSchema.Validate(with, path))
}

func (transform) Sources(with map[string]any, path string) []Source {
	return transformSchema.Sources(with, path)
}

func (transform) Run(ctx context.Context, _ Deps, with map[string]any, env Env) (Result, error) {
	env = env.WithoutSecrets()
	out, err := EvalValue(ctx, with["output"], env)
	if err != nil {
		return Result{}, err
	}
	if err := CheckEncodable(out, "output", MaxOutputBytes); err != nil {
		return Result{}, err
	}
	return Result{Output: out}, nil
}
