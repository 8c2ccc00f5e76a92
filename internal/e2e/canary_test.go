package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"aias/internal/testutil/redistest"
)

// A secret used by a run appears nowhere — logs, API answers, step records,
// artifacts, Redis — except in the request the step sent to its target.
func TestASecretUsedByARunAppearsOnlyInTheRequestItWasMeantFor(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	canary := "canary-" + hex.EncodeToString(b)

	var mu sync.Mutex
	var received []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, r.Header.Get("Authorization")+" "+r.URL.RawQuery+" "+string(body))
		mu.Unlock()
		// A careless target echoes the credential back, plain and encoded.
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"auth": r.Header.Get("Authorization"), "b64": base64.StdEncoding.EncodeToString([]byte(canary)), "body": string(body),
		})
	}))
	defer target.Close()

	var apiAnswers []string
	record := func(r response) response { apiAnswers = append(apiAnswers, r.String()); return r }
	record(s.mustJSON("PUT", "/api/v1/secrets/CANARY", acme.Key, map[string]string{"value": canary}, 200, nil))
	wf := s.createWorkflow(acme.Key, fmt.Sprintf(`
name: uses-a-secret
steps:
  - name: call
    type: http
    with:
      method: POST
      url: "%s/hook?t={{ secrets.CANARY }}"
      headers: { Authorization: "Bearer {{ secrets.CANARY }}" }
      body: { token: "secrets.CANARY", order: "trigger.body.order" }
  - name: note
    type: log
    with: { message: "target answered {{ steps.call.output.body }}" }
  - name: keep
    type: artifact
    with: { name: "answer.json", content: "steps.call.output" }
`, target.URL))
	url := s.createEndpoint(acme.Key, wf)
	_, runID := s.post(url, `{"order":"o-1"}`)
	if r := s.waitRun(acme.Key, runID, "succeeded", "failed", "dead"); r.Status != "succeeded" {
		t.Fatalf("run = %s (%v), want succeeded", r.Status, r.Error)
	}
	mu.Lock()
	if len(received) != 1 || strings.Count(received[0], canary) != 3 {
		t.Fatalf("the target received %q, want the secret in header, query and body", received)
	}
	mu.Unlock()

	for _, path := range []string{"/api/v1/runs/" + runID, "/api/v1/runs/" + runID + "/steps", "/api/v1/runs/" + runID + "/artifacts",
		"/api/v1/runs?expand=steps", "/api/v1/secrets", "/api/v1/audit", "/api/v1/workflows/" + wf} {
		apiAnswers = append(apiAnswers, s.do("GET", path, acme.Key, "", nil).String())
	}
	var arts struct{ Data []struct{ ID string } }
	s.mustJSON("GET", "/api/v1/runs/"+runID+"/artifacts", acme.Key, nil, 200, &arts)
	for _, a := range arts.Data {
		apiAnswers = append(apiAnswers, s.do("GET", "/api/v1/artifacts/"+a.ID+"/download", acme.Key, "", nil).String())
	}
	steps := s.do("GET", "/api/v1/runs/"+runID+"/steps", acme.Key, "", nil).String()
	if !strings.Contains(steps, "[REDACTED]") {
		t.Errorf("step records show no redaction of the echoed secret: %s", steps)
	}

	forms := []string{canary, base64.StdEncoding.EncodeToString([]byte(canary)), base64.RawURLEncoding.EncodeToString([]byte(canary))}
	places := map[string]string{"logs": s.logs.String(), "api": strings.Join(apiAnswers, "\n"), "redis": dumpRedis(t, s.redisURL)}
	for place, text := range places {
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("the secret (%s) appears in %s", f, place)
			}
		}
	}
}

// dumpRedis renders every key and value of a Redis database as text.
func dumpRedis(t *testing.T, url string) string {
	t.Helper()
	c := redistest.Client(t, url)
	ctx := context.Background()
	var b strings.Builder
	iter := c.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		b.WriteString(k + "\n")
		switch c.Type(ctx, k).Val() {
		case "string":
			b.WriteString(c.Get(ctx, k).Val())
		case "hash":
			fmt.Fprint(&b, c.HGetAll(ctx, k).Val())
		case "list":
			fmt.Fprint(&b, c.LRange(ctx, k, 0, -1).Val())
		case "set":
			fmt.Fprint(&b, c.SMembers(ctx, k).Val())
		case "zset":
			fmt.Fprint(&b, c.ZRange(ctx, k, 0, -1).Val())
		}
		b.WriteString("\n")
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
