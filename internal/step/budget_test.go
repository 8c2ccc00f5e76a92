package step

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/google/go-cmp/cmp"
)

// bombEnv feeds the bombs from the trigger, so that none of them can be
// told at save time and each must be stopped while it runs.
func bombEnv(raw string) Env {
	return Env{"trigger": map[string]any{
		"body": map[string]any{"x": "x", "big": 999999.0, "thirty": thirty},
		"raw":  raw,
	}}
}

var thirty = func() []any {
	l := make([]any, 30)
	for i := range l {
		l[i] = float64(i)
	}
	return l
}()

// heapGrowth runs f and returns how far the heap's high-water mark grew
// (HeapSys only grows), with the collector kept tight so that the mark
// shows what f held at once. Tests that call it must not run in parallel.
func heapGrowth(f func()) int64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.HeapSys) - int64(before.HeapSys)
}

// bombHeap is more than any stopped bomb may take: the build budget, the
// VM's element budget and the collector's slack.
const bombHeap = 160 << 20

func mustStop(t *testing.T, src string, err error, want string) {
	t.Helper()
	mustPermanent(t, err)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Eval(%.60q) = %v, want an error containing %q", src, err, want)
	}
}

// The review's bomb: a string doubled with + (which expr's memory budget
// does not count) took the process to a gigabyte. Each doubling is now
// counted before it is built.
func TestDoublingAStringStopsAtTheBuildBudget(t *testing.T) {
	src := `let a0 = repeat(trigger.body.x, 999999);`
	for i := 1; i <= 10; i++ {
		src += fmt.Sprintf(" let a%d = a%d + a%d;", i, i-1, i-1)
	}
	src += " len(a10)"
	var err error
	grew := heapGrowth(func() { _, err = Eval(context.Background(), src, bombEnv("")) })
	mustStop(t, src, err, "build more than 32 MiB")
	if grew > bombHeap {
		t.Errorf("the stopped bomb grew the heap by %d MiB, want under %d MiB", grew>>20, bombHeap>>20)
	}
}

// repeat checked its size only after building the string.
func TestRepeatOfAHugeCountIsRefusedBeforeItIsBuilt(t *testing.T) {
	src := `len(repeat(trigger.raw, trigger.body.big))`
	var err error
	grew := heapGrowth(func() { _, err = Eval(context.Background(), src, bombEnv(strings.Repeat("a", 2000))) })
	mustStop(t, src, err, "build more than 32 MiB")
	if grew > bombHeap {
		t.Errorf("the refused repeat grew the heap by %d MiB, want under %d MiB", grew>>20, bombHeap>>20)
	}
}

// A list holding one string many times is small in memory; its JSON is not.
func TestEncodingAListOfOneBigStringManyTimesIsRefusedBeforeItIsEncoded(t *testing.T) {
	env := bombEnv(strings.Repeat("a", 20_000))
	for _, src := range []string{
		`len(toJSON(map(1..50000, trigger.raw)))`,
		`len(string(map(1..50000, trigger.raw)))`,
		`len(join(map(1..50000, trigger.raw), ""))`,
	} {
		var err error
		grew := heapGrowth(func() { _, err = Eval(context.Background(), src, env) })
		mustStop(t, src, err, "build more than 32 MiB")
		if grew > bombHeap {
			t.Errorf("%s grew the heap by %d MiB, want under %d MiB", src, grew>>20, bombHeap>>20)
		}
	}
	var err error
	grew := heapGrowth(func() {
		_, err = Render(context.Background(), "{{ map(1..50000, trigger.raw) }}", env)
	})
	mustStop(t, "template", err, "build more than 32 MiB")
	if grew > bombHeap {
		t.Errorf("rendering grew the heap by %d MiB, want under %d MiB", grew>>20, bombHeap>>20)
	}
}

// Template parts each evaluate to an existing value, but the rendered
// text is new.
func TestATemplateRepeatingALargeValueStopsAtTheBuildBudget(t *testing.T) {
	t.Parallel()
	tmpl := strings.Repeat("{{ trigger.raw }}", 2000)
	_, err := Render(context.Background(), tmpl, bombEnv(strings.Repeat("a", 20_000)))
	mustStop(t, "template", err, "build more than 32 MiB")
}

// The review's CPU bomb: a regular expression inside a reduce over 12,000
// items ran 13 s under a one-second step timeout, because the VM never
// looked at its context.
func TestARegexInAReduceStopsWithinItsStepTimeout(t *testing.T) {
	t.Parallel()
	src := `reduce(1..12000, #acc + (trigger.raw matches "(a|b)*c$" ? 1 : 0), 0)`
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, errors.New("step timed out after 1s"))
	defer cancel()
	_, err := Eval(WithBudget(ctx), src, bombEnv(strings.Repeat("ab", 20_000)))
	mustStop(t, src, err, "expression stopped")
}

// The deadline of the step is honoured even when the work budget would
// allow more: the error is permanent and says why the step stopped.
func TestAnExpressionStopsAtItsContextsDeadline(t *testing.T) {
	t.Parallel()
	src := `reduce(1..1000, #acc + (trigger.raw matches "(a|b)*c$" ? 1 : 0), 0)`
	cause := errors.New("step timed out after 1s")
	ctx, cancel := context.WithTimeoutCause(context.Background(), 30*time.Millisecond, cause)
	defer cancel()
	_, err := Eval(ctx, src, bombEnv(strings.Repeat("ab", 10_000)))
	mustStop(t, src, err, "step timed out after 1s")
	if !errors.Is(err, cause) {
		t.Errorf("Eval error %v does not wrap the deadline's cause", err)
	}
}

// A canceled run or a shutting-down worker stops the expression too, but
// that is not the expression's fault: the error is retryable.
func TestACanceledContextStopsAnExpressionWithARetryableError(t *testing.T) {
	t.Parallel()
	src := `reduce(1..1000, #acc + (trigger.raw matches "(a|b)*c$" ? 1 : 0), 0)`
	cause := errors.New("run canceled")
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := time.AfterFunc(20*time.Millisecond, func() { cancel(cause) })
	defer stop.Stop()
	_, err := Eval(ctx, src, bombEnv(strings.Repeat("ab", 10_000)))
	mustRetryable(t, err)
	if !errors.Is(err, cause) {
		t.Errorf("Eval error %v does not wrap the cancel's cause", err)
	}
}

// Without any deadline, loops are bounded: every iteration is counted.
// Ten million iterations take long enough that on a busy machine the time
// backstop may come first; either stops the loop.
func TestLoopsAreBoundedWithoutADeadline(t *testing.T) {
	t.Parallel()
	src := `count(1..999999, any(trigger.body.thirty, # > 40))`
	_, err := Eval(context.Background(), src, bombEnv(""))
	mustPermanent(t, err)
	if msg := err.Error(); !strings.Contains(msg, "units of work") && !strings.Contains(msg, "ran longer than") {
		t.Fatalf("Eval(%q) = %v, want it stopped by the work or time budget", src, err)
	}
}

// Functions that scan their arguments count what they read, so a loop of
// a few thousand scans of a large payload runs out of work, not of time.
func TestScansOfALargePayloadCountTowardTheWorkBudget(t *testing.T) {
	t.Parallel()
	src := `count(1..999999, indexOf(trigger.raw, "z") > 0)`
	_, err := Eval(context.Background(), src, bombEnv(strings.Repeat("a", 64<<10)))
	mustStop(t, src, err, "units of work")
}

// One budget covers all of a step's expressions: many modest leaves add up.
func TestTheExpressionsOfOneStepShareOneBudget(t *testing.T) {
	t.Parallel()
	leaf := `repeat(trigger.body.x, 999999)`
	out := map[string]any{}
	for i := range 40 {
		out[fmt.Sprintf("k%d", i)] = leaf
	}
	if _, err := EvalValue(context.Background(), leaf, bombEnv("")); err != nil {
		t.Fatalf("one leaf alone: %v", err)
	}
	_, err := EvalValue(WithBudget(context.Background()), out, bombEnv(""))
	mustStop(t, "40 leaves", err, "build more than 32 MiB")
}

// A pattern taken from the payload is bounded in length.
func TestAnOverlongDynamicPatternIsRefused(t *testing.T) {
	t.Parallel()
	env := bombEnv(strings.Repeat("a", 2*MaxPatternBytes))
	_, err := Eval(context.Background(), `"aaa" matches trigger.raw`, env)
	mustStop(t, "matches", err, "at most 1024 bytes")
}

// The meter changes what expressions may spend, never what they mean: the
// metered program answers as expr itself does.
func TestMeteredExpressionsAnswerAsExprDoes(t *testing.T) {
	t.Parallel()
	env := Env{"trigger": map[string]any{"body": map[string]any{
		"s": "Hello", "n": 3.0, "list": []any{3.0, 1.0, 2.0}, "words": []any{"a", "b", "a"},
		"obj": map[string]any{"k": "v", "n": 1.0},
	}}}
	for _, src := range []string{
		`trigger.body.s + " world"`, `1 + 2`, `trigger.body.n + 1`, `trigger.body.n + 0.5`,
		`repeat(trigger.body.s, 3)`, `join(trigger.body.words, "-")`, `replace(trigger.body.s, "l", "LL")`,
		`upper(trigger.body.s) + lower(trigger.body.s)`, `toJSON(trigger.body.obj)`, `string(trigger.body.list)`,
		`split("a,b,c", ",")`, `trim("  x  ")`, `toBase64(trigger.body.s)`, `fromBase64(toBase64("x"))`,
		`fromJSON('{"a":[1,2]}')`, `concat(trigger.body.list, [4])`, `flatten([[1,[2]],[3]])`,
		`max(trigger.body.list)`, `median(trigger.body.list)`, `sort(trigger.body.list)`, `uniq(trigger.body.words)`,
		`reverse(trigger.body.list)`, `take(trigger.body.list, 2)`, `sort(keys(trigger.body.obj))`, `sortBy(toPairs(trigger.body.obj), #[0])`,
		`fromPairs([["a", 1]])`, `indexOf(trigger.body.s, "l")`, `hasPrefix(trigger.body.s, "He")`,
		`map(trigger.body.list, # * 2)`, `filter(trigger.body.list, # > 1)`, `reduce(trigger.body.list, #acc + #, 0)`,
		`sum(trigger.body.list)`, `sum(1..10)`, `count(1..10, # % 2 == 0)`, `2 in 1..5`, `"a" in ["a", "b"]`,
		`groupBy(trigger.body.words, #)["a"]`, `sortBy(trigger.body.list, #)`, `{"a": [1, {"b": 2}]}`,
		`trigger.body.s matches "^H"`, `trigger.body.s matches trigger.body.s`, `let x = "a" + "b"; x + x`,
		`trigger.body.missing + "x"`, `any(trigger.body.list, # == 2) ? "yes" : "no"`, `len(1..100)`,
		`trigger.body?.list?.[0]`, `(trigger.body.missing ?? [7])[0]`, `filter(trigger.body.list, # > 1)?.[0]`,
		`trigger.body.words | join(",")`, `1..3 | map(# * 2)`, `let f = map(trigger.body.list, #); f[0] + 1`,
		`"x" + string(1)`, `trigger.body.obj?.k + "!"`, `reduce(trigger.body.words, #acc + #, "")`,
		`map(trigger.body.list, {"v": #, "s": string(#) + "!"})`, `now().Year() > 2000`,
	} {
		want, werr := expr.Eval(src, map[string]any(env))
		got, gerr := Eval(context.Background(), src, env)
		if (werr == nil) != (gerr == nil) {
			t.Errorf("Eval(%q) error = %v, expr says %v", src, gerr, werr)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Eval(%q) differs from expr (-expr +metered):\n%s", src, diff)
		}
	}
}

// What the literals of an expression build is known when it is saved.
func TestBuildBombsMadeOfLiteralsAreRefusedAtSave(t *testing.T) {
	t.Parallel()
	doubling := `let a0 = repeat("x", 999999);`
	for i := 1; i <= 10; i++ {
		doubling += fmt.Sprintf(" let a%d = a%d + a%d;", i, i-1, i-1)
	}
	doubling += " a10"
	for _, src := range []string{
		doubling,
		`repeat("x", 999999999)`,
		`repeat("abcdefgh", 5000000)`,
		`upper(repeat("ab", 20000000))`,
	} {
		err := CompileExpr(src)
		if err == nil || !strings.Contains(err.Error(), "more than the 32 MiB an expression may build") {
			t.Errorf("CompileExpr(%.50q) = %v, want it refused for what it builds", src, err)
		}
	}
	for _, src := range []string{`repeat("x", 1000)`, `let a = repeat("x", 999999); a + a`, `repeat(trigger.body.x, 5)`} {
		if err := CompileExpr(src); err != nil {
			t.Errorf("CompileExpr(%q) = %v, want it accepted", src, err)
		}
	}
}
