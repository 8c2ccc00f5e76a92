package step

import (
	"context"
	"errors"
	"fmt"

	"aias/internal/errs"
)

// switchStep chooses one branch of steps:
//
//   - name: route
//     type: switch
//     cases:
//   - when: trigger.body.kind == "order"
//     steps: [...]
//   - when: trigger.body.kind == "refund"
//     steps: [...]
//     default: [...]
//
// The first case whose when is true runs its steps; when none is, default
// runs (or nothing). The branches belong to the definition, not to with, so
// the worker runs and commits their steps like any other; this type only
// chooses. Its output is {"case": index} (-1 for default), recorded before
// the branch starts, so a retried run takes the same branch.
type switchStep struct{}

var switchSchema = schema{}

func (switchStep) Name() string { return "switch" }

func (switchStep) Validate(with map[string]any, path string) []errs.FieldError {
	return switchSchema.validate(with, path)
}

func (switchStep) Sources(map[string]any, string) []Source { return nil }

// Run is not how a switch runs; see Choose.
func (switchStep) Run(context.Context, Deps, map[string]any, Env) (Result, error) {
	return Result{}, Permanent(errors.New("a switch step chooses a branch; it is run by the worker"))
}

// Choose returns the index of the first condition in whens that holds, or
// -1 when none does. Each must produce a boolean.
func Choose(ctx context.Context, whens []string, env Env) (int, error) {
	env = env.WithoutSecrets()
	for i, src := range whens {
		v, err := Eval(ctx, src, env)
		if err != nil {
			return 0, err
		}
		b, ok := v.(bool)
		if !ok {
			return 0, Permanent(fmt.Errorf("case %d: %q produced %T, not a boolean", i, src, v))
		}
		if b {
			return i, nil
		}
	}
	return -1, nil
}

// CaseOf reads back the branch a recorded switch step chose.
func CaseOf(output any) (int, bool) {
	m, ok := output.(map[string]any)
	if !ok {
		return 0, false
	}
	n, ok := m["case"].(float64)
	return int(n), ok
}
