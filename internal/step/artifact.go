package step

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"aias/internal/errs"
)

// artifact stores a file with the run:
//
//	with:
//	  name: "receipt-{{ steps.normalize.output.id }}.json"
//	  content_type: application/json   # the default
//	  content: "steps.normalize.output"
//
// content is evaluated like transform's output. A string result is stored
// byte for byte; anything else is stored as compact JSON.
type artifact struct{}

// MaxArtifactNameBytes is the longest artifact name accepted.
const MaxArtifactNameBytes = 255

const defaultArtifactType = "application/json"

var artifactSchema = Schema{
	{Name: "name", Kind: TemplateField, Required: true},
	{Name: "content_type", Kind: StringField},
	{Name: "content", Kind: ValueField, Required: true},
}

func (artifact) Name() string { return "artifact" }

func (artifact) Validate(with map[string]any, path string) []errs.FieldError {
	problems := artifactSchema.Validate(with, path)
	// A name without {{ }} is fixed, so its rules can be checked now rather
	// than on every run.
	if name, ok := with["name"].(string); ok && name != "" && !IsTemplate(name) {
		if err := checkArtifactName(name); err != nil {
			problems = append(problems, fieldErr(fieldPath(path, "name"), "%v", err))
		}
	}
	if ct, ok := with["content_type"].(string); ok && ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			problems = append(problems, fieldErr(fieldPath(path, "content_type"), "is not a valid media type"))
		}
	}
	return PreferSecretProblems(problems)
}

func (artifact) Sources(with map[string]any, path string) []Source {
	return artifactSchema.Sources(with, path)
}

func (artifact) Run(ctx context.Context, _ Deps, with map[string]any, env Env) (Result, error) {
	env = env.WithoutSecrets()
	name, err := Render(ctx, str(with, "name", ""), env)
	if err != nil {
		return Result{}, err
	}
	if err := checkArtifactName(name); err != nil {
		return Result{}, Permanent(fmt.Errorf("artifact name %q: %w", name, err))
	}
	v, err := EvalValue(ctx, with["content"], env)
	if err != nil {
		return Result{}, err
	}
	content, err := artifactBytes(ctx, v)
	if err != nil {
		return Result{}, Permanent(fmt.Errorf("artifact %q: %w", name, err))
	}
	a := Artifact{Name: name, ContentType: str(with, "content_type", defaultArtifactType), Content: content}
	sum := sha256.Sum256(content)
	out := map[string]any{
		"name":         a.Name,
		"content_type": a.ContentType,
		"size_bytes":   len(content),
		"sha256":       hex.EncodeToString(sum[:]),
	}
	return Result{Output: out, Artifacts: []Artifact{a}}, nil
}

// artifactBytes stores strings verbatim so that text, CSV or pre-rendered
// JSON is not quoted a second time.
func artifactBytes(ctx context.Context, v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	return encodeJSON(ctx, v)
}

// checkArtifactName keeps names usable as a single path segment in storage
// and in download URLs.
func checkArtifactName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case len(name) > MaxArtifactNameBytes:
		return fmt.Errorf("must be at most %d bytes", MaxArtifactNameBytes)
	case strings.ContainsAny(name, `/\`):
		return errors.New(`must not contain "/" or "\"`)
	case strings.Contains(name, ".."):
		return errors.New(`must not contain ".."`)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("must be valid UTF-8 without control characters")
	}
	return nil
}
