package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"aias/internal/testutil/logbuf"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/tools/loopback"
)

// aias dev (make run) opens the queue dashboard with a token of its own and
// says where it is and how to log in, beside the curl lines; the
// dashboard is on the ops listener, and signup is open for the README's
// walk-through.
func TestDevPrintsTheDashboardItOpensWithAFreshToken(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	httpAddr, opsAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{
		"AIAS_ENV": "dev", "DATABASE_URL": db.AppURL, "AIAS_MIGRATE_DATABASE_URL": db.OwnerURL, "REDIS_URL": redistest.New(t),
		"AIAS_ENCRYPTION_KEYS": "dev1:ZGV2LW9ubHkta2V5LW5ldmVyLXVzZS1pbi1wcm9kISE=", // the Makefile's
		"AIAS_HTTP_ADDR":       httpAddr, "AIAS_PUBLIC_URL": "http://" + httpAddr, "AIAS_METRICS_ADDR": opsAddr,
	}
	out := startDev(t, env)
	text := waitOutput(t, out, "/admin/queues/api/queues")
	for _, want := range []string{"curl -sS -X POST 'http://" + httpAddr + "/api/webhooks/", "http://" + opsAddr + "/admin/queues\n", "any user name, password "} {
		if !strings.Contains(text, want) {
			t.Errorf("aias dev printed\n%s\nwant it to contain %q", text, want)
		}
	}
	m := regexp.MustCompile(`password ([A-Za-z0-9_-]{32,})\)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("aias dev printed no operator token of 32 characters or more:\n%s", text)
	}
	token := m[1]
	if !strings.Contains(text, `-H "Authorization: Bearer `+token+`"`) {
		t.Errorf("aias dev printed no curl line with the token as a Bearer token:\n%s", text)
	}
	waitStatus(t, "http://"+opsAddr+"/healthz", http.StatusOK)
	if got := status(t, "GET", "http://"+opsAddr+"/admin/queues", func(r *http.Request) { r.SetBasicAuth("me", token) }); got != http.StatusOK {
		t.Errorf("dashboard with the printed token as the Basic password = %d, want 200", got)
	}
	if got := status(t, "GET", "http://"+opsAddr+"/admin/queues", nil); got != http.StatusUnauthorized {
		t.Errorf("dashboard without the token = %d, want 401", got)
	}
	if got := status(t, "GET", "http://"+httpAddr+"/admin/queues", func(r *http.Request) { r.SetBasicAuth("me", token) }); got != http.StatusNotFound {
		t.Errorf("dashboard on the public port = %d, want 404", got)
	}
	signup := func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }
	// The console's demo login works with the password printed.
	lm := regexp.MustCompile(`log in as (\S+) with the password (\S+) `).FindStringSubmatch(text)
	if lm == nil || !strings.Contains(text, "http://"+httpAddr+"/\n") {
		t.Fatalf("aias dev printed no console URL and demo login:\n%s", text)
	}
	login := `{"email":"` + lm[1] + `","password":"` + lm[2] + `"}`
	if got := statusBody(t, "POST", "http://"+httpAddr+"/api/v1/session", login, signup); got != http.StatusCreated {
		t.Errorf("console login with the printed demo password = %d, want 201", got)
	}
	if got := statusBody(t, "POST", "http://"+httpAddr+"/api/v1/signup", `{"email":"me@example.com","tenant_name":"acme"}`, signup); got != http.StatusCreated {
		t.Errorf("signup under aias dev = %d, want 201", got)
	}
}

// A token the developer gave is used, and not printed.
func TestDevKeepsTheOperatorTokenItIsGiven(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	httpAddr, opsAddr := freeAddr(t), freeAddr(t)
	const token = "my-own-operator-token-0123456789abcdef"
	env := map[string]string{
		"AIAS_ENV": "dev", "DATABASE_URL": db.AppURL, "AIAS_MIGRATE_DATABASE_URL": db.OwnerURL, "REDIS_URL": redistest.New(t),
		"AIAS_ENCRYPTION_KEYS": "dev1:ZGV2LW9ubHkta2V5LW5ldmVyLXVzZS1pbi1wcm9kISE=",
		"AIAS_HTTP_ADDR":       httpAddr, "AIAS_PUBLIC_URL": "http://" + httpAddr, "AIAS_METRICS_ADDR": opsAddr,
		"AIAS_OPERATOR_TOKEN": token,
	}
	text := waitOutput(t, startDev(t, env), "/admin/queues/api/queues")
	if strings.Contains(text, token) || !strings.Contains(text, "password your AIAS_OPERATOR_TOKEN") {
		t.Errorf("aias dev printed\n%s\nwant it to point at AIAS_OPERATOR_TOKEN without printing it", text)
	}
	waitStatus(t, "http://"+opsAddr+"/healthz", http.StatusOK)
	if got := status(t, "GET", "http://"+opsAddr+"/admin/queues", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }); got != http.StatusOK {
		t.Errorf("dashboard with the given token = %d, want 200", got)
	}
}

// startDev runs aias dev until the test ends and returns its output.
func startDev(t *testing.T, env map[string]string) *logbuf.Buffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &logbuf.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"dev"}, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("aias dev: %v", err)
		}
		if t.Failed() {
			t.Logf("aias dev output:\n%s", logbuf.Tail(out.String(), 60))
		}
	})
	return out
}

func waitOutput(t *testing.T, out *logbuf.Buffer, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("aias dev never printed %q:\n%s", want, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out.String()
}

func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(url) //nolint:gosec // a loopback address the test chose
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never answered %d (last error %v)", url, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func status(t *testing.T, method, url string, prepare func(*http.Request)) int {
	t.Helper()
	return statusBody(t, method, url, "", prepare)
}

func statusBody(t *testing.T, method, url, body string, prepare func(*http.Request)) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := loopback.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
