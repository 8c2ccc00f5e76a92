package e2e_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"aias/internal/postgres"
)

// The runs list's live view (docs/console.md): it reloads only while a run
// on it moves, and its reloads are not the person's activity.

// fetch GETs path as the person with extra headers, without following a
// redirect.
func (p person) fetch(path string, header ...string) *http.Response {
	p.s.t.Helper()
	req, err := http.NewRequest("GET", p.s.base+path, nil)
	if err != nil {
		p.s.t.Fatal(err)
	}
	req.Header.Set("Cookie", "aias_session="+p.cookie)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		p.s.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res
}

// A page of finished runs, or of none, is still: its fragment does not
// ask to be reloaded again (X-Live), so a tab left on /runs stops polling.
func TestTheRunsListStopsReloadingOnceNothingMoves(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	ann := s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "ann@example.com", "password": strongPassword, "tenant_name": "Ann"}))
	if res := ann.fetch("/runs?fragment=1"); res.StatusCode != http.StatusOK || res.Header.Get("X-Live") != "" {
		t.Errorf("the fragment of no runs = %d X-Live %q, want 200 without X-Live", res.StatusCode, res.Header.Get("X-Live"))
	}
	var key struct {
		Key string `json:"key"`
	}
	ann.do("POST", "/api/v1/api-keys", map[string]string{"name": "k", "role": "owner"}).json(t, &key)
	wf := s.createWorkflow(key.Key, "name: still\nsteps:\n  - name: a\n    type: log\n    with: {message: x}\n")
	s.db.AsOwner(t, `INSERT INTO runs (id, tenant_id, workflow_id, workflow_version, trigger_kind, status, attempt, max_attempts, request_id,
	                            body, content_type, headers, query, received_at, created_at, updated_at, started_at, finished_at)
	           SELECT gen_random_uuid(), w.tenant_id, w.id, 1, 'manual', 'succeeded', 1, 3, '', '{}', 'application/json', '{}', '{}',
	                  now(), now(), now(), now(), now()
	             FROM workflows w WHERE w.id = $1`, wf)
	if res := ann.fetch("/runs?fragment=1"); res.StatusCode != http.StatusOK || res.Header.Get("X-Live") != "" {
		t.Errorf("the fragment of a finished run = %d X-Live %q, want 200 without X-Live", res.StatusCode, res.Header.Get("X-Live"))
	}
}

// A page's own reloads (X-Console-Poll: 1, console.js) do not put off the
// idle timeout; the person's own requests do.
func TestAPagesOwnReloadsAreNotActivity(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	ann := s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "ann@example.com", "password": strongPassword, "tenant_name": "Ann"}))
	s.db.AsOwner(t, `UPDATE user_sessions SET last_seen_at = now() - interval '2 hours'`)
	seen := func() int {
		db, err := postgres.Open(context.Background(), s.db.OwnerURL, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		var n int
		if err := db.GetContext(context.Background(), &n, `SELECT count(*) FROM user_sessions WHERE last_seen_at > now() - interval '1 minute'`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, path := range []string{"/runs?fragment=1", "/runs/00000000-0000-4000-8000-000000000001"} {
		if res := ann.fetch(path, "X-Console-Poll", "1"); res.StatusCode == http.StatusSeeOther {
			t.Fatalf("a reload of %s = 303, want the sign-in to hold", path)
		}
	}
	if seen() != 0 {
		t.Fatal("a page's own reload refreshed the sign-in's last_seen_at, want it left alone")
	}
	ann.fetch("/runs")
	if seen() != 1 {
		t.Error("the person's own visit left last_seen_at, want it refreshed")
	}
}

// Once a sign-in ends, a page's own reload answers 401 (the script then
// reloads the whole page), not the redirect to /login a navigation gets.
func TestAReloadOfAnEndedSignInIsUnauthorizedNotARedirect(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	ann := s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "ann@example.com", "password": strongPassword, "tenant_name": "Ann"}))
	s.db.AsOwner(t, `UPDATE user_sessions SET revoked_at = now()`)
	for _, tc := range []struct {
		path   string
		header []string
		want   int
	}{
		{"/runs?fragment=1", nil, http.StatusUnauthorized},
		{"/runs/00000000-0000-4000-8000-000000000001", []string{"X-Console-Poll", "1"}, http.StatusUnauthorized},
		{"/runs", nil, http.StatusSeeOther},
	} {
		if res := ann.fetch(tc.path, tc.header...); res.StatusCode != tc.want {
			t.Errorf("GET %s %v with an ended sign-in = %d (Location %q), want %d", tc.path, tc.header, res.StatusCode, res.Header.Get("Location"), tc.want)
		}
	}
}
