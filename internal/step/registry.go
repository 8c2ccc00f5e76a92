package step

import (
	"maps"
	"slices"
)

// builtins is fixed at start-up and only read afterwards, so it needs no lock.
// It holds the types that do work; control flow (condition, delay, switch,
// foreach) is the engine's (workflow.ControlKinds).
var builtins = register(
	transform{},
	logStep{},
	artifact{},
	httpStep{},
	callback{},
)

func register(types ...Type) map[string]Type {
	m := make(map[string]Type, len(types))
	for _, t := range types {
		m[t.Name()] = t
	}
	return m
}

// Lookup returns the built-in step type called name.
func Lookup(name string) (Type, bool) {
	t, ok := builtins[name]
	return t, ok
}

// Names lists the built-in step types in sorted order.
func Names() []string {
	return slices.Sorted(maps.Keys(builtins))
}

// sideEffects are the step types that act outside AIAS when they run, with
// what they do: a test run of a definition (run.Executor.Try) runs them only
// when the caller has said it may.
var sideEffects = map[string]string{
	"http":     "sends an HTTP request to its url",
	"callback": "posts a signed request to its url",
}

// SideEffect says what a step of type name does outside AIAS, or "" when
// it does nothing there (its output, logs and artifacts stay in the run).
func SideEffect(name string) string { return sideEffects[name] }
