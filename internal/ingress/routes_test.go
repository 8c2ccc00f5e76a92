package ingress

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"aias/internal/errs"
	"aias/internal/telemetry"
)

// routeTableServer builds a Server without Postgres or Redis: New must not
// touch its dependencies while registering routes.
func routeTableServer(t *testing.T, o Options) *Server {
	t.Helper()
	var s *Server
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("New(nil db, nil redis, nil queue, ...) panicked: %v", v)
			}
		}()
		s = New(Deps{Metrics: telemetry.New(), Log: zerolog.Nop()}, o)
	}()
	return s
}

func routeKey(method, path string) string { return method + " " + path }

// registeredKeys are "METHOD /path" of every route s answers, sorted.
// Echo's own route-not-found catch-alls are not routes of ours.
func registeredKeys(s *Server) []string {
	var keys []string
	for _, r := range s.Routes() {
		if r.Method != echo.RouteNotFound {
			keys = append(keys, routeKey(r.Method, r.Path))
		}
	}
	sort.Strings(keys)
	return keys
}

func tableKeys() []string {
	var keys []string
	for _, r := range routeTable {
		keys = append(keys, routeKey(r.method, r.path))
	}
	sort.Strings(keys)
	return keys
}

// The table is the complete list of the public port's routes: the server
// registers its entries and nothing else.
func TestTheServerRegistersExactlyTheRouteTable(t *testing.T) {
	t.Parallel()
	got := registeredKeys(routeTableServer(t, Options{}))
	if len(got) < 40 {
		t.Fatalf("%d routes registered; want the whole API", len(got))
	}
	if diff := cmp.Diff(tableKeys(), got); diff != "" {
		t.Errorf("registered routes differ from the route table (-table +registered):\n%s", diff)
	}
}

func TestRouteTableEntriesAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, k := range tableKeys() {
		if seen[k] {
			t.Errorf("route %s is in the table twice (Echo keeps the last handler)", k)
		}
		seen[k] = true
	}
}

// A route is public, or it names the least role of a key; a guarded route
// whose path names an object says which kind (and only then), so a key
// below the role gets 404 for another tenant's object.
func TestEveryRouteIsPublicOrNamesAValidRole(t *testing.T) {
	t.Parallel()
	for _, r := range routeTable {
		k := routeKey(r.method, r.path)
		if r.access.public {
			if r.access.min != "" || r.access.object != "" {
				t.Errorf("%s is public but names a role %q or an object %q", k, r.access.min, r.access.object)
			}
			continue
		}
		if !r.access.min.Valid() {
			t.Errorf("%s: role %q, want a valid role", k, r.access.min)
		}
		if hasParam := strings.Contains(r.path, "/:"); hasParam != (r.access.object != "") {
			t.Errorf("%s: object %q; a route naming an object must say its kind (and only then)", k, r.access.object)
		}
		if r.access.object != "" && existsQuery[r.access.object] == "" {
			t.Errorf("%s: object %q has no existence query", k, r.access.object)
		}
		if !strings.HasPrefix(r.path, "/api/v1/") && !r.access.page {
			t.Errorf("%s takes a key but is outside /api/v1/", k)
		}
		if r.access.page && strings.HasPrefix(r.path, "/api/") {
			t.Errorf("%s is a console page under /api/", k)
		}
	}
}

func TestRouteTablePathsAreCleanEchoPatterns(t *testing.T) {
	t.Parallel()
	methods := map[string]bool{
		http.MethodGet: true, http.MethodPost: true, http.MethodPut: true,
		http.MethodPatch: true, http.MethodDelete: true,
	}
	for _, r := range routeTable {
		switch p := r.path; {
		case !methods[r.method]:
			t.Errorf("%s %s: method %q is not an upper-case HTTP method", r.method, p, r.method)
		case !strings.HasPrefix(p, "/"), strings.ContainsAny(p, " \t?#*"), strings.HasSuffix(p, "/") && p != "/", strings.Contains(p, "//"):
			t.Errorf("%s %s: not a clean Echo route pattern", r.method, p)
		}
	}
}

// Deny by default: every guarded route answers 401 to a request without a
// key — the check ran before the handler, which would need Postgres — and
// every guarded console page sends the browser to /login and back.
func TestEveryGuardedRouteRefusesARequestWithoutAKey(t *testing.T) {
	t.Parallel()
	h := routeTableServer(t, Options{}).Handler()
	for _, r := range RouteRules() {
		if r.Public {
			continue
		}
		path := strings.NewReplacer(":id", "00000000-0000-0000-0000-000000000001", ":name", "X").Replace(r.Path)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(r.Method, path, nil))
		if r.Page {
			if want := "/login?next=" + url.QueryEscape(path); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
				t.Errorf("page %s signed out = %d Location %q, want 303 to %s", path, rec.Code, rec.Header().Get("Location"), want)
			}
			continue
		}
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"code":"unauthorized"`) {
			t.Errorf("%s %s without a key = %d %s, want 401 unauthorized", r.Method, path, rec.Code, rec.Body)
		}
	}
}

func TestSignupPlansAndTheIntakeArePublic(t *testing.T) {
	t.Parallel()
	public := map[string]bool{}
	for _, r := range RouteRules() {
		if r.Public {
			public[routeKey(r.Method, r.Path)] = true
		}
	}
	for _, k := range []string{"POST /api/v1/signup", "GET /api/v1/plans", "POST /api/webhooks/:tenant_id/:token",
		"POST /api/stripe/webhook", "GET /healthz", "GET /api/openapi.json", "GET /api/openapi.yaml"} {
		if !public[k] {
			t.Errorf("%s is not a public route of the table", k)
		}
	}
}

func TestRouteRulesListTheWholeTableSorted(t *testing.T) {
	t.Parallel()
	rules := RouteRules()
	if len(rules) != len(routeTable) {
		t.Fatalf("RouteRules() has %d entries, want the table's %d", len(rules), len(routeTable))
	}
	var keys []string
	for i, r := range rules {
		keys = append(keys, routeKey(r.Method, r.Path))
		if i > 0 && (rules[i-1].Path > r.Path || rules[i-1].Path == r.Path && rules[i-1].Method > r.Method) {
			t.Errorf("RouteRules()[%d] = %s %s is out of order", i, r.Method, r.Path)
		}
	}
	sort.Strings(keys)
	if diff := cmp.Diff(tableKeys(), keys); diff != "" {
		t.Errorf("RouteRules() differs from the table (-table +rules):\n%s", diff)
	}
}

// An extra route is served beside the table, without a key, behind the
// same middleware (the request id shows it), and an error it returns is
// answered as problem+json like any route's.
func TestExtraRoutesAreServedBehindTheSameMiddleware(t *testing.T) {
	t.Parallel()
	extra := func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Query().Get("fail") != "" {
			return errs.E(errs.Unauthorized, "invalid_signature", "the request could not be verified")
		}
		w.WriteHeader(http.StatusAccepted)
		_, err := fmt.Fprint(w, "extra")
		return err
	}
	s := routeTableServer(t, Options{Extra: []ExtraRoute{{Method: http.MethodPost, Path: "/tool/x", Handle: extra}}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/tool/x", nil))
	if rec.Code != http.StatusAccepted || rec.Body.String() != "extra" || rec.Header().Get(echo.HeaderXRequestID) == "" {
		t.Errorf("POST /tool/x = %d %q (X-Request-ID %q), want 202 \"extra\" with a request id",
			rec.Code, rec.Body, rec.Header().Get(echo.HeaderXRequestID))
	}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/tool/x?fail=1", nil))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get(echo.HeaderContentType) != "application/problem+json" ||
		!strings.Contains(rec.Body.String(), `"code":"invalid_signature"`) {
		t.Errorf("POST /tool/x?fail=1 = %d %s %s, want 401 problem+json invalid_signature", rec.Code, rec.Header().Get(echo.HeaderContentType), rec.Body)
	}
	want := append(tableKeys(), "POST /tool/x")
	sort.Strings(want)
	if diff := cmp.Diff(want, registeredKeys(s)); diff != "" {
		t.Errorf("registered routes (-want +got):\n%s", diff)
	}
}

// A tool's route may neither shadow nor extend the API.
func TestExtraRoutesCannotShadowOrExtendTheAPI(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/api/v1/me", "/api/v1/new", "/api/webhooks/:tenant_id/:token", "/healthz"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with an extra route on %s did not refuse it", path)
				}
			}()
			New(Deps{Metrics: telemetry.New(), Log: zerolog.Nop()},
				Options{Extra: []ExtraRoute{{Method: http.MethodGet, Path: path, Handle: func(http.ResponseWriter, *http.Request) error { return nil }}}})
		}()
	}
}
