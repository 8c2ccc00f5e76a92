package step

import (
	"context"
	"fmt"
	"time"

	"aias/internal/errs"
)

// delay pauses the run without holding a worker:
//
//	with: { for: "15m" }                       # a duration
//	with: { until: "trigger.body.remind_at" }  # an RFC 3339 time or Unix seconds
//
// The worker commits the step with the time it waits for, marks the run
// delayed and gives the task back to the queue for that time; nothing
// sleeps. A time already past continues at once.
type delay struct{}

// MaxDelay is the longest a delay step may wait.
const MaxDelay = 366 * 24 * time.Hour

var delaySchema = schema{
	{name: "for", kind: stringField},
	{name: "until", kind: exprField},
}

func (delay) Name() string { return "delay" }

func (delay) Validate(with map[string]any, path string) []errs.FieldError {
	problems := delaySchema.validate(with, path)
	_, hasFor := with["for"]
	_, hasUntil := with["until"]
	switch {
	case hasFor && hasUntil:
		problems = append(problems, fieldErr(path, "must have either for or until, not both"))
	case !hasFor && !hasUntil:
		problems = append(problems, fieldErr(path, "must have for (a duration) or until (a time)"))
	}
	if s, ok := with["for"].(string); ok && s != "" {
		if d, err := time.ParseDuration(s); err != nil || d <= 0 || d > MaxDelay {
			problems = append(problems, fieldErr(fieldPath(path, "for"), "must be a positive duration such as 90s, 15m or 48h, at most %s", MaxDelay))
		}
	}
	return preferSecretProblems(problems)
}

func (delay) Sources(with map[string]any, path string) []Source {
	return delaySchema.sources(with, path)
}

// Run computes when the run continues; the output is {"until": RFC 3339}.
func (delay) Run(ctx context.Context, _ Deps, with map[string]any, env Env) (Result, error) {
	now := time.Now()
	var until time.Time
	if s := str(with, "for", ""); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return Result{}, Permanent(fmt.Errorf("delay for %q: %w", s, err))
		}
		until = now.Add(d)
	} else {
		v, err := Eval(ctx, str(with, "until", ""), env.WithoutSecrets())
		if err != nil {
			return Result{}, err
		}
		if until, err = timeOf(v); err != nil {
			return Result{}, Permanent(fmt.Errorf("delay until: %w", err))
		}
	}
	if until.Sub(now) > MaxDelay {
		return Result{}, Permanent(fmt.Errorf("delay until %s is more than %s away", until.Format(time.RFC3339), MaxDelay))
	}
	return Result{Output: map[string]any{"until": until.UTC().Format(time.RFC3339Nano)}, Until: until}, nil
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

// UntilOf reads back the time a recorded delay step waits for.
func UntilOf(output any) (time.Time, bool) {
	m, ok := output.(map[string]any)
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
