package step

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
)

// MaxPatternBytes is the longest regular expression matches accepts.
// Go's regular expressions run in time linear in their input, but a
// pattern taken from a payload could be megabytes long.
const MaxPatternBytes = 1024

// The meter functions (see meter.go). Each receives the evaluation's
// budget first. An error they return stops the evaluation.

func tick(params ...any) (any, error) {
	return nil, params[0].(*budget).charge(1, 0)
}

// add is expr's + with concatenation counted before it happens.
func add(params ...any) (any, error) {
	b, x, y := params[0].(*budget), params[1], params[2]
	if a, ok := x.(string); ok {
		if c, ok := y.(string); ok {
			n := int64(len(a) + len(c))
			if err := b.charge(1+n/64, n); err != nil {
				return nil, err
			}
			return a + c, nil
		}
	}
	return runtime.Add(x, y), nil
}

// matches is expr's matches operator with a bounded pattern and a counted
// scan.
func matches(params ...any) (any, error) {
	b, x, y := params[0].(*budget), params[1], params[2]
	if runtime.IsNil(x) || runtime.IsNil(y) {
		return false, nil
	}
	s, p := x.(string), y.(string)
	if len(p) > MaxPatternBytes {
		return nil, fmt.Errorf("a regular expression may be at most %d bytes; this one has %d", MaxPatternBytes, len(p))
	}
	if err := b.charge(matchCost(len(s), len(p)), 0); err != nil {
		return nil, err
	}
	re, err := patterns.get(p)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

// matchCost is the work of matching n bytes against a pattern of p bytes:
// Go's matcher may step through the whole compiled pattern for every input
// byte (about 3.5 ns per byte of pattern and of input here), so the cost
// grows with both; a unit is meant to be about 200 ns.
func matchCost(n, p int) int64 {
	return 1 + int64(p)/16 + int64(n)*int64(p+8)/64
}

// alloc counts the elements of a list or map an expression created.
func alloc(params ...any) (any, error) {
	b, v := params[0].(*budget), params[1]
	n := int64(length(v))
	return v, b.charge(1+n/16, n*elementBytes)
}

// callBuiltin runs a builtin after charging what its arguments say it will
// read and build.
func callBuiltin(params ...any) (any, error) {
	b, name, args := params[0].(*budget), params[1].(string), params[2:]
	work, built := builtinCosts[name](args, b.room())
	if err := b.charge(work, built); err != nil {
		return nil, err
	}
	f := builtin.Builtins[builtin.Index[name]]
	switch {
	case f.Fast != nil:
		return f.Fast(args[0]), nil
	case f.Safe != nil:
		out, _, err := f.Safe(args...)
		return out, err
	}
	return f.Func(args...)
}

// costFunc estimates, from a builtin's arguments, the work it does and the
// bytes it builds. room is what may still be built: estimates that need a
// walk stop there. Arguments of the wrong type cost little; the builtin
// itself then fails.
type costFunc func(args []any, room int64) (work, built int64)

// builtinCosts lists the builtins that read or build in proportion to their
// arguments. The others (len, abs, int, first, get, now, ...) take constant
// time and are not metered.
var builtinCosts = map[string]costFunc{
	"repeat":      repeatCost,
	"join":        joinCost,
	"replace":     replaceCost,
	"toJSON":      func(a []any, room int64) (int64, int64) { return encodingCost(a, room, true) },
	"string":      func(a []any, room int64) (int64, int64) { return encodingCost(a, room, false) },
	"upper":       copyCost(1, 1),
	"lower":       copyCost(1, 1),
	"toBase64":    copyCost(4, 3),
	"fromBase64":  copyCost(3, 4),
	"fromJSON":    fromJSONCost,
	"split":       splitCost,
	"splitAfter":  splitCost,
	"trim":        scanCost,
	"trimPrefix":  scanCost,
	"trimSuffix":  scanCost,
	"indexOf":     scanCost,
	"lastIndexOf": scanCost,
	"hasPrefix":   scanCost,
	"hasSuffix":   scanCost,
	"concat":      concatCost,
	"flatten":     nestedCost(true),
	"max":         nestedCost(false),
	"min":         nestedCost(false),
	"mean":        nestedCost(false),
	"median":      nestedCost(true),
	"uniq":        listCopyCost(1),
	"sort":        listCopyCost(1),
	"reverse":     listCopyCost(1),
	"take":        listCopyCost(1),
	"keys":        listCopyCost(1),
	"values":      listCopyCost(1),
	"toPairs":     listCopyCost(3),
	"fromPairs":   listCopyCost(1),
}

// units is the work of reading v once: one per 64 bytes of a string, one
// per element of a list or map.
func units(v any) int64 {
	if s, ok := v.(string); ok {
		return 1 + int64(len(s))/64
	}
	return 1 + int64(length(v))
}

func unitsOf(args []any) int64 {
	var n int64
	for _, a := range args {
		n += units(a)
	}
	return n
}

// length is the number of elements of a list or map, and 0 for anything
// else.
func length(v any) int {
	switch v := v.(type) {
	case []any:
		return len(v)
	case map[string]any:
		return len(v)
	case string, nil:
		return 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len()
	}
	return 0
}

// argString is argument i when it is a string, else "".
func argString(args []any, i int) string {
	if i < len(args) {
		s, _ := args[i].(string)
		return s
	}
	return ""
}

// argInt is argument i when it is a whole number of any numeric type (a
// count from JSON is a float64).
func argInt(args []any, i int) (int64, bool) {
	if i >= len(args) {
		return 0, false
	}
	rv := reflect.ValueOf(args[i])
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(min(rv.Uint(), math.MaxInt64)), true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if f != f || f >= math.MaxInt64 || f <= math.MinInt64 {
			return math.MaxInt64, true
		}
		return int64(f), true
	}
	return 0, false
}

// scanCost is a builtin that reads its arguments and builds nothing new
// (trim returns part of its input).
func scanCost(args []any, _ int64) (int64, int64) { return unitsOf(args), 0 }

// copyCost builds a string mul/div as long as its first argument.
func copyCost(mul, div int64) costFunc {
	return func(args []any, _ int64) (int64, int64) {
		return unitsOf(args), int64(len(argString(args, 0))) * mul / div
	}
}

func repeatCost(args []any, room int64) (int64, int64) {
	s := argString(args, 0)
	n, ok := argInt(args, 1)
	if !ok || n <= 0 || s == "" {
		return 1, 0
	}
	if n > room/int64(len(s)) {
		return 1, room + 1 // would not fit; the charge says so before anything is built
	}
	built := int64(len(s)) * n
	return 1 + built/64, built
}

func joinCost(args []any, _ int64) (int64, int64) {
	glue := int64(len(argString(args, 1)))
	var built int64
	switch list := args[0].(type) {
	case []any:
		for _, e := range list {
			if s, ok := e.(string); ok {
				built += int64(len(s)) + glue
			}
		}
	case []string:
		for _, s := range list {
			built += int64(len(s)) + glue
		}
	}
	return 1 + int64(length(args[0])) + built/64, built
}

func replaceCost(args []any, _ int64) (int64, int64) {
	s, old, repl := argString(args, 0), argString(args, 1), argString(args, 2)
	count := int64(strings.Count(s, old))
	if len(args) == 4 {
		if n, ok := argInt(args, 3); ok && n >= 0 {
			count = min(count, n)
		}
	}
	return unitsOf(args), int64(len(s)) + count*int64(max(0, len(repl)-len(old)))
}

// encodingCost measures the value toJSON or string would render, walking
// no further than room.
func encodingCost(args []any, room int64, indent bool) (int64, int64) {
	if len(args) == 0 {
		return 1, 0
	}
	n, _ := encodedSize(args[0], room, indent)
	return 1 + n/64, n
}

// fromJSONCost counts every value in the text as a created element.
func fromJSONCost(args []any, _ int64) (int64, int64) {
	s := argString(args, 0)
	values := 1 + int64(strings.Count(s, ",")+strings.Count(s, "[")+strings.Count(s, "{"))
	return unitsOf(args), int64(len(s)) + values*elementBytes
}

// splitCost counts the parts split makes (they share the input's bytes).
func splitCost(args []any, _ int64) (int64, int64) {
	s, sep := argString(args, 0), argString(args, 1)
	parts := int64(strings.Count(s, sep) + 1)
	if sep == "" {
		parts = int64(utf8.RuneCountInString(s))
	}
	if len(args) == 3 {
		if n, ok := argInt(args, 2); ok && n > 0 {
			parts = min(parts, n)
		}
	}
	return unitsOf(args), parts * elementBytes
}

func concatCost(args []any, _ int64) (int64, int64) {
	var n int64
	for _, a := range args {
		n += int64(length(a))
	}
	return 1 + n, n * elementBytes
}

// listCopyCost builds a new list with per elements for each element of
// the first argument.
func listCopyCost(per int64) costFunc {
	return func(args []any, _ int64) (int64, int64) {
		n := int64(length(args[0]))
		return unitsOf(args), n * per * elementBytes
	}
}

// nestedCost reads (and, with builds, copies) every element of the nested
// lists in its arguments: flatten(map(1..1000, big)) would otherwise read
// big a thousand times in one call. The count stops at the work budget.
func nestedCost(builds bool) costFunc {
	return func(args []any, _ int64) (int64, int64) {
		n := int64(0)
		for _, a := range args {
			n += leaves(a, MaxExprWork+1-n)
		}
		if builds {
			return 1 + n, n * elementBytes
		}
		return 1 + n, 0
	}
}

// leaves counts the elements of v and of the lists nested in it, up to
// limit.
func leaves(v any, limit int64) int64 {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return 1
	}
	var n int64
	for i := 0; i < rv.Len() && n <= limit; i++ {
		n += leaves(rv.Index(i).Interface(), limit-n)
	}
	return n
}

// patternCache holds compiled regular expressions of matches by pattern.
// Like the program cache it starts over when full.
type patternCache struct {
	mu sync.RWMutex
	m  map[string]*regexp.Regexp
}

var patterns = &patternCache{m: make(map[string]*regexp.Regexp)}

func (c *patternCache) get(p string) (*regexp.Regexp, error) {
	c.mu.RLock()
	re, ok := c.m[p]
	c.mu.RUnlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheSize {
		clear(c.m)
	}
	c.m[p] = re
	return re, nil
}
