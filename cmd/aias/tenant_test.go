package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"aias/internal/testutil/apptest"
	"aias/internal/testutil/logbuf"
	"aias/pkg/aias"
)

// The tenant commands run here against a real AIAS — ingress, worker and
// scheduler in this process, on a database and a Redis DB of their own —
// exactly as a user's terminal would run them, only with the streams and
// the config directory in the test's hands.

// aiasServer is AIAS serving for one test, with a tenant's owner key.
type aiasServer struct {
	base, key string
	logs      *logbuf.Buffer
}

func startAIAS(t *testing.T) aiasServer {
	t.Helper()
	srv := apptest.Start(t, apptest.Options{})
	base, logs := srv.Base, srv.Logs
	c, err := aias.New(base)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.SignUp(context.Background(), aias.SignupRequest{Email: "cli@example.com", TenantName: "cli"})
	if err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	return aiasServer{base: base, key: s.APIKey, logs: logs}
}

// terminal is a user's shell: their environment and config directory.
type terminal struct {
	t         *testing.T
	vars      map[string]string
	configDir string
}

func newTerminal(t *testing.T, vars map[string]string) *terminal {
	t.Helper()
	if vars == nil {
		vars = map[string]string{}
	}
	return &terminal{t: t, vars: vars, configDir: t.TempDir()}
}

// result is one command's outcome.
type result struct {
	out, err string
	code     int
}

// run runs one command to its end.
func (tm *terminal) run(stdin string, args ...string) result {
	tm.t.Helper()
	var out, errw bytes.Buffer
	return tm.runCtx(context.Background(), stdin, &out, &errw, args...)
}

func (tm *terminal) runCtx(ctx context.Context, stdin string, out, errw io.Writer, args ...string) result {
	tm.t.Helper()
	e := env{getenv: func(k string) string { return tm.vars[k] }, in: strings.NewReader(stdin), out: out, errw: errw,
		configDir: func() (string, error) { return tm.configDir, nil }}
	err := e.run(ctx, args)
	r := result{code: exitCode(err)}
	if b, ok := out.(*bytes.Buffer); ok {
		r.out = b.String()
	}
	if b, ok := errw.(*bytes.Buffer); ok {
		r.err = b.String()
	}
	if err != nil {
		r.err += err.Error()
	}
	return r
}

// must runs a command that has to succeed.
func (tm *terminal) must(args ...string) string {
	tm.t.Helper()
	r := tm.run("", args...)
	if r.code != exitOK {
		tm.t.Fatalf("aias %s: exit %d\n%s\n%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// loggedIn is a terminal where `aias login` has been run.
func loggedIn(t *testing.T, s aiasServer) *terminal {
	t.Helper()
	tm := newTerminal(t, nil)
	tm.must("login", "--url", s.base, "--key", s.key)
	return tm
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoginStoresTheKeyForTheUserAloneAndAskedForWhatIsMissing(t *testing.T) {
	t.Parallel()
	s := startAIAS(t)
	tm := newTerminal(t, nil)
	if r := tm.run("", "whoami"); r.code != exitAuth || !strings.Contains(r.err, "aias login") {
		t.Errorf("whoami before login = exit %d %q, want 4 pointing at aias login", r.code, r.err)
	}
	r := tm.run(s.base+"\n"+s.key+"\n", "login") // both asked for, read from the terminal
	if r.code != exitOK || !strings.Contains(r.out, `tenant "cli"`) || !strings.Contains(r.err, "API key: ") {
		t.Fatalf("login = exit %d\n%s\n%s\nwant the key asked for and the tenant named", r.code, r.out, r.err)
	}
	path := filepath.Join(tm.configDir, "aias", "config.json")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("config file mode = %v, want 0600", info.Mode().Perm())
	}
	if dir, _ := os.Stat(filepath.Dir(path)); dir.Mode().Perm() != 0o700 {
		t.Errorf("config directory mode = %v, want 0700", dir.Mode().Perm())
	}
	var stored credentials
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &stored); err != nil || stored.URL != s.base || stored.Key != s.key {
		t.Errorf("config file = %s (%v), want the URL and the key", b, err)
	}
	var me aias.Me
	if err := json.Unmarshal([]byte(tm.must("whoami", "--json")), &me); err != nil || me.TenantName != "cli" || me.Role != aias.RoleOwner {
		t.Errorf("whoami --json = %+v (%v), want the tenant as owner", me, err)
	}

	bad := tm.run("", "login", "--url", s.base, "--key", "aias_not-a-key")
	if bad.code != exitAuth {
		t.Errorf("login with a bad key = exit %d %q, want 4", bad.code, bad.err)
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Error("a refused login replaced the stored one")
	}
	// AIAS_API_KEY overrides the stored key.
	over := newTerminal(t, map[string]string{"AIAS_API_KEY": "aias_not-a-key"})
	over.configDir = tm.configDir
	if r := over.run("", "workflows", "ls"); r.code != exitAuth {
		t.Errorf("workflows ls with a bad AIAS_API_KEY = exit %d %q, want 4", r.code, r.err)
	}
	tm.must("logout")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("config file after logout: %v, want gone", err)
	}
}

const cliWorkflow = `name: cli-orders
steps:
  - name: double
    type: transform
    with: { output: { total: "trigger.body.total * 2" } }
  - name: receipt
    type: artifact
    with: { name: "receipt.json", content: "steps.double.output" }
`

func TestWorkflowsApplyThenDiffShowsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	s := startAIAS(t)
	tm := loggedIn(t, s)
	dir := t.TempDir()
	file := writeFile(t, dir, "wf.yaml", cliWorkflow)

	if r := tm.run("", "workflows", "diff", "-f", file); r.code != exitDiffers || !strings.Contains(r.out, "not on the server") || !strings.Contains(r.out, "+name: cli-orders") {
		t.Errorf("diff before apply = exit %d\n%s, want 9 and the whole file added", r.code, r.out)
	}
	if out := tm.must("workflows", "apply", "-f", file); !strings.Contains(out, "created") || !strings.Contains(out, "version 1") {
		t.Errorf("apply = %q, want created at version 1", out)
	}
	if r := tm.run("", "workflows", "diff", "-f", file); r.code != exitOK || r.out != "" {
		t.Errorf("diff after apply = exit %d %q, want 0 and no output", r.code, r.out)
	}
	file = writeFile(t, dir, "wf.yaml", strings.Replace(cliWorkflow, "* 2", "* 3", 1))
	r := tm.run("", "workflows", "diff", "-f", file)
	if r.code != exitDiffers || !strings.Contains(r.out, "-      total: trigger.body.total * 2") ||
		!strings.Contains(r.out, "+      total: trigger.body.total * 3") || strings.Count(r.out, "\n-") != 1 {
		t.Errorf("diff of a changed expression = exit %d\n%s\nwant 9 and that one line changed", r.code, r.out)
	}
	if out := tm.must("workflows", "apply", "-f", file); !strings.Contains(out, "updated") || !strings.Contains(out, "version 2") {
		t.Errorf("second apply = %q, want updated to version 2", out)
	}
	var list []aias.Workflow
	if err := json.Unmarshal([]byte(tm.must("workflows", "ls", "--json")), &list); err != nil || len(list) != 1 || list[0].Version != 2 {
		t.Errorf("workflows ls --json = %+v (%v), want the workflow at version 2", list, err)
	}
	if out := tm.must("workflows", "ls"); !strings.Contains(out, "NAME") || !strings.Contains(out, "cli-orders") {
		t.Errorf("workflows ls = %q, want a table naming it", out)
	}
	if out := tm.must("workflows", "get", "cli-orders"); !strings.Contains(out, "total: trigger.body.total * 3") {
		t.Errorf("workflows get = %q, want the current definition as YAML", out)
	}
	bad := writeFile(t, dir, "bad.yaml", "name: bad\nsteps:\n  - { name: a, type: email }\n")
	if r := tm.run("", "workflows", "apply", "-f", bad); r.code != exitInvalid || !strings.Contains(r.err, "steps[0].type") {
		t.Errorf("apply of an invalid definition = exit %d %q, want 5 naming steps[0].type", r.code, r.err)
	}
}

// syncBuffer is an io.Writer a command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitPrinted waits until a following command has printed every want.
func waitPrinted(t *testing.T, b *syncBuffer, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		got := b.String()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(got, w)
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the output never showed %q:\n%s", want, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// follow starts a command that runs until stopped (tail, listen) and
// returns its output and the stop.
func (tm *terminal) follow(args ...string) (*syncBuffer, func() result) {
	tm.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errw := &syncBuffer{}, &syncBuffer{}
	done := make(chan result, 1)
	go func() { done <- tm.runCtx(ctx, "", out, errw, args...) }()
	stop := sync.OnceValue(func() result {
		cancel()
		r := <-done
		r.out, r.err = out.String(), errw.String()+r.err
		return r
	})
	tm.t.Cleanup(func() { stop() })
	waitPrinted(tm.t, errw, "Ctrl-C stops") // it has read the runs that were there before
	return out, stop
}

func TestTriggerAndTailFollowTheRunToItsSuccess(t *testing.T) {
	t.Parallel()
	s := startAIAS(t)
	tm := loggedIn(t, s)
	dir := t.TempDir()
	tm.must("workflows", "apply", "-f", writeFile(t, dir, "wf.yaml", cliWorkflow))

	out, stop := tm.follow("runs", "tail", "--interval", "100ms")
	payload := writeFile(t, dir, "payload.json", `{"total": 21}`)
	var acc aias.RunAccepted
	if err := json.Unmarshal([]byte(tm.must("trigger", "cli-orders", "-d", "@"+payload, "--json")), &acc); err != nil || acc.RunID == "" {
		t.Fatalf("trigger --json = %+v (%v), want a run id", acc, err)
	}
	waitPrinted(t, out, acc.RunID, "succeeded")
	if r := stop(); r.code != exitOK {
		t.Errorf("tail stopped with exit %d: %s", r.code, r.err)
	}
	if !strings.Contains(out.String(), "(new)") {
		t.Errorf("tail printed\n%s\nwant the run marked new", out)
	}

	jsonOut, stopJSON := tm.follow("runs", "tail", "--interval", "100ms", "--json", "--workflow", "cli-orders")
	r := tm.run("", "trigger", "cli-orders", "-d", `{"total": 1}`, "--wait")
	if r.code != exitOK || !strings.Contains(r.out, "succeeded") {
		t.Errorf("trigger --wait = exit %d %q, want 0 and succeeded", r.code, r.out)
	}
	waitPrinted(t, jsonOut, `"status":"succeeded"`)
	stopJSON()
	for _, line := range strings.Split(strings.TrimSpace(jsonOut.String()), "\n") {
		var ev tailLine
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.RunID == "" || ev.Workflow != "cli-orders" {
			t.Errorf("tail --json line %q (%v), want an event naming the run and its workflow", line, err)
		}
	}

	var runs []aias.Run
	if err := json.Unmarshal([]byte(tm.must("runs", "ls", "--json", "--status", "succeeded", "--workflow", "cli-orders")), &runs); err != nil || len(runs) != 2 {
		t.Fatalf("runs ls --json = %d runs (%v), want 2", len(runs), err)
	}
	if out := tm.must("runs", "get", acc.RunID, "--steps"); !strings.Contains(out, "double") || !strings.Contains(out, "receipt") || !strings.Contains(out, "succeeded") {
		t.Errorf("runs get --steps = %q, want both steps", out)
	}
	var arts []aias.Artifact
	if err := json.Unmarshal([]byte(tm.must("artifacts", "ls", acc.RunID, "--json")), &arts); err != nil || len(arts) != 1 {
		t.Fatalf("artifacts ls --json = %+v (%v), want the receipt", arts, err)
	}
	file := filepath.Join(dir, "got.json")
	tm.must("artifacts", "get", arts[0].ID, "-o", file)
	if b, err := os.ReadFile(file); err != nil || string(b) != `{"total":42}` {
		t.Errorf("artifacts get -o wrote %q (%v), want the receipt", b, err)
	}
}

func TestBulkReplayShowsItsProgressBatchByBatch(t *testing.T) {
	t.Parallel()
	s := startAIAS(t)
	tm := loggedIn(t, s)
	tm.must("workflows", "apply", "-f", writeFile(t, t.TempDir(), "wf.yaml", cliWorkflow))
	for range 2 {
		tm.must("trigger", "cli-orders", "-d", `{"total": 1}`, "--wait")
	}
	r := tm.run("", "runs", "bulk-replay", "--status", "succeeded", "--workflow", "cli-orders", "--batch", "1")
	if r.code != exitOK || !strings.Contains(r.out, "2 runs replayed") ||
		!strings.Contains(r.err, "1 runs replayed, more to go") || !strings.Contains(r.err, "2 runs replayed\n") {
		t.Errorf("bulk-replay --batch 1 = exit %d\n%s\n%s\nwant a progress line per batch and 2 replayed", r.code, r.out, r.err)
	}
	if r := tm.run("", "runs", "bulk-replay"); r.code != exitUsage {
		t.Errorf("bulk-replay without --status = exit %d, want 2", r.code)
	}
}

// localReceiver is a developer's server under construction: it records
// each request and answers 200 "thanks".
type localReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*http.Request
	bod []string
}

func newLocalReceiver(t *testing.T) *localReceiver {
	lr := &localReceiver{}
	lr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		lr.mu.Lock()
		lr.got, lr.bod = append(lr.got, r), append(lr.bod, string(b))
		lr.mu.Unlock()
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(lr.srv.Close)
	return lr
}

func TestListenForwardsEachDeliveryToTheLocalServer(t *testing.T) {
	t.Parallel()
	s := startAIAS(t)
	tm := loggedIn(t, s)
	tm.must("workflows", "apply", "-f", writeFile(t, t.TempDir(), "wf.yaml", cliWorkflow))
	var ep aias.IssuedEndpoint
	if err := json.Unmarshal([]byte(tm.must("endpoints", "create", "--workflow", "cli-orders", "--name", "shop", "--json")), &ep); err != nil || ep.URL == "" {
		t.Fatalf("endpoints create --json = %+v (%v), want the intake URL", ep, err)
	}
	if out := tm.must("endpoints", "ls"); !strings.Contains(out, "shop") || !strings.Contains(out, "cli-orders") {
		t.Errorf("endpoints ls = %q, want the endpoint with its workflow's name", out)
	}
	local := newLocalReceiver(t)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	out, stop := tm.follow("listen", "--forward", local.srv.URL+"/hook", "--endpoint", ep.ID, "--interval", "100ms", "--sign", secret)

	req, _ := http.NewRequest(http.MethodPost, ep.URL+"?source=shop", strings.NewReader(`{"total": 5}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shop-Topic", "orders/create")
	req.Header.Set("Idempotency-Key", "order-5")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("delivery = %d, want 202", res.StatusCode)
	}
	printed := waitPrinted(t, out, "← 200 OK", "thanks")
	stop()
	local.mu.Lock()
	defer local.mu.Unlock()
	if len(local.got) != 1 {
		t.Fatalf("the local server got %d requests, want 1", len(local.got))
	}
	got, body := local.got[0], local.bod[0]
	if got.Method != http.MethodPost || got.URL.Path != "/hook" || got.URL.Query().Get("source") != "shop" ||
		got.Header.Get("X-Shop-Topic") != "orders/create" || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("X-AIAS-Delivery-ID") != "order-5" || got.Header.Get("X-AIAS-Run-ID") == "" {
		t.Errorf("forwarded %s %s with headers %v, want POST /hook?source=shop with the sender's headers and the run's id", got.Method, got.URL, got.Header)
	}
	if body != `{"total":5}` {
		t.Errorf("forwarded body %q, want the delivery's JSON", body)
	}
	if err := aias.VerifyCallback(secret, got.Header, []byte(body)); err != nil {
		t.Errorf("the forwarded request does not verify with the --sign secret: %v", err)
	}
	if !strings.Contains(printed, got.Header.Get("X-AIAS-Run-ID")) {
		t.Errorf("listen printed\n%s\nwant the run's id", printed)
	}
}

func TestExitCodesSayWhatWentWrong(t *testing.T) {
	t.Parallel()
	s := startAIAS(t)
	tm := loggedIn(t, s)
	unknown := "0b9d6a4e-3f43-4a55-9d3e-1a2b3c4d5e6f"
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"runs", "get", unknown}, exitNotFound},
		{[]string{"artifacts", "get", unknown, "-o", filepath.Join(t.TempDir(), "x")}, exitNotFound},
		{[]string{"trigger", "no-such-workflow"}, exitNotFound},
		{[]string{"endpoints", "rotate", unknown}, exitNotFound},
		{[]string{"runs", "cancel", "not-a-uuid"}, exitNotFound},
		{[]string{"runs", "get"}, exitUsage},
		{[]string{"runs", "ls", "--no-such-flag"}, exitUsage},
		{[]string{"frobnicate"}, exitUsage},
		{[]string{"runs", "ls", "--status", "sleeping"}, exitInvalid},
	} {
		if r := tm.run("", c.args...); r.code != c.want {
			t.Errorf("aias %s = exit %d (%s), want %d", strings.Join(c.args, " "), r.code, r.err, c.want)
		}
	}
	bad := newTerminal(t, map[string]string{"AIAS_API_URL": s.base, "AIAS_API_KEY": "aias_AAAAAAAAAAAAAAAAAAAAAAAA"})
	if r := bad.run("", "runs", "ls"); r.code != exitAuth || !strings.Contains(r.err, "unauthorized") {
		t.Errorf("runs ls with a bad key = exit %d %q, want 4 unauthorized", r.code, r.err)
	}
	down := newTerminal(t, map[string]string{"AIAS_API_URL": "http://127.0.0.1:1", "AIAS_API_KEY": s.key})
	if r := down.run("", "runs", "ls"); r.code != exitUnavailable {
		t.Errorf("runs ls with AIAS unreachable = exit %d %q, want 7", r.code, r.err)
	}
	var runs []aias.Run
	if err := json.Unmarshal([]byte(tm.must("runs", "ls", "--json")), &runs); err != nil || runs == nil {
		t.Errorf("runs ls --json with no runs = %v (%v), want []", runs, err)
	}
}
