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
