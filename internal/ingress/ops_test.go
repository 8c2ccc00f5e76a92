package ingress

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"aias/internal/telemetry"
)

const opsToken = "an-operator-token-of-32-characters!"

// opsHandler is the ops listener with a stand-in dashboard that counts the
// requests reaching it (the real asynqmon needs Redis; these tests are
// about who gets through).
func opsHandler(t *testing.T) (http.Handler, *atomic.Int32) {
	t.Helper()
	var reached atomic.Int32
	dash := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	return Ops(OpsDeps{Metrics: telemetry.New(), Log: zerolog.Nop()}, OpsOptions{OperatorToken: opsToken, Dashboard: dash}), &reached
}

func serve(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMetricsAndTheDashboardAreNotOnThePublicPort(t *testing.T) {
	t.Parallel()
	public := routeTableServer(t, Options{}).Handler()
	ops, _ := opsHandler(t)
	for _, path := range []string{"/metrics", "/readyz", "/admin/queues", "/admin/queues/api/queues"} {
		if rec := serve(public, "GET", path, "Authorization", "Bearer "+opsToken); rec.Code != http.StatusNotFound {
			t.Errorf("public GET %s = %d, want 404", path, rec.Code)
		}
	}
	if rec := serve(public, "GET", "/healthz"); rec.Code != http.StatusOK {
		t.Errorf("public GET /healthz = %d, want 200 (load balancers check the port they route to)", rec.Code)
	}
	for _, path := range []string{"/metrics", "/healthz", "/admin/queues"} {
		if rec := serve(ops, "GET", path, "Authorization", "Bearer "+opsToken); rec.Code != http.StatusOK {
			t.Errorf("ops GET %s = %d %s, want 200", path, rec.Code, rec.Body)
		}
	}
}

// A page on another site must not be able to use the operator's cached
// Basic credentials to change the queues (pause them all, say).
func TestTheDashboardTakesChangesOnlyFromTheOperator(t *testing.T) {
	t.Parallel()
	const pause = "/admin/queues/api/queues/default:pause"
	basic := "Basic " + basicAuth("operator", opsToken)
	bearer := "Bearer " + opsToken
	tests := []struct {
		name   string
		method string
		header []string
		want   int
	}{
		{"Basic GET (a browser opening the dashboard)", "GET", []string{"Authorization", basic}, 200},
		{"Basic POST without browser headers", "POST", []string{"Authorization", basic}, 403},
		{"Basic POST from another site", "POST", []string{"Authorization", basic, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"Basic POST from a sibling subdomain", "POST", []string{"Authorization", basic, "Sec-Fetch-Site", "same-site", "Origin", "https://evil.example.com"}, 403},
		{"Basic POST from an older browser on another site", "POST", []string{"Authorization", basic, "Origin", "https://evil.example"}, 403},
		{"Basic DELETE from another site", "DELETE", []string{"Authorization", basic, "Sec-Fetch-Site", "cross-site"}, 403},
		{"Basic POST from the dashboard's own page", "POST", []string{"Authorization", basic, "Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"}, 200},
		{"Basic POST from the dashboard's page, older browser", "POST", []string{"Authorization", basic, "Origin", "http://example.com"}, 200},
		{"Bearer POST (a script)", "POST", []string{"Authorization", bearer}, 200},
		{"Bearer POST marked cross-site", "POST", []string{"Authorization", bearer, "Sec-Fetch-Site", "cross-site"}, 403},
		{"POST with a wrong token", "POST", []string{"Authorization", "Bearer not-the-token"}, 401},
		{"POST without a token", "POST", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, reached := opsHandler(t)
			rec := serve(h, tt.method, pause, tt.header...) // httptest's Host is example.com
			if rec.Code != tt.want {
				t.Errorf("%s %s = %d %s, want %d", tt.method, pause, rec.Code, rec.Body, tt.want)
			}
			if got := reached.Load() == 1; got != (tt.want == 200) {
				t.Errorf("the dashboard was reached: %v, want %v", got, tt.want == 200)
			}
			if tt.want == 403 && !strings.Contains(rec.Body.String(), `"code":"forbidden"`) {
				t.Errorf("body = %s, want a problem with code forbidden", rec.Body)
			}
		})
	}
}

func basicAuth(user, pass string) string {
	req := httptest.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// The ops table is the ops listener's complete list of routes; the
// dashboard's are there only with a token and a dashboard, and never
// without the token.
func TestTheOpsListenerServesItsTableAndNoDashboardWithoutAToken(t *testing.T) {
	t.Parallel()
	deps := OpsDeps{Metrics: telemetry.New(), Log: zerolog.Nop()}
	dash := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, tt := range []struct {
		name string
		opt  OpsOptions
		want map[string]int // GET path → status without a token
	}{
		{"with the dashboard", OpsOptions{OperatorToken: opsToken, Dashboard: dash},
			map[string]int{"/metrics": 200, "/healthz": 200, "/admin/queues": 401, "/admin/queues/api/queues": 401, "/nowhere": 404}},
		{"without a token", OpsOptions{Dashboard: dash},
			map[string]int{"/metrics": 200, "/healthz": 200, "/admin/queues": 404, "/admin/queues/api/queues": 404}},
		{"without a dashboard", OpsOptions{OperatorToken: opsToken},
			map[string]int{"/metrics": 200, "/admin/queues": 404}},
	} {
		h := Ops(deps, tt.opt)
		for path, want := range tt.want {
			if rec := serve(h, "GET", path); rec.Code != want {
				t.Errorf("%s: GET %s = %d, want %d", tt.name, path, rec.Code, want)
			}
		}
	}
	for _, r := range opsTable {
		if r.operator != strings.HasPrefix(r.path, "/admin/") {
			t.Errorf("ops route %s: operator = %v; the dashboard's routes and only they need the token", r.path, r.operator)
		}
	}
}
