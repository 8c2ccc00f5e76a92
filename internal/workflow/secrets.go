package workflow

import (
	"slices"

	"aias/internal/errs"
	"aias/internal/step"
)

// SecretNames lists, sorted and without duplicates, the tenant secrets the
// steps of d read, so the worker can load exactly those for a run. Only the
// expressions that may read secrets (an http step's url, headers and body)
// are considered, since no other expression is given them at run time.
// Names that are invalid, and expressions that do not parse or read secrets
// under a computed name, are skipped: validation rejects such definitions.
func (d Definition) SecretNames() []string {
	var names []string
	for _, n := range d.Walk() {
		rules, ok := rulesOf(n.Step)
		if !ok {
			continue
		}
		for _, src := range rules.Sources(n.Step.With, n.Path+".with") {
			if !src.AllowSecrets {
				continue
			}
			refs, err := src.SecretRefs()
			if err != nil {
				continue
			}
			for _, name := range refs {
				if step.SecretNamePattern.MatchString(name) {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// checkSecrets applies the secrets rules to every expression of a step (see
// package step). Step types built on the shared schema report these
// problems themselves; this catches any other, and duplicates are dropped
// by the caller.
func checkSecrets(srcs []step.Source) []errs.FieldError {
	var problems []errs.FieldError
	for _, src := range srcs {
		problems = append(problems, src.CheckSecrets()...)
	}
	return problems
}
