package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"aias/pkg/aias"
)

// These tests run the tenant commands against a fake AIAS that answers
// what each case needs (a failure halfway, a burst of runs), which the
// real one cannot be made to do on demand.

// fakeAIAS serves h and returns a terminal whose commands call it.
func fakeAIAS(t *testing.T, h http.HandlerFunc) *terminal {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return newTerminal(t, map[string]string{"AIAS_API_URL": srv.URL, "AIAS_API_KEY": "aias_test"})
}

// problem answers a problem document of status and code.
func problem(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d,"code":%q,"detail":"try later"}`, http.StatusText(status), status, code)
}

func TestBulkReplayStoppedByAnErrorSaysHowFarItGotAndHowToContinue(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []aias.BulkReplayRequest
	tm := fakeAIAS(t, func(w http.ResponseWriter, r *http.Request) {
		var req aias.BulkReplayRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		got = append(got, req)
		n := len(got)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"count":2,"held":0,"more":true,"next_cursor":"c1"}`)
			return
		}
		problem(w, http.StatusServiceUnavailable, "storage_unavailable")
	})
	r := tm.run("", "runs", "bulk-replay", "--status", "failed", "--batch", "2")
	if r.code != exitUnavailable || !strings.Contains(r.err, "stopped after 2 runs replayed") ||
		!strings.Contains(r.err, "--cursor c1 --before ") {
		t.Fatalf("bulk-replay failing on its second call = exit %d\n%s\nwant 7, 2 replayed and the cursor c1 with the bound", r.code, r.err)
	}
	mu.Lock()
	if len(got) != 2 || got[0].CreatedBefore == nil || got[1].CreatedBefore == nil || !got[0].CreatedBefore.Equal(*got[1].CreatedBefore) {
		t.Fatalf("the command sent %+v, want 2 calls bounded by the same created_before", got)
	}
	before := got[0].CreatedBefore
	got = got[:0]
	mu.Unlock()
	tm.run("", "runs", "bulk-replay", "--status", "failed", "--cursor", "c1", "--before", before.Format("2006-01-02T15:04:05.999999999Z07:00"))
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 || got[0].Cursor != "c1" || !got[0].CreatedBefore.Equal(*before) {
		t.Errorf("the resumed command sent %+v, want cursor c1 and the first call's bound", got)
	}
}

// A proxy redirecting http to https turned apply's POST into a GET, and
// apply reported a workflow "" created: the redirect is an error instead.
func TestApplyThroughARedirectFailsNamingTheTarget(t *testing.T) {
	t.Parallel()
	tm := fakeAIAS(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://aias.example.com"+r.URL.Path, http.StatusMovedPermanently)
	})
	file := writeFile(t, t.TempDir(), "wf.yaml", "name: from-git\nsteps:\n  - {name: a, type: transform, with: {output: '1'}}\n")
	r := tm.run("", "workflows", "apply", "-f", file)
	if r.code == exitOK || strings.Contains(r.out, "applied") || !strings.Contains(r.err, "set the base URL to https://aias.example.com") {
		t.Errorf("apply through a redirect = exit %d\n%s\n%s\nwant a failure naming https://aias.example.com", r.code, r.out, r.err)
	}
}

// fakeRuns is the runs of a fake AIAS, newest first, paged by an offset
// cursor as AIAS pages by a keyset one; failGets makes that many reads of
// a run by id fail first (500, which the client does not retry).
type fakeRuns struct {
	mu       sync.Mutex
	runs     []aias.Run
	failGets int
}

// add makes n runs newer than every other, the last one the newest.
func (f *fakeRuns) add(n int, kind aias.TriggerKind) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for range n {
		id := fmt.Sprintf("run-%04d", len(f.runs))
		r := aias.Run{ID: id, Status: aias.RunSucceeded, WorkflowID: "wf", CreatedAt: time.Now(),
			Trigger: aias.Trigger{Kind: kind, EndpointID: "ep", ContentType: "application/json", Body: json.RawMessage(`{"n":1}`)}}
		f.runs = append([]aias.Run{r}, f.runs...)
		ids = append(ids, id)
	}
	return ids
}

func (f *fakeRuns) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := strings.CutPrefix(r.URL.Path, "/api/v1/runs/"); ok {
		if f.failGets > 0 {
			f.failGets--
			problem(w, http.StatusInternalServerError, "internal")
			return
		}
		for _, run := range f.runs {
			if run.ID == id {
				_ = json.NewEncoder(w).Encode(run)
				return
			}
		}
		problem(w, http.StatusNotFound, "not_found")
		return
	}
	if r.URL.Path != "/api/v1/runs" {
		_, _ = io.WriteString(w, `{"data":[]}`) // the workflows, for names
		return
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	to := min(from+limit, len(f.runs))
	p := aias.Page[aias.Run]{Data: f.runs[from:to]}
	if to < len(f.runs) {
		p.NextCursor = strconv.Itoa(to)
	}
	_ = json.NewEncoder(w).Encode(p)
}

func TestTailReportsEveryRunOfABurstLargerThanAPage(t *testing.T) {
	t.Parallel()
	runs := &fakeRuns{}
	runs.add(3, aias.TriggerManual)
	tm := fakeAIAS(t, runs.ServeHTTP)
	out, stop := tm.follow("runs", "tail", "--interval", "100ms", "--json")
	burst := runs.add(250, aias.TriggerManual)
	waitPrinted(t, out, burst[0], burst[len(burst)-1])
	time.Sleep(300 * time.Millisecond) // a few more polls: nothing twice
	stop()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(burst) {
		t.Errorf("tail printed %d events for a burst of %d runs, want one each", len(lines), len(burst))
	}
	for _, id := range burst {
		if strings.Count(out.String(), `"`+id+`"`) != 1 {
			t.Errorf("tail reported run %s %d times, want once", id, strings.Count(out.String(), `"`+id+`"`))
		}
	}
}

func TestListenForwardsADeliveryWhoseRunItCouldNotReadAtFirst(t *testing.T) {
	t.Parallel()
	runs := &fakeRuns{}
	tm := fakeAIAS(t, runs.ServeHTTP)
	local := newLocalReceiver(t)
	out, stop := tm.follow("listen", "--forward", local.srv.URL+"/hook", "--interval", "100ms")
	runs.mu.Lock()
	runs.failGets = 2
	runs.mu.Unlock()
	ids := runs.add(1, aias.TriggerWebhook)
	waitPrinted(t, out, ids[0], "← 200 OK")
	r := stop()
	if !strings.Contains(r.err, "will try again") {
		t.Errorf("listen said\n%s\nwant the failed reads reported", r.err)
	}
	local.mu.Lock()
	defer local.mu.Unlock()
	if len(local.got) != 1 || local.bod[0] != `{"n":1}` {
		t.Errorf("the local server got %d requests (%q), want the delivery once", len(local.got), local.bod)
	}
}

func TestAFollowLoopPrintsWhatFailedNotNil(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	e := env{errw: &out}
	e.transient(&aias.Error{Status: 503, Code: aias.CodeStorageUnavailable, Method: "GET", Path: "/api/v1/runs", Detail: "try later"})
	if got := out.String(); strings.Contains(got, "<nil>") || !strings.Contains(got, "503 storage_unavailable: try later") {
		t.Errorf("transient printed %q, want the error itself", got)
	}
}

func TestAnAPIErrorIsPrintedWithOnePrefix(t *testing.T) {
	t.Parallel()
	tm := fakeAIAS(t, func(w http.ResponseWriter, r *http.Request) { problem(w, http.StatusNotFound, "not_found") })
	r := tm.run("", "runs", "get", "r1")
	line := errorLine(fmt.Errorf("%s", r.err))
	if r.code != exitNotFound || strings.Count(line, "aias:") != 1 || !strings.HasPrefix(line, "aias: GET /api/v1/runs/r1: 404 not_found") {
		t.Errorf("runs get of an unknown run prints %q (exit %d), want one aias: prefix before the call", line, r.code)
	}
	if got := errorLine(usageErr("--limit must be at least 1")); got != "aias: --limit must be at least 1" {
		t.Errorf("a CLI error prints %q, want it after aias:", got)
	}
}

func TestRunsLsRefusesALimitBelowOne(t *testing.T) {
	t.Parallel()
	runs := &fakeRuns{}
	runs.add(3, aias.TriggerManual)
	tm := fakeAIAS(t, runs.ServeHTTP)
	for _, limit := range []string{"0", "-5"} {
		if r := tm.run("", "runs", "ls", "--limit", limit); r.code != exitUsage || strings.Contains(r.out, "run-") {
			t.Errorf("runs ls --limit %s = exit %d %q, want 2 and no runs", limit, r.code, r.out)
		}
	}
}

func TestRunsLsSendsSinceAndUntil(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var q url.Values
	tm := fakeAIAS(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/runs" {
			mu.Lock()
			q = r.URL.Query()
			mu.Unlock()
		}
		_, _ = io.WriteString(w, `{"data":[]}`)
	})
	tm.must("runs", "ls", "--since", "2h", "--until", "2026-01-02T03:04:05Z")
	mu.Lock()
	defer mu.Unlock()
	since, err := time.Parse(time.RFC3339, q.Get("created_after"))
	if err != nil || time.Since(since) < 2*time.Hour-time.Minute || time.Since(since) > 2*time.Hour+time.Minute ||
		q.Get("created_before") != "2026-01-02T03:04:05Z" {
		t.Errorf("runs ls --since 2h --until … sent %v, want created_after two hours ago and created_before as given", q)
	}
	if r := tm.run("", "runs", "ls", "--since", "yesterday"); r.code != exitUsage {
		t.Errorf("runs ls --since yesterday = exit %d, want 2", r.code)
	}
}
