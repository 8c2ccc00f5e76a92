package ingress

import (
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"aias/internal/auth"
)

// rule is who may call a route, and which kind of object its :id (or
// :name) names. The object kind lets a key whose role is too low still get
// 404 for another tenant's object: a 403 would confirm that it exists.
type rule struct {
	min    auth.Role
	object string // "" when the route names no object
}

// Object kinds named by route parameters.
const (
	objWorkflow = "workflow"
	objEndpoint = "endpoint"
	objRun      = "run"
	objArtifact = "artifact"
	objAPIKey   = "api_key"
	objSecret   = "secret"
)

// routeTable is the single source of truth for who may call each /api/v1
// route. A route missing here is refused (deny by default); a test checks
// that every registered route has an entry and every entry a route.
var routeTable = map[string]rule{
	routeKey(http.MethodGet, "/api/v1/me"):    {auth.Viewer, ""},
	routeKey(http.MethodGet, "/api/v1/usage"): {auth.Viewer, ""},

	routeKey(http.MethodPost, "/api/v1/workflows"):             {auth.Member, ""},
	routeKey(http.MethodGet, "/api/v1/workflows"):              {auth.Viewer, ""},
	routeKey(http.MethodGet, "/api/v1/workflows/:id"):          {auth.Viewer, objWorkflow},
	routeKey(http.MethodPut, "/api/v1/workflows/:id"):          {auth.Member, objWorkflow},
	routeKey(http.MethodDelete, "/api/v1/workflows/:id"):       {auth.Member, objWorkflow},
	routeKey(http.MethodGet, "/api/v1/workflows/:id/versions"): {auth.Viewer, objWorkflow},
	routeKey(http.MethodPost, "/api/v1/workflows/:id/runs"):    {auth.Member, objWorkflow},

	routeKey(http.MethodPost, "/api/v1/webhook-endpoints"):               {auth.Admin, ""},
	routeKey(http.MethodGet, "/api/v1/webhook-endpoints"):                {auth.Viewer, ""},
	routeKey(http.MethodGet, "/api/v1/webhook-endpoints/:id"):            {auth.Viewer, objEndpoint},
	routeKey(http.MethodPatch, "/api/v1/webhook-endpoints/:id"):          {auth.Admin, objEndpoint},
	routeKey(http.MethodDelete, "/api/v1/webhook-endpoints/:id"):         {auth.Admin, objEndpoint},
	routeKey(http.MethodPost, "/api/v1/webhook-endpoints/:id/rotate"):    {auth.Admin, objEndpoint},
	routeKey(http.MethodGet, "/api/v1/webhook-endpoints/:id/rejections"): {auth.Admin, objEndpoint},

	routeKey(http.MethodGet, "/api/v1/runs"):               {auth.Viewer, ""},
	routeKey(http.MethodGet, "/api/v1/runs/:id"):           {auth.Viewer, objRun},
	routeKey(http.MethodGet, "/api/v1/runs/:id/steps"):     {auth.Viewer, objRun},
	routeKey(http.MethodGet, "/api/v1/runs/:id/artifacts"): {auth.Viewer, objRun},
	routeKey(http.MethodPost, "/api/v1/runs/:id/replay"):   {auth.Member, objRun},
	routeKey(http.MethodPost, "/api/v1/runs/:id/redrive"):  {auth.Member, objRun},
	routeKey(http.MethodPost, "/api/v1/runs/:id/cancel"):   {auth.Member, objRun},
	routeKey(http.MethodPost, "/api/v1/runs/replay"):       {auth.Member, ""},
	routeKey(http.MethodPost, "/api/v1/runs/redrive"):      {auth.Member, ""},

	routeKey(http.MethodGet, "/api/v1/artifacts/:id"):          {auth.Viewer, objArtifact},
	routeKey(http.MethodGet, "/api/v1/artifacts/:id/download"): {auth.Viewer, objArtifact},

	routeKey(http.MethodPost, "/api/v1/api-keys"):       {auth.Admin, ""},
	routeKey(http.MethodGet, "/api/v1/api-keys"):        {auth.Admin, ""},
	routeKey(http.MethodDelete, "/api/v1/api-keys/:id"): {auth.Admin, objAPIKey},

	routeKey(http.MethodPut, "/api/v1/secrets/:name"):    {auth.Admin, objSecret},
	routeKey(http.MethodGet, "/api/v1/secrets"):          {auth.Admin, ""},
	routeKey(http.MethodDelete, "/api/v1/secrets/:name"): {auth.Admin, objSecret},
	routeKey(http.MethodPost, "/api/v1/callback-secret"): {auth.Admin, ""},
	routeKey(http.MethodGet, "/api/v1/callback-secret"):  {auth.Admin, ""},

	routeKey(http.MethodGet, "/api/v1/audit"):       {auth.Admin, ""},
	routeKey(http.MethodGet, "/api/v1/diagnostics"): {auth.Admin, ""},

	routeKey(http.MethodGet, "/api/v1/billing"):           {auth.Admin, ""},
	routeKey(http.MethodPost, "/api/v1/billing/checkout"): {auth.Owner, ""},
	routeKey(http.MethodPost, "/api/v1/billing/portal"):   {auth.Owner, ""},
}

func routeKey(method, path string) string { return method + " " + path }

// authenticated registers routes behind the authentication middleware.
type authenticated struct {
	g    *echo.Group
	auth echo.MiddlewareFunc
}

func (a authenticated) GET(p string, h echo.HandlerFunc)    { a.g.GET(p, h, a.auth) }
func (a authenticated) POST(p string, h echo.HandlerFunc)   { a.g.POST(p, h, a.auth) }
func (a authenticated) PUT(p string, h echo.HandlerFunc)    { a.g.PUT(p, h, a.auth) }
func (a authenticated) PATCH(p string, h echo.HandlerFunc)  { a.g.PATCH(p, h, a.auth) }
func (a authenticated) DELETE(p string, h echo.HandlerFunc) { a.g.DELETE(p, h, a.auth) }

// routes registers every route of the public port. Public routes first,
// then /api/v1 behind authentication and the role table. /metrics, /readyz
// and the queue dashboard are on the ops listener (ops.go), not here;
// /healthz is on both, for load balancers that check the port they route to.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", healthz)

	e.POST("/api/webhooks/:tenant_id/:token", s.intake)
	e.POST("/api/v1/signup", s.signup)
	e.GET("/api/v1/plans", s.plans)
	e.POST("/api/stripe/webhook", s.stripeWebhook)
	e.GET("/api/openapi.json", serveOpenAPIJSON)
	e.GET("/api/openapi.yaml", serveOpenAPIYAML)
	if s.opt.BenchFloor {
		e.POST(BenchFloorPath, newBenchFloor(s).handle)
	}

	// Authentication is route middleware rather than group middleware, so an
	// unknown path or method gets Echo's plain 404 or 405 before any key check.
	v1 := authenticated{e.Group("/api/v1"), s.authenticate}
	v1.GET("/me", s.me)
	v1.GET("/usage", s.usage)

	v1.POST("/workflows", s.createWorkflow)
	v1.GET("/workflows", s.listWorkflows)
	v1.GET("/workflows/:id", s.getWorkflow)
	v1.PUT("/workflows/:id", s.updateWorkflow)
	v1.DELETE("/workflows/:id", s.deleteWorkflow)
	v1.GET("/workflows/:id/versions", s.listVersions)
	v1.POST("/workflows/:id/runs", s.triggerWorkflow)

	v1.POST("/webhook-endpoints", s.createEndpoint)
	v1.GET("/webhook-endpoints", s.listEndpoints)
	v1.GET("/webhook-endpoints/:id", s.getEndpoint)
	v1.PATCH("/webhook-endpoints/:id", s.patchEndpoint)
	v1.DELETE("/webhook-endpoints/:id", s.deleteEndpoint)
	v1.POST("/webhook-endpoints/:id/rotate", s.rotateEndpoint)
	v1.GET("/webhook-endpoints/:id/rejections", s.listRejections)

	v1.GET("/runs", s.listRuns)
	v1.GET("/runs/:id", s.getRun)
	v1.GET("/runs/:id/steps", s.listSteps)
	v1.GET("/runs/:id/artifacts", s.listArtifacts)
	v1.POST("/runs/:id/replay", s.replayRun)
	v1.POST("/runs/:id/redrive", s.redriveRun)
	v1.POST("/runs/:id/cancel", s.cancelRun)
	v1.POST("/runs/replay", s.bulkReplay)
	v1.POST("/runs/redrive", s.bulkRedrive)

	v1.GET("/artifacts/:id", s.getArtifact)
	v1.GET("/artifacts/:id/download", s.downloadArtifact)

	v1.POST("/api-keys", s.mintKey)
	v1.GET("/api-keys", s.listKeys)
	v1.DELETE("/api-keys/:id", s.revokeKey)

	v1.PUT("/secrets/:name", s.putSecret)
	v1.GET("/secrets", s.listSecrets)
	v1.DELETE("/secrets/:name", s.deleteSecret)
	v1.POST("/callback-secret", s.rotateCallbackSecret)
	v1.GET("/callback-secret", s.getCallbackSecret)

	v1.GET("/audit", s.listAudit)
	v1.GET("/diagnostics", s.diagnostics)

	v1.GET("/billing", s.subscription)
	v1.POST("/billing/checkout", s.checkout)
	v1.POST("/billing/portal", s.portal)
}

// RouteRule is one entry of the route table, for tests and documentation.
type RouteRule struct {
	Method, Path string
	MinRole      auth.Role
	Object       string // the kind of object the path's :id or :name names, or ""
}

// RouteRules lists the route table, sorted by path then method.
func RouteRules() []RouteRule {
	out := make([]RouteRule, 0, len(routeTable))
	for k, r := range routeTable {
		method, path, _ := strings.Cut(k, " ")
		out = append(out, RouteRule{Method: method, Path: path, MinRole: r.min, Object: r.object})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}
