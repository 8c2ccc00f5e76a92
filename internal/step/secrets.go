package step

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"aias/internal/errs"
)

// SecretsKey is the Env key under which the worker puts the run's decrypted
// secrets, as a map[string]string from secret name to value.
const SecretsKey = "secrets"

// envIdent is expr's built-in name for the whole environment; $env.secrets
// reads the same map as secrets.
const envIdent = "$env"

// Messages of the secrets rules, reported at the path of the offending value.
const (
	msgSecretsPlacement = "secrets may only be used in an http step's url, headers and body"
	msgSecretsDynamic   = "secrets must be referenced by a fixed name"
	msgSecretsWhole     = "a secret may only be used whole: {{ secrets.NAME }} as a template part, or secrets.NAME as a whole body value, " +
		"never inside another expression (a function, an operator, an index or a slice)"
)

// ErrDynamicSecret is returned by SecretRefs for an expression that reads
// secrets under a computed name, such as secrets[trigger.body.x], or that
// uses the secrets map as a whole.
var ErrDynamicSecret = errors.New(msgSecretsDynamic)

// SecretNamePattern is the form of a secret name.
var SecretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// WithoutSecrets returns env without the secrets key. Every expression that
// is not part of an http step's url, headers or body is evaluated against
// it, so that such an expression cannot read a secret even if validation
// were bypassed. env itself is not modified.
func (e Env) WithoutSecrets() Env {
	if _, ok := e[SecretsKey]; !ok {
		return e
	}
	out := maps.Clone(e)
	delete(out, SecretsKey)
	return out
}

// SecretRefs returns the names of the secrets the expression src reads,
// that is every secrets.NAME or secrets["NAME"] in it, in order of
// appearance and without duplicates. It returns ErrDynamicSecret when src
// reads secrets in any other way, because the secrets such an expression
// needs cannot be known before the run. Names are returned as written;
// whether they match SecretNamePattern is checked by validation.
func SecretRefs(src string) ([]string, error) {
	u, err := analyzeSecrets(src)
	if err != nil {
		return nil, err
	}
	if u.dynamic || u.envDynamic {
		return u.names, ErrDynamicSecret
	}
	return u.names, nil
}

// SecretRefs returns the names of the secrets the source reads (see the
// function SecretRefs).
func (s Source) SecretRefs() ([]string, error) {
	if !s.Template {
		return SecretRefs(s.Text)
	}
	u, err := analyzeTemplateSecrets(s.Text)
	if err != nil {
		return nil, err
	}
	if u.dynamic || u.envDynamic {
		return u.names, ErrDynamicSecret
	}
	return u.names, nil
}

// CheckSecrets reports the source's breaches of the secrets rules: secrets
// read where AllowSecrets is false, read under a computed name, or under a
// name that does not match SecretNamePattern. A source that does not parse
// yields no problems here; compiling it reports the error.
func (s Source) CheckSecrets() []errs.FieldError {
	var (
		u   secretUse
		err error
	)
	if s.Template {
		u, err = analyzeTemplateSecrets(s.Text)
	} else {
		u, err = analyzeSecrets(s.Text)
	}
	if err != nil {
		return nil
	}
	if !s.AllowSecrets {
		// Reading the whole environment outside an http step is harmless:
		// those expressions run without secrets (see WithoutSecrets).
		if u.used {
			return []errs.FieldError{fieldErr(s.Path, msgSecretsPlacement)}
		}
		return nil
	}
	var problems []errs.FieldError
	switch {
	case u.dynamic || u.envDynamic:
		problems = append(problems, fieldErr(s.Path, msgSecretsDynamic))
	case u.partial:
		problems = append(problems, fieldErr(s.Path, msgSecretsWhole))
	}
	for _, name := range u.names {
		if !SecretNamePattern.MatchString(name) {
			problems = append(problems, fieldErr(s.Path, "secret name %q is invalid: names must match %s", name, SecretNamePattern))
		}
	}
	return problems
}

// checkSources reports, for every source, either its breaches of the
// secrets rules or, when there are none, a failure to compile. A misplaced
// secret is thus reported as such rather than as a compile error.
func checkSources(srcs []Source) []errs.FieldError {
	var problems []errs.FieldError
	for _, s := range srcs {
		if ps := s.CheckSecrets(); len(ps) > 0 {
			problems = append(problems, ps...)
			continue
		}
		if err := s.Compile(); err != nil {
			problems = append(problems, errs.FieldError{Path: s.Path, Message: err.Error()})
		}
	}
	return problems
}

// literalSecrets reports plain (non-expression) values that look like an
// attempt to read a secret, such as method: "{{ secrets.M }}". They would
// never be evaluated, so the author is told where secrets may be used
// instead of only that the value is malformed.
func literalSecrets(v any, path string) []errs.FieldError {
	var problems []errs.FieldError
	for _, s := range valueSources(v, path) {
		if !strings.Contains(s.Text, SecretsKey) {
			continue
		}
		u, err := analyzeSecrets(s.Text)
		if IsTemplate(s.Text) {
			u, err = analyzeTemplateSecrets(s.Text)
		}
		if err == nil && u.used {
			problems = append(problems, fieldErr(s.Path, msgSecretsPlacement))
		}
	}
	return problems
}

// PreferSecretProblems drops the other problems reported at a path that
// breaks the secrets placement rule, which is the one the author must fix.
func PreferSecretProblems(problems []errs.FieldError) []errs.FieldError {
	misplaced := map[string]bool{}
	for _, p := range problems {
		if p.Message == msgSecretsPlacement {
			misplaced[p.Path] = true
		}
	}
	if len(misplaced) == 0 {
		return problems
	}
	out := problems[:0:0]
	seen := map[errs.FieldError]bool{}
	for _, p := range problems {
		if (misplaced[p.Path] && p.Message != msgSecretsPlacement) || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// secretUse is what an expression does with secrets.
type secretUse struct {
	names      []string // fixed names read, in order, without duplicates
	used       bool     // the secrets map is read at all
	dynamic    bool     // secrets is read other than as secrets.NAME
	envDynamic bool     // $env is read other than as $env.NAME
	// partial: a secret is read as part of a larger expression — an
	// operand, an argument, indexed or sliced — rather than being the whole
	// expression. Whatever such an expression makes of the secret (a slice,
	// its upper case, an error quoting it) no longer matches the value the
	// redactor knows.
	partial bool
}

func (u *secretUse) merge(o secretUse) {
	for _, n := range o.names {
		if !slices.Contains(u.names, n) {
			u.names = append(u.names, n)
		}
	}
	u.used = u.used || o.used
	u.dynamic = u.dynamic || o.dynamic
	u.envDynamic = u.envDynamic || o.envDynamic
	u.partial = u.partial || o.partial
}

// analyzeSecrets walks the syntax tree of src. The secrets map is reached
// through the identifier secrets or through $env.secrets; either is a
// "root". A root is fine only as the object of a member access with a
// constant key.
func analyzeSecrets(src string) (secretUse, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return secretUse{}, fmt.Errorf("invalid expression: %s", describe(err))
	}
	v := &secretVisitor{fixed: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, v)
	u := secretUse{names: v.names}
	for _, root := range v.roots {
		u.used = true
		if !v.fixed[root] {
			u.dynamic = true
		}
	}
	for _, env := range v.envs {
		if !v.fixed[env] {
			u.envDynamic = true
		}
	}
	u.partial = u.used && !isWholeSecret(tree.Node)
	return u, nil
}

// isWholeSecret reports whether node is secrets.NAME (or secrets["NAME"],
// $env.secrets.NAME, secrets?.NAME) and nothing else.
func isWholeSecret(node ast.Node) bool {
	if c, ok := node.(*ast.ChainNode); ok {
		node = c.Node
	}
	m, ok := node.(*ast.MemberNode)
	if !ok {
		return false
	}
	_, constant := m.Property.(*ast.StringNode)
	return constant && isSecretsRoot(m.Node)
}

// secretUseOf is the secret use of an expression or template, for the
// checks the http step repeats at run time; sources that do not mention
// secrets at all are answered without parsing.
func secretUseOf(text string, template bool) secretUse {
	if !strings.Contains(text, SecretsKey) && !strings.Contains(text, envIdent) {
		return secretUse{}
	}
	u, err := analyzeSecrets(text)
	if template {
		u, err = analyzeTemplateSecrets(text)
	}
	if err != nil {
		return secretUse{used: true, partial: true} // cannot tell: treat it as the worst
	}
	return u
}

func analyzeTemplateSecrets(tmpl string) (secretUse, error) {
	segs, err := parseTemplate(tmpl)
	if err != nil {
		return secretUse{}, err
	}
	var u secretUse
	for _, s := range segs {
		if !s.isExpr {
			continue
		}
		su, err := analyzeSecrets(s.text)
		if err != nil {
			return secretUse{}, err
		}
		u.merge(su)
	}
	return u, nil
}

// secretVisitor collects roots and $env identifiers, and marks those used
// with a constant key. ast.Walk visits children before their parent, so the
// verdict is drawn after the walk.
type secretVisitor struct {
	names []string
	roots []ast.Node
	envs  []ast.Node
	fixed map[ast.Node]bool
}

func (v *secretVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		switch n.Value {
		case SecretsKey:
			v.roots = append(v.roots, n)
		case envIdent:
			v.envs = append(v.envs, n)
		}
	case *ast.MemberNode:
		key, constant := n.Property.(*ast.StringNode)
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == envIdent && constant {
			v.fixed[id] = true
			if key.Value == SecretsKey {
				v.roots = append(v.roots, n)
			}
		}
		if isSecretsRoot(n.Node) && constant {
			v.fixed[n.Node] = true
			if !slices.Contains(v.names, key.Value) {
				v.names = append(v.names, key.Value)
			}
		}
	}
}

// isSecretsRoot reports whether node is secrets or $env.secrets.
func isSecretsRoot(node ast.Node) bool {
	switch n := node.(type) {
	case *ast.IdentifierNode:
		return n.Value == SecretsKey
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		key, constant := n.Property.(*ast.StringNode)
		return ok && id.Value == envIdent && constant && key.Value == SecretsKey
	}
	return false
}
