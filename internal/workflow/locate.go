package workflow

import (
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"aias/internal/errs"
)

// Locate places each field problem of a validation error in the document
// it came from: body, the definition as the client sent it (YAML, or JSON,
// which parses as YAML). A problem whose path names a field of the
// document gets that field's line and column (the key's, for an object
// field; the item's, for a list item); one whose field is absent (a
// required field left out) gets its nearest parent present. Problems that
// already have a line keep it. Any error that is not a validation error
// with field problems is returned as it is, so callers may pass every
// error through.
func Locate(body []byte, err error) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	var doc yaml.Node
	if yaml.Unmarshal(body, &doc) != nil || len(doc.Content) == 0 {
		return err
	}
	root := doc.Content[0]
	out := *e
	out.Fields = make([]errs.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		if f.Line == 0 {
			f.Line, f.Column = position(root, f.Path)
		}
		out.Fields[i] = f
	}
	return &out
}

// position is the line and column of the deepest node of root that path
// ("steps[2].with.url") reaches.
func position(root *yaml.Node, path string) (line, column int) {
	n := root
	line, column = n.Line, n.Column
	for _, seg := range segments(path) {
		at, next := child(n, seg)
		if next == nil {
			break
		}
		n = next
		line, column = at.Line, at.Column
	}
	return line, column
}

// segment is one step of a path: an object key, or a list index when
// index >= 0.
type segment struct {
	key   string
	index int
}

// segments splits "steps[2].with.url" into steps, [2], with, url. Keys
// holding '.' or '[' (a header name, say) cannot be told apart from the
// path's own punctuation; the walk then stops at the nearest parent.
func segments(path string) []segment {
	var out []segment
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			out = append(out, segment{key: key, index: -1})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil {
				return out
			}
			out = append(out, segment{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

// child returns the node a segment names below n, and the node whose
// position reports it (a key for an object field); nil when there is none.
func child(n *yaml.Node, seg segment) (at, next *yaml.Node) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case seg.index >= 0 && n.Kind == yaml.SequenceNode && seg.index < len(n.Content):
		return n.Content[seg.index], n.Content[seg.index]
	case seg.index < 0 && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg.key {
				return n.Content[i], n.Content[i+1]
			}
		}
	}
	return nil, nil
}

// yamlLine finds "line N" (and ", column M") in a YAML parser's message.
var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// syntaxPosition is where a YAML parser's message places its error; zero
// when it does not say.
func syntaxPosition(msg string) (line, column int) {
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0
	}
	line, _ = strconv.Atoi(m[1])
	column, _ = strconv.Atoi(m[2])
	return line, column
}

// offsetPosition is the 1-based line and column of a byte offset of body
// (encoding/json's SyntaxError.Offset counts the bytes read, so the
// offending byte is the one before it).
func offsetPosition(body []byte, offset int64) (line, column int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	line, column = 1, 1
	for _, b := range body[:max(offset-1, 0)] {
		if b == '\n' {
			line, column = line+1, 1
			continue
		}
		column++
	}
	return line, column
}

// LocateEffects sets the line of each effect in body, the definition as sent.
func LocateEffects(body []byte, effects []Effect) []Effect {
	var doc yaml.Node
	if yaml.Unmarshal(body, &doc) != nil || len(doc.Content) == 0 {
		return effects
	}
	for i := range effects {
		effects[i].Line, _ = position(doc.Content[0], effects[i].Path)
	}
	return effects
}
