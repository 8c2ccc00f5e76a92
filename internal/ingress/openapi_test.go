package ingress_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"aias/docs"
	"aias/internal/ingress"
	"aias/internal/telemetry"
)

// fullServer registers the routes without Postgres or Redis: registering
// routes touches neither. Every route of the public port is documented;
// the ops listener (ingress.Ops) is another server, for operators: metrics,
// readiness and the queue dashboard are not the API.
func fullServer(t *testing.T) *ingress.Server {
	t.Helper()
	return ingress.New(ingress.Deps{Metrics: telemetry.New(), Log: zerolog.Nop()}, ingress.Options{})
}

func loadDocument(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatalf("load docs/openapi.yaml: %v", err)
	}
	return doc
}

// echoParam is an Echo path parameter (":id").
var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// documentPath turns an Echo route pattern into the document's path template.
func documentPath(echoPath string) string { return echoParam.ReplaceAllString(echoPath, "{$1}") }

// registeredOperations are "METHOD /path/{param}" of every route the server
// answers, but the console's pages: HTML for people, not the API.
func registeredOperations(t *testing.T) map[string]bool {
	t.Helper()
	pages := map[string]bool{}
	for _, r := range ingress.RouteRules() {
		if r.Page {
			pages[r.Method+" "+r.Path] = true
		}
	}
	ops := map[string]bool{}
	for _, r := range fullServer(t).Routes() {
		if r.Method == echo.RouteNotFound || pages[r.Method+" "+r.Path] {
			continue
		}
		ops[r.Method+" "+documentPath(r.Path)] = true
	}
	return ops
}

func documentedOperations(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op
		}
	}
	return ops
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestOpenAPIDocumentIsAValidOpenAPI31Document(t *testing.T) {
	t.Parallel()
	doc := loadDocument(t)
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Errorf("docs/openapi.yaml does not validate:\n%v", err)
	}
}

func TestEveryRegisteredRouteHasAnOperation(t *testing.T) {
	t.Parallel()
	documented := documentedOperations(loadDocument(t))
	registered := registeredOperations(t)
	if len(registered) < 40 {
		t.Fatalf("only %d routes registered; want the whole API", len(registered))
	}
	for _, k := range sortedKeys(registered) {
		if documented[k] == nil {
			t.Errorf("route %s has no operation in docs/openapi.yaml", k)
		}
	}
}

func TestEveryOperationHasARegisteredRoute(t *testing.T) {
	t.Parallel()
	registered := registeredOperations(t)
	for _, k := range sortedKeys(documentedOperations(loadDocument(t))) {
		if !registered[k] {
			t.Errorf("docs/openapi.yaml has operation %s, but the server has no such route", k)
		}
	}
}

// TestOperationRolesMatchTheRouteTable holds the document to the route
// table, which is what the server enforces: an operation of a route in the
// table names its minimum role (x-aias-role, and its description's first
// words) and takes an API key or a session; every other operation is
// public.
func TestOperationRolesMatchTheRouteTable(t *testing.T) {
	t.Parallel()
	doc := loadDocument(t)
	documented := documentedOperations(doc)
	rules := map[string]ingress.RouteRule{}
	for _, r := range ingress.RouteRules() {
		if !r.Public && !r.Page {
			rules[r.Method+" "+documentPath(r.Path)] = r
		}
	}
	for _, k := range sortedKeys(rules) {
		if documented[k] == nil {
			t.Errorf("route table entry %s has no operation in docs/openapi.yaml", k)
		}
	}
	for _, k := range sortedKeys(documented) {
		op := documented[k]
		role, hasRole := op.Extensions["x-aias-role"]
		rule, guarded := rules[k]
		switch {
		case guarded && role != string(rule.MinRole):
			t.Errorf("%s: x-aias-role = %v, want %q (the route table's)", k, role, rule.MinRole)
		case guarded && !strings.HasPrefix(op.Description, "Role: "+string(rule.MinRole)):
			t.Errorf("%s: description starts %q, want \"Role: %s…\"", k, firstLine(op.Description), rule.MinRole)
		case guarded && !takesKeyOrSession(doc, op):
			t.Errorf("%s: security = %v, want an API key or a session", k, effectiveSecurity(doc, op))
		case !guarded && hasRole:
			t.Errorf("%s: x-aias-role = %v, but the route table does not guard it (the route is public)", k, role)
		case !guarded && len(effectiveSecurity(doc, op)) != 0:
			t.Errorf("%s: security = %v, but the route is public; want security: []", k, effectiveSecurity(doc, op))
		}
	}
}

func effectiveSecurity(doc *openapi3.T, op *openapi3.Operation) openapi3.SecurityRequirements {
	if op.Security != nil {
		return *op.Security
	}
	return doc.Security
}

// takesKeyOrSession reports whether op is satisfied by an API key alone or
// by a session alone, and by nothing weaker.
func takesKeyOrSession(doc *openapi3.T, op *openapi3.Operation) bool {
	var got []string
	for _, req := range effectiveSecurity(doc, op) {
		got = append(got, strings.Join(sortedKeys(req), "+"))
	}
	sort.Strings(got)
	return cmp.Equal(got, []string{"apiKey", "session"})
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestOpenAPIDocumentIsServedPubliclyAsJSONAndYAML(t *testing.T) {
	t.Parallel()
	h := fullServer(t).Handler()
	get := func(path string) (*http.Response, []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil)) // no key: the document is public
		res := rec.Result()
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}

	res, body := get("/api/openapi.json")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json = %d %q %.200s, want 200 application/json", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	served, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load served JSON: %v", err)
	}
	// The served JSON must say what the YAML says to a YAML 1.2 reader (the
	// loader's): a scalar YAML 1.1 reads differently ("on", "no", 0777)
	// would otherwise change meaning on the way.
	if diff := cmp.Diff(marshal(t, loadDocument(t)), marshal(t, served)); diff != "" {
		t.Errorf("GET /api/openapi.json differs from docs/openapi.yaml (-yaml +json):\n%s", diff)
	}

	res, body = get("/api/openapi.yaml")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /api/openapi.yaml = %d %q, want 200 application/yaml", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if string(body) != string(docs.OpenAPI) {
		t.Errorf("GET /api/openapi.yaml is not docs/openapi.yaml byte for byte")
	}
}

func marshal(t *testing.T, doc *openapi3.T) map[string]any {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
