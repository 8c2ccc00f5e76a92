package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/signature"
	"aias/pkg/aias"
)

// Malformed or unusual bodies with a valid signature are accepted, stored
// byte for byte (the stored body's SHA-256 equals the sent one's) and run to
// the end: never a 5xx, never lost. Bodies that are not JSON reach
// expressions as trigger.body = null and whole as trigger.raw.
func TestSignedBodiesOfAnyShapeAreStoredByteForByteAndRun(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND": "0", "AIAS_RATE_LIMIT_IP_PER_SECOND": "0"}})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, `
name: measure
steps:
  - { name: size, type: transform, with: { output: "len(trigger.raw)" } }
  - { name: parsed, type: transform, with: { output: "trigger.body == nil ? 'raw' : 'json'" } }
`)
	url, _, secret := s.signedEndpoint(acme.Key, wf, map[string]any{"scheme": "standard-webhooks"})
	settings := signature.Settings{Scheme: "standard-webhooks"}
	bodies := map[string]string{
		"NUL escaped in JSON": `{"a":"x\u0000y"}`,
		"raw NUL byte":        "{\"a\":\"x\x00y\"}",
		"invalid UTF-8":       "{\"a\":\"\xff\xfe\xc3\x28\"}",
		"byte order mark":     "\xef\xbb\xbf{\"a\":1}",
		"100k-deep nesting":   strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000),
		"huge numbers":        `{"n":1e999999,"m":123456789012345678901234567890}`,
		"duplicate keys":      `{"a":1,"a":2}`,
		"unicode-heavy":       `{"s":"` + strings.Repeat("日本語😀\u202eZ̤͔ͧ̑̓ä͖̭̈̇", 2000) + `"}`,
		"truncated JSON":      `{"a":`,
		"empty":               ``,
	}
	i := 0
	for name, body := range bodies {
		i++
		headers := signed(t, settings, secret, fmt.Sprintf("msg_hostile_%d", i), time.Now(), body)
		r := s.do("POST", url, "", "application/json", []byte(body), headers...)
		if r.Status != 202 {
			t.Errorf("%s: %d %s, want 202", name, r.Status, r.Body)
			continue
		}
		var acc struct {
			RunID string `json:"run_id"`
		}
		r.json(t, &acc)
		if run := s.waitRun(acme.Key, acc.RunID, "succeeded", "failed", "dead"); run.Status != "succeeded" {
			t.Errorf("%s: run %s (%v), want succeeded", name, run.Status, run.Error)
		}
		var stored []byte
		err := s.db.InTenantTx(context.Background(), uuid.MustParse(acme.ID), func(q postgres.Querier) error {
			return q.GetContext(context.Background(), &stored, `SELECT body FROM runs WHERE id = $1`, acc.RunID)
		})
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(stored) != sha256.Sum256([]byte(body)) {
			t.Errorf("%s: stored body differs from the one sent (%d vs %d bytes)", name, len(stored), len(body))
		}
	}
	if strings.Contains(s.logs.String(), "panic") {
		t.Error("a panic was logged")
	}
}

// A management API key does not open an intake URL, and an intake token is
// not a management key; hostile path parts are plain 404s.
func TestKeysAndTokensDoNotCrossAndHostilePathsAre404(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow))
	token := url[strings.LastIndex(url, "/")+1:]
	base := url[:strings.LastIndex(url, "/")+1]

	if r := s.do("POST", base+acme.Key, "", "application/json", `{}`); r.Status != 404 {
		t.Errorf("a management key in place of an intake token = %d, want 404", r.Status)
	}
	if r := s.do("POST", base+"nope", acme.Key, "application/json", `{}`, "Authorization", "Bearer "+acme.Key); r.Status != 404 {
		t.Errorf("a bad token with a management key in Authorization = %d, want 404", r.Status)
	}
	if r := s.do("GET", "/api/v1/runs", token, "", nil); r.Status != 401 {
		t.Errorf("an intake token as a management key = %d %s, want 401", r.Status, r.Body)
	}
	hostile := []string{
		base + "..%2f..%2fetc%2fpasswd",
		base + strings.Repeat("a", 5000),
		base + "%00",
		base + "%e2%80%ae" + token,
		strings.Replace(base, acme.ID, "not-a-uuid", 1) + token,
		strings.Replace(base, acme.ID, uuid.NewString(), 1) + token,
		base + token + "/extra",
	}
	for _, u := range hostile {
		r := s.do("POST", u, "", "application/json", bytes.Repeat([]byte("x"), 10))
		if r.Status != 404 && r.Status != 405 {
			t.Errorf("POST %s = %d %s, want 404", u, r.Status, r.Body)
		}
	}
	var n int
	err := s.db.InTenantTx(context.Background(), uuid.MustParse(acme.ID), func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &n, `SELECT count(*) FROM runs`)
	})
	if err != nil || n != 0 {
		t.Errorf("runs after refused requests = %d (%v), want 0", n, err)
	}
}

// A delivery replayed inside the timestamp window is a duplicate (200, the
// same run); the same delivery signed outside the window, in the past or
// the future, is refused as stale and makes no run.
func TestReplaysInsideTheWindowAreDuplicatesAndOutsideAreRefused(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url, id, secret := s.signedEndpoint(acme.Key, s.createWorkflow(acme.Key, echoWorkflow), map[string]any{"scheme": "standard-webhooks"})
	settings := signature.Settings{Scheme: "standard-webhooks"}
	body := `{"order":1}`

	inside := signed(t, settings, secret, "msg_window", time.Now().Add(-4*time.Minute), body)
	status, first := s.post(url, body, inside...)
	if status != 202 {
		t.Fatalf("delivery signed 4 min ago = %d, want 202 (inside the 5 min window)", status)
	}
	if again, same := s.post(url, body, inside...); again != 200 || same != first {
		t.Errorf("replay inside the window = %d %s, want 200 with run %s", again, same, first)
	}
	for _, at := range []time.Duration{-6 * time.Minute, 6 * time.Minute} {
		stale := signed(t, settings, secret, "msg_stale", time.Now().Add(at), body)
		if r := s.do("POST", url, "", "application/json", body, stale...); r.Status != 401 {
			t.Errorf("delivery signed %s from now = %d, want 401", at, r.Status)
		}
	}
	log, err := s.client(acme.Key).ListEndpointRejectionsPage(context.Background(), id, aias.ListOptions{})
	if err != nil || len(log.Data) != 2 || log.Data[0].Reason != "stale_timestamp" || log.Data[1].Reason != "stale_timestamp" {
		t.Errorf("rejections = %+v, want two stale_timestamp", log.Data)
	}
	var runs int
	err = s.db.InTenantTx(context.Background(), uuid.MustParse(acme.ID), func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &runs, `SELECT count(*) FROM runs`)
	})
	if err != nil || runs != 1 {
		t.Errorf("runs = %d (%v), want 1", runs, err)
	}
}
