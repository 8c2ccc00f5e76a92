package step

import (
	"context"
	"fmt"

	"aias/internal/errs"
)

// foreach runs its body once per item of a list:
//
//   - name: lines
//     type: foreach
//     with: { items: trigger.body.order.lines }
//     steps:
//   - name: post-line
//     type: http
//     with: { url: "https://example.com/lines/{{ item.id }}", method: POST, body: item }
//
// Inside the body, item is the current element and index its position;
// steps.<body step> is the current iteration's. The list is evaluated once
// and recorded as the step's output, so a retried run walks the same items.
// After the loop, steps.<name>.output is {"items": [...], "results": [...]},
// results holding each iteration's body outputs by step name. The plan
// bounds the number of items.
type foreach struct{}

// DefaultMaxItems bounds a foreach list when the plan sets no limit.
const DefaultMaxItems = 1000

var foreachSchema = schema{
	{name: "items", kind: exprField, required: true},
}

func (foreach) Name() string { return "foreach" }

func (foreach) Validate(with map[string]any, path string) []errs.FieldError {
	return preferSecretProblems(foreachSchema.validate(with, path))
}

func (foreach) Sources(with map[string]any, path string) []Source {
	return foreachSchema.sources(with, path)
}

// Run evaluates the list; the worker then runs the body per item.
func (foreach) Run(ctx context.Context, deps Deps, with map[string]any, env Env) (Result, error) {
	src := str(with, "items", "")
	v, err := Eval(ctx, src, env.WithoutSecrets())
	if err != nil {
		return Result{}, err
	}
	var items []any
	switch v := v.(type) {
	case nil:
		items = []any{}
	case []any:
		items = v
	default:
		return Result{}, Permanent(fmt.Errorf("items %q produced %T, not a list", src, v))
	}
	limit := deps.MaxForeachItems
	if limit <= 0 {
		limit = DefaultMaxItems
	}
	if len(items) > limit {
		return Result{}, Permanent(fmt.Errorf("items has %d elements; the plan allows at most %d per foreach", len(items), limit))
	}
	if err := checkEncodable(items, "items", MaxOutputBytes); err != nil {
		return Result{}, err
	}
	return Result{Output: map[string]any{"items": items}}, nil
}

// ItemsOf reads back the list a recorded foreach step iterates.
func ItemsOf(output any) ([]any, bool) {
	m, ok := output.(map[string]any)
	if !ok {
		return nil, false
	}
	items, ok := m["items"].([]any)
	return items, ok
}
