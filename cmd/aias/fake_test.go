package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

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
