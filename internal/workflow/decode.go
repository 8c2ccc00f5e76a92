package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"mime"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"aias/internal/errs"
)

// format is a definition's source notation.
type format int

const (
	formatJSON format = iota
	formatYAML
)

// Decode parses a definition written in JSON (content type "",
// application/json or any +json type) or YAML (application/yaml,
// application/x-yaml or text/yaml). Syntax errors, unknown fields and fields
// of the wrong JSON type are reported as one validation error listing each
// problem with its path (and, where the document has it, its line: see
// Locate); an unsupported content type is an
// unsupported_media_type error. Decode does not check the definition's
// content; call Validate for that.
func Decode(body []byte, contentType string) (Definition, error) {
	f, err := formatOf(contentType)
	if err != nil {
		return Definition{}, err
	}
	data := body
	if f == formatYAML {
		if data, err = yaml.YAMLToJSON(body); err != nil {
			line, col := syntaxPosition(err.Error())
			return Definition{}, errs.Validation("workflow definition is not valid YAML",
				errs.FieldError{Path: "", Message: err.Error(), Line: line, Column: col})
		}
	}
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		fe := errs.FieldError{Path: "", Message: jsonProblem(err)}
		var se *json.SyntaxError
		if f == formatJSON && errors.As(err, &se) {
			fe.Line, fe.Column = offsetPosition(body, se.Offset)
		}
		return Definition{}, errs.Validation("workflow definition is not valid JSON", fe)
	}
	if problems := checkDocument(raw); len(problems) > 0 {
		return Definition{}, Locate(body, errs.Validation("workflow definition has unknown or mistyped fields", problems...))
	}
	// The shape check above makes this decode infallible in practice; the
	// strict decoder stays as a second line of defence.
	var d Definition
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Definition{}, errs.Validation("workflow definition has unknown or mistyped fields",
			errs.FieldError{Path: "", Message: jsonProblem(err)})
	}
	return d, nil
}

func formatOf(contentType string) (format, error) {
	if strings.TrimSpace(contentType) == "" {
		return formatJSON, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return formatJSON, nil
	case mt == "application/yaml" || mt == "application/x-yaml" || mt == "text/yaml":
		return formatYAML, nil
	}
	return 0, errs.E(errs.Unsupported, "unsupported_media_type", "workflow definitions must be sent as JSON or YAML")
}

// jsonProblem says where a JSON syntax error is, which encoding/json's
// message alone does not.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	return err.Error()
}

// jsonType is the JSON type a known field must have.
type jsonType int

const (
	jsonString jsonType = iota
	jsonInteger
	jsonArray
	jsonObject
	jsonBool
)

var jsonTypeNames = map[jsonType]string{
	jsonString: "a string", jsonInteger: "an integer", jsonArray: "a list", jsonObject: "an object", jsonBool: "true or false",
}

var (
	definitionFields = map[string]jsonType{
		"name": jsonString, "description": jsonString, "max_attempts": jsonInteger, "steps": jsonArray,
		"retry": jsonObject, "timeout": jsonString, "concurrency_key": jsonString,
		"on_finish": jsonObject, "schedule": jsonObject,
	}
	stepFields = map[string]jsonType{
		"name": jsonString, "type": jsonString, "with": jsonObject, "retry": jsonObject, "timeout": jsonString,
		"cases": jsonArray, "default": jsonArray, "steps": jsonArray,
	}
	caseFields  = map[string]jsonType{"when": jsonString, "steps": jsonArray}
	retryFields = map[string]jsonType{
		"max_attempts": jsonInteger, "backoff": jsonString, "max_backoff": jsonString, "jitter": jsonBool,
	}
	onFinishFields = map[string]jsonType{"url": jsonString, "statuses": jsonArray}
	scheduleFields = map[string]jsonType{"cron": jsonString, "timezone": jsonString, "catch_up": jsonString}
)

// checkDocument reports every unknown or mistyped field of a decoded
// document, so that the author sees all of them at once with their paths.
func checkDocument(raw any) []errs.FieldError {
	doc, ok := raw.(map[string]any)
	if !ok {
		return []errs.FieldError{{Path: "", Message: "must be an object"}}
	}
	problems := checkObject(doc, "", definitionFields)
	problems = append(problems, checkNested(doc, "", "retry", retryFields)...)
	problems = append(problems, checkNested(doc, "", "on_finish", onFinishFields)...)
	problems = append(problems, checkNested(doc, "", "schedule", scheduleFields)...)
	return append(problems, checkSteps(doc["steps"], "steps", 0)...)
}

// checkSteps checks a list of steps and, below them, the branches of switch
// steps and the bodies of foreach steps. Nesting deeper than MaxDepth is
// reported by Validate; here it only stops the walk.
func checkSteps(v any, path string, depth int) []errs.FieldError {
	list, _ := v.([]any)
	if depth > MaxDepth {
		return nil
	}
	var problems []errs.FieldError
	for i, s := range list {
		sp := fmt.Sprintf("%s[%d]", path, i)
		obj, ok := s.(map[string]any)
		if !ok {
			problems = append(problems, errs.FieldError{Path: sp, Message: "must be an object"})
			continue
		}
		problems = append(problems, checkObject(obj, sp+".", stepFields)...)
		problems = append(problems, checkNested(obj, sp+".", "retry", retryFields)...)
		problems = append(problems, checkSteps(obj["default"], sp+".default", depth+1)...)
		problems = append(problems, checkSteps(obj["steps"], sp+".steps", depth+1)...)
		cases, _ := obj["cases"].([]any)
		for j, c := range cases {
			cp := fmt.Sprintf("%s.cases[%d]", sp, j)
			co, ok := c.(map[string]any)
			if !ok {
				problems = append(problems, errs.FieldError{Path: cp, Message: "must be an object"})
				continue
			}
			problems = append(problems, checkObject(co, cp+".", caseFields)...)
			problems = append(problems, checkSteps(co["steps"], cp+".steps", depth+1)...)
		}
	}
	return problems
}

// checkNested checks the object at obj[key], if it is one.
func checkNested(obj map[string]any, prefix, key string, known map[string]jsonType) []errs.FieldError {
	inner, ok := obj[key].(map[string]any)
	if !ok {
		return nil
	}
	return checkObject(inner, prefix+key+".", known)
}

// checkObject checks the keys of one object against its known fields. A
// null value counts as absent.
func checkObject(obj map[string]any, prefix string, known map[string]jsonType) []errs.FieldError {
	var problems []errs.FieldError
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		want, ok := known[k]
		switch {
		case !ok:
			problems = append(problems, errs.FieldError{Path: prefix + k, Message: "unknown field"})
		case obj[k] != nil && !hasType(obj[k], want):
			problems = append(problems, errs.FieldError{Path: prefix + k, Message: "must be " + jsonTypeNames[want]})
		}
	}
	return problems
}

func hasType(v any, t jsonType) bool {
	switch t {
	case jsonString:
		_, ok := v.(string)
		return ok
	case jsonInteger:
		// Bounded well inside int so that decoding into an int cannot fail.
		n, ok := v.(float64)
		return ok && n == math.Trunc(n) && math.Abs(n) <= 1<<31
	case jsonArray:
		_, ok := v.([]any)
		return ok
	case jsonBool:
		_, ok := v.(bool)
		return ok
	default:
		_, ok := v.(map[string]any)
		return ok
	}
}
