package step

import (
	"context"
	"slices"
	"strings"
	"time"

	"aias/internal/errs"
)

// logStep writes one line to the run's log:
//
//	with:
//	  message: "order {{ trigger.body.order.id }} received"
//	  level: info            # debug, info, warn or error
//	  fields: { total: "steps.normalize.output.total" }
type logStep struct{}

var logLevels = []string{"debug", "info", "warn", "error"}

var logSchema = Schema{
	{Name: "message", Kind: TemplateField, Required: true},
	{Name: "level", Kind: StringField},
	{Name: "fields", Kind: ValueMapField},
}

func (logStep) Name() string { return "log" }

func (logStep) Validate(with map[string]any, path string) []errs.FieldError {
	problems := logSchema.Validate(with, path)
	if v, ok := with["level"].(string); ok && !slices.Contains(logLevels, v) {
		problems = append(problems, fieldErr(fieldPath(path, "level"), "must be one of %s", strings.Join(logLevels, ", ")))
	}
	return PreferSecretProblems(problems)
}

func (logStep) Sources(with map[string]any, path string) []Source {
	return logSchema.Sources(with, path)
}

func (logStep) Run(ctx context.Context, _ Deps, with map[string]any, env Env) (Result, error) {
	env = env.WithoutSecrets()
	msg, err := Render(ctx, str(with, "message", ""), env)
	if err != nil {
		return Result{}, err
	}
	line := LogLine{Time: time.Now().UTC(), Level: str(with, "level", "info"), Message: msg}
	if raw, ok := with["fields"].(map[string]any); ok && len(raw) > 0 {
		fields, err := EvalValue(ctx, raw, env)
		if err != nil {
			return Result{}, err
		}
		if err := CheckEncodable(fields, "fields", MaxOutputBytes); err != nil {
			return Result{}, err
		}
		line.Fields = fields.(map[string]any)
	}
	return Result{Output: map[string]any{"message": msg}, Logs: []LogLine{line}}, nil
}
