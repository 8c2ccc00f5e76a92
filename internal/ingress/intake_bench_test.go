package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"aias/internal/ingress"
	"aias/internal/keyring"
	"aias/internal/postgres"
	"aias/internal/queue"
	"aias/internal/signature"
	"aias/internal/telemetry"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
	"aias/internal/tools/bench/floor"
)

// BenchmarkIntake is one signed 4 KB delivery through the real intake
// handler: endpoint lookup, Standard Webhooks verification, the monthly
// quota (real-quota: a plan with one; real: an unlimited plan), the run row
// committed, the enqueue. Postgres and Redis are the real ones, so the
// figure includes their round trips; the bench's floor route runs beside
// it, added as 'aias bench ingress' adds it.
func BenchmarkIntake(b *testing.B) {
	h, eps := intakeServer(b)
	floorKey, _ := signature.KeyBytes(signature.StandardWebhooks, floor.Secret)
	pad := strings.Repeat("x", 4096)
	for _, c := range []struct {
		name, path string
		key        signature.Secret
	}{{"real", eps["business"].path, eps["business"].key}, {"real-quota", eps["pro"].path, eps["pro"].key},
		{"floor", floor.Path, floorKey}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				id := fmt.Sprintf("b-%s-%d-%d", c.name, time.Now().UnixNano(), i)
				body := fmt.Appendf(nil, `{"id":%q,"total":120,"pad":%q}`, id, pad)
				hd, err := signature.Sign(signature.Settings{Scheme: signature.StandardWebhooks}, c.key, id, time.Now(), body)
				if err != nil {
					b.Fatal(err)
				}
				req := httptest.NewRequest(http.MethodPost, c.path, bytes.NewReader(body))
				req.Header = hd
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					b.Fatalf("POST %s = %d %s, want 202", c.path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// benchEndpoint is a signed endpoint's path and signing key.
type benchEndpoint struct {
	path string
	key  signature.Secret
}

// intakeServer is an ingress on a fresh database and Redis DB with a signed
// endpoint for a tenant on each of the business (unlimited runs) and pro
// (a monthly quota) plans, by plan name.
func intakeServer(b *testing.B) (http.Handler, map[string]benchEndpoint) {
	b.Helper()
	ctx := context.Background()
	pg := pgtest.New(b)
	owner, err := postgres.Open(ctx, pg.OwnerURL, 2)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = owner.Close() })
	if _, err := owner.ExecContext(ctx, floor.Table); err != nil {
		b.Fatal(err)
	}
	opt, err := queue.RedisOpt(redistest.New(b))
	if err != nil {
		b.Fatal(err)
	}
	rdb := opt.MakeRedisClient().(redis.UniversalClient)
	qc := queue.NewClient(opt)
	b.Cleanup(func() { _ = qc.Close(); _ = rdb.Close() })
	keys, err := keyring.Parse("b1:" + "YWlhcy1iZW5jaC1vbmx5LWtleS0zMi1ieXRlcyEhISE=")
	if err != nil {
		b.Fatal(err)
	}
	s := ingress.New(ingress.Deps{DB: pg.DB, Redis: rdb, Queue: qc, Keys: keys, Metrics: telemetry.New(), Log: zerolog.Nop()},
		ingress.Options{PublicURL: "http://bench", MaxBodyBytes: 1 << 20, MaxBodyLimit: 1 << 20, SignupEnabled: true,
			EndpointCacheTTL: time.Second, Extra: []ingress.ExtraRoute{floor.Route(pg.DB, qc)}})
	h := s.Handler()
	eps := map[string]benchEndpoint{}
	for _, planName := range []string{"business", "pro"} {
		var su struct {
			TenantID string `json:"tenant_id"`
			APIKey   string `json:"api_key"`
		}
		do(b, h, "/api/v1/signup", "", "application/json", fmt.Sprintf(`{"email":"%s@example.com","tenant_name":%q}`, planName, planName), &su)
		if _, err := owner.ExecContext(ctx, `UPDATE tenants SET plan = $2 WHERE id = $1`, su.TenantID, planName); err != nil {
			b.Fatal(err)
		}
		var wf struct{ ID string }
		do(b, h, "/api/v1/workflows", su.APIKey, "application/yaml",
			"name: b\nsteps:\n  - name: t\n    type: transform\n    with: { output: { id: \"trigger.body.id\" } }\n", &wf)
		var ep struct {
			URL    string `json:"url"`
			Secret string `json:"signing_secret"`
		}
		do(b, h, "/api/v1/webhook-endpoints", su.APIKey, "application/json",
			fmt.Sprintf(`{"workflow_id":%q,"name":"b","verification":{"scheme":"standard-webhooks"}}`, wf.ID), &ep)
		key, err := signature.KeyBytes(signature.StandardWebhooks, ep.Secret)
		if err != nil {
			b.Fatal(err)
		}
		eps[planName] = benchEndpoint{path: strings.TrimPrefix(ep.URL, "http://bench"), key: key}
	}
	return h, eps
}

func do(b *testing.B, h http.Handler, path, key, ct, body string, out any) {
	b.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		b.Fatalf("POST %s = %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		b.Fatal(err)
	}
}
