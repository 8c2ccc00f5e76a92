package ingress

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"aias/internal/telemetry"
)

// routeTableServer builds a Server without Postgres or Redis: New must not
// touch its dependencies while registering routes.
func routeTableServer(t *testing.T) *Server {
	t.Helper()
	var s *Server
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("New(nil db, nil redis, nil queue, ...) panicked: %v", v)
			}
		}()
		s = New(Deps{Metrics: telemetry.New(), Log: zerolog.Nop()}, Options{})
	}()
	return s
}

// apiRouteKeys returns routeKey of every registered /api/v1 route that the
// authenticate middleware guards, sorted. Echo's own route-not-found
// catch-alls are not routes a client can be granted.
func apiRouteKeys(s *Server) []string {
	var keys []string
	for _, r := range s.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/v1/") || public[routeKey(r.Method, r.Path)] {
			continue
		}
		keys = append(keys, routeKey(r.Method, r.Path))
	}
	sort.Strings(keys)
	return keys
}

func TestEveryAPIRouteHasAMinimumRole(t *testing.T) {
	t.Parallel()
	s := routeTableServer(t)
	keys := apiRouteKeys(s)
	if len(keys) == 0 {
		t.Fatalf("no /api/v1 routes registered; want the management API")
	}
	for _, k := range keys {
		if _, ok := routeTable[k]; !ok {
			t.Errorf("route %q is registered but has no minRole entry (it would answer 403 to every key)", k)
		}
	}
}

func TestEveryMinimumRoleNamesARegisteredRoute(t *testing.T) {
	t.Parallel()
	s := routeTableServer(t)
	registered := map[string]bool{}
	for _, k := range apiRouteKeys(s) {
		registered[k] = true
	}
	for k := range routeTable {
		if !registered[k] {
			t.Errorf("routeTable[%q] names no registered route (stale or misspelled entry)", k)
		}
	}
}

func TestMinimumRolesAreValid(t *testing.T) {
	t.Parallel()
	for k, r := range routeTable {
		if !r.min.Valid() {
			t.Errorf("routeTable[%q].min = %q, want a valid role", k, r.min)
		}
		hasParam := strings.Contains(k, "/:")
		if hasParam != (r.object != "") {
			t.Errorf("routeTable[%q].object = %q; a route naming an object must say its kind (and only then)", k, r.object)
		}
		if r.object != "" && existsQuery[r.object] == "" {
			t.Errorf("routeTable[%q].object = %q has no existence query", k, r.object)
		}
	}
}

func TestSignupIsPublic(t *testing.T) {
	t.Parallel()
	s := routeTableServer(t)
	key := routeKey(http.MethodPost, "/api/v1/signup")
	if _, ok := routeTable[key]; ok {
		t.Errorf("routeTable[%q] exists, want signup outside the authenticated API", key)
	}
	found := false
	for _, r := range s.Routes() {
		if routeKey(r.Method, r.Path) == key {
			found = true
		}
	}
	if !found {
		t.Errorf("route %q is not registered", key)
	}
}

func TestRouteKeyFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path, want string
	}{
		{http.MethodGet, "/api/v1/me", "GET /api/v1/me"},
		{http.MethodDelete, "/api/v1/workflows/:id", "DELETE /api/v1/workflows/:id"},
	}
	for _, tt := range tests {
		if got := routeKey(tt.method, tt.path); got != tt.want {
			t.Errorf("routeKey(%q, %q) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
	methods := map[string]bool{
		http.MethodGet: true, http.MethodPost: true, http.MethodPut: true,
		http.MethodPatch: true, http.MethodDelete: true,
	}
	for k := range routeTable {
		method, path, ok := strings.Cut(k, " ")
		switch {
		case !ok:
			t.Errorf("minRole key %q has no space between method and path", k)
		case !methods[method]:
			t.Errorf("minRole key %q: method %q is not an upper-case HTTP method", k, method)
		case !strings.HasPrefix(path, "/api/v1/"):
			t.Errorf("minRole key %q: path %q is outside /api/v1/", k, path)
		case strings.ContainsAny(path, " \t?#") || strings.HasSuffix(path, "/") || strings.Contains(path, "//"):
			t.Errorf("minRole key %q: path %q is not a clean Echo route pattern", k, path)
		case routeKey(method, path) != k:
			t.Errorf("routeKey(%q, %q) = %q, want the key %q it was split from", method, path, routeKey(method, path), k)
		}
	}
}

// public routes are served without a key, on purpose.
var public = map[string]bool{
	routeKey(http.MethodPost, "/api/v1/signup"): true,
	routeKey(http.MethodGet, "/api/v1/plans"):   true,
}
