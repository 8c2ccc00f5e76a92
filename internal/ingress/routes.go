package ingress

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"aias/internal/artifact"
	"aias/internal/audit"
	"aias/internal/auth"
	"aias/internal/run"
	"aias/internal/secret"
	"aias/internal/webhook"
	"aias/internal/workflow"
)

// route is one route of the public port: what it answers and who may call
// it. The route table below is the only place a route is stated; New
// registers exactly its entries, and each entry's access is checked before
// its handler runs. Nothing reaches a handler without an entry.
type route struct {
	method, path string
	access       access
	handle       handler
}

// handler answers a request to a route of the table.
type handler func(s *Server, c echo.Context) error

// access is who may call a route: anyone (public), or an API key of at
// least a role. object is the kind of object the route's :id (or :name)
// names: a key whose role is too low still gets 404 for another tenant's
// object, because a 403 would confirm that it exists.
type access struct {
	public bool
	page   bool // a console page (HTML): signed out, it redirects to /login
	min    auth.Role
	object string // "" when the route names no object
}

// Who may call a route.
var (
	public = access{public: true}
	viewer = access{min: auth.Viewer}
	member = access{min: auth.Member}
	admin  = access{min: auth.Admin}
	owner  = access{min: auth.Owner}
)

// Who may open a console page (docs/console.md): anyone (the sign-in
// pages and the assets), or a signed-in person of at least a role. A page
// is never in docs/openapi.yaml.
var (
	publicPage = access{public: true, page: true}
	viewerPage = access{min: auth.Viewer, page: true}
	memberPage = access{min: auth.Member, page: true}
	adminPage  = access{min: auth.Admin, page: true}
)

// on says which kind of object the route's path parameter names.
func (a access) on(object string) access {
	a.object = object
	return a
}

// Object kinds named by route parameters.
const (
	objWorkflow = "workflow"
	objEndpoint = "endpoint"
	objRun      = "run"
	objArtifact = "artifact"
	objAPIKey   = "api_key"
	objSecret   = "secret"
	objSession  = "session"
	objInvite   = "invite"
	objMember   = "member"
)

// routeTable is every route of the public port. /metrics, /readyz and the
// queue dashboard are on the ops listener (opsTable in ops.go), not here;
// /healthz is on both, for load balancers that check the port they route
// to. A test checks that the server registers these routes and no other
// (Options.Extra aside, which the production programs leave empty).
var routeTable = []route{
	{http.MethodGet, "/healthz", public, static(healthz)},
	{http.MethodPost, "/api/webhooks/:tenant_id/:token", public, (*Server).intake},
	{http.MethodPost, "/api/v1/signup", public, (*Server).signup},
	{http.MethodGet, "/api/v1/plans", public, (*Server).plans},
	{http.MethodPost, "/api/stripe/webhook", public, (*Server).stripeWebhook},
	{http.MethodGet, "/api/openapi.json", public, static(serveOpenAPIJSON)},
	{http.MethodGet, "/api/openapi.yaml", public, static(serveOpenAPIYAML)},

	{http.MethodPost, "/api/v1/accounts", public, (*Server).signupPerson},
	{http.MethodPost, "/api/v1/session", public, (*Server).login},
	{http.MethodDelete, "/api/v1/session", viewer, (*Server).logout},
	{http.MethodPost, "/api/v1/session/logout-everywhere", viewer, (*Server).logoutEverywhere},
	{http.MethodGet, "/api/v1/sessions", viewer, (*Server).listSessions},
	{http.MethodDelete, "/api/v1/sessions/:id", viewer.on(objSession), (*Server).revokeSession},
	{http.MethodPost, "/api/v1/invites", admin, (*Server).invite},
	{http.MethodGet, "/api/v1/invites", admin, (*Server).listInvites},
	{http.MethodDelete, "/api/v1/invites/:id", admin.on(objInvite), (*Server).revokeInvite},
	{http.MethodPost, "/api/v1/invites/accept", public, (*Server).acceptInvite},
	{http.MethodPost, "/api/v1/password-resets", public, (*Server).requestReset},
	{http.MethodPost, "/api/v1/password-resets/complete", public, (*Server).completeReset},
	{http.MethodGet, "/api/v1/members", viewer, (*Server).listMembers},
	{http.MethodPatch, "/api/v1/members/:id", admin.on(objMember), (*Server).changeRole},
	{http.MethodDelete, "/api/v1/members/:id", viewer.on(objMember), (*Server).removeMember},

	{http.MethodGet, "/api/v1/me", viewer, (*Server).me},
	{http.MethodGet, "/api/v1/usage", viewer, (*Server).usage},

	{http.MethodPost, "/api/v1/workflows", member, (*Server).createWorkflow},
	{http.MethodPost, "/api/v1/workflows/validate", member, (*Server).validateWorkflow},
	{http.MethodPost, "/api/v1/workflows/test", member, (*Server).testWorkflow},
	{http.MethodGet, "/api/v1/workflows", viewer, listPage(workflow.List)},
	{http.MethodGet, "/api/v1/workflows/:id", viewer.on(objWorkflow), getOne(workflow.Get)},
	{http.MethodPut, "/api/v1/workflows/:id", member.on(objWorkflow), (*Server).updateWorkflow},
	{http.MethodDelete, "/api/v1/workflows/:id", member.on(objWorkflow), deleteOne(workflow.Delete, "workflow.delete", objWorkflow)},
	{http.MethodGet, "/api/v1/workflows/:id/versions", viewer.on(objWorkflow), listOf(workflow.Versions)},
	{http.MethodGet, "/api/v1/workflows/:id/diff", viewer.on(objWorkflow), (*Server).diffWorkflow},
	{http.MethodPost, "/api/v1/workflows/:id/runs", member.on(objWorkflow), (*Server).triggerWorkflow},

	{http.MethodPost, "/api/v1/webhook-endpoints", admin, (*Server).createEndpoint},
	{http.MethodGet, "/api/v1/webhook-endpoints", viewer, listPage(webhook.List)},
	{http.MethodGet, "/api/v1/webhook-endpoints/:id", viewer.on(objEndpoint), getOne(webhook.Get)},
	{http.MethodPatch, "/api/v1/webhook-endpoints/:id", admin.on(objEndpoint), (*Server).patchEndpoint},
	{http.MethodDelete, "/api/v1/webhook-endpoints/:id", admin.on(objEndpoint), deleteOne(webhook.Delete, "endpoint.delete", objEndpoint)},
	{http.MethodPost, "/api/v1/webhook-endpoints/:id/rotate", admin.on(objEndpoint), (*Server).rotateEndpoint},
	{http.MethodGet, "/api/v1/webhook-endpoints/:id/rejections", admin.on(objEndpoint), listPageOf(webhook.Rejections)},
	{http.MethodPost, "/api/v1/webhook-endpoints/:id/test", admin.on(objEndpoint), (*Server).testDelivery},

	{http.MethodGet, "/api/v1/runs", viewer, (*Server).listRuns},
	{http.MethodGet, "/api/v1/runs/:id", viewer.on(objRun), getOne(runWithBody)},
	{http.MethodGet, "/api/v1/runs/:id/steps", viewer.on(objRun), listOf(ofRun(run.Steps))},
	{http.MethodGet, "/api/v1/runs/:id/artifacts", viewer.on(objRun), listOf(ofRun(artifact.ListByRun))},
	{http.MethodPost, "/api/v1/runs/:id/replay", member.on(objRun), (*Server).replayRun},
	{http.MethodPost, "/api/v1/runs/:id/redrive", member.on(objRun), (*Server).redriveRun},
	{http.MethodPost, "/api/v1/runs/:id/cancel", member.on(objRun), (*Server).cancelRun},
	{http.MethodPost, "/api/v1/runs/replay", member, (*Server).bulkReplay},
	{http.MethodPost, "/api/v1/runs/redrive", member, (*Server).bulkRedrive},

	{http.MethodGet, "/api/v1/artifacts/:id", viewer.on(objArtifact), getOne(artifact.Get)},
	{http.MethodGet, "/api/v1/artifacts/:id/download", viewer.on(objArtifact), (*Server).downloadArtifact},

	{http.MethodPost, "/api/v1/api-keys", admin, (*Server).mintKey},
	{http.MethodGet, "/api/v1/api-keys", admin, listPage(auth.ListKeys)},
	{http.MethodDelete, "/api/v1/api-keys/:id", admin.on(objAPIKey), (*Server).revokeKey},

	{http.MethodPut, "/api/v1/secrets/:name", admin.on(objSecret), (*Server).putSecret},
	{http.MethodGet, "/api/v1/secrets", admin, listAll(secret.List)},
	{http.MethodDelete, "/api/v1/secrets/:name", admin.on(objSecret), (*Server).deleteSecret},
	{http.MethodPost, "/api/v1/callback-secret", admin, (*Server).rotateCallbackSecret},
	{http.MethodGet, "/api/v1/callback-secret", admin, readOne(secret.CallbackSecretOf)},

	{http.MethodGet, "/api/v1/audit", admin, listPage(audit.List)},
	{http.MethodGet, "/api/v1/diagnostics", admin, (*Server).diagnostics},

	{http.MethodGet, "/api/v1/billing", admin, (*Server).subscription},
	{http.MethodPost, "/api/v1/billing/checkout", owner, (*Server).checkout},
	{http.MethodPost, "/api/v1/billing/portal", owner, (*Server).portal},

	// The console's pages (docs/console.md). Every write they offer is a
	// fetch of a route above, with the sign-in's CSRF token.
	{http.MethodGet, "/assets/:name", publicPage, static(serveAsset)},
	{http.MethodGet, "/login", publicPage, (*Server).loginPage},
	{http.MethodGet, "/signup", publicPage, (*Server).signupPage},
	{http.MethodGet, "/invite", publicPage, (*Server).invitePage},
	{http.MethodGet, "/reset", publicPage, (*Server).resetPage},
	{http.MethodGet, "/", viewerPage, (*Server).overviewPage},
	{http.MethodGet, "/runs", viewerPage, (*Server).runsPage},
	{http.MethodGet, "/runs/:id", viewerPage.on(objRun), (*Server).runPage},
	{http.MethodGet, "/workflows", viewerPage, (*Server).workflowsPage},
	{http.MethodGet, "/workflows/new", memberPage, (*Server).newWorkflowPage},
	{http.MethodGet, "/workflows/:id", viewerPage.on(objWorkflow), (*Server).workflowPage},
	{http.MethodGet, "/endpoints", viewerPage, (*Server).endpointsPage},
	{http.MethodGet, "/endpoints/:id", viewerPage.on(objEndpoint), (*Server).endpointPage},
	{http.MethodGet, "/secrets", adminPage, (*Server).secretsPage},
	{http.MethodGet, "/api-keys", adminPage, (*Server).keysPage},
	{http.MethodGet, "/members", viewerPage, (*Server).membersPage},
	{http.MethodGet, "/audit", adminPage, (*Server).auditPage},
	{http.MethodGet, "/billing", adminPage, (*Server).billingPage},
	{http.MethodGet, "/diagnostics", adminPage, (*Server).diagnosticsPage},
	{http.MethodGet, "/account", viewerPage, (*Server).accountPage},
}

// static is a handler that needs nothing of the server.
func static(h echo.HandlerFunc) handler {
	return func(_ *Server, c echo.Context) error { return h(c) }
}

// routes registers the route table, each route behind its access check,
// then the program's extra routes. Authentication is route middleware
// rather than group middleware, so an unknown path or method gets Echo's
// plain 404 or 405 before any key check.
func (s *Server) routes(e *echo.Echo) {
	for _, r := range routeTable {
		h := func(c echo.Context) error { return r.handle(s, c) }
		if !r.access.public {
			h = s.authenticate(r.access)(h)
		}
		if r.access.page {
			h = s.pageErrors(h) // outside authenticate: a page signed out redirects to /login
		}
		e.Add(r.method, r.path, h)
	}
	for _, x := range s.opt.Extra {
		e.Add(x.Method, x.Path, func(c echo.Context) error { return x.Handle(c.Response(), c.Request()) })
	}
}

// RouteRule is one entry of the route table, for tests and documentation.
type RouteRule struct {
	Method, Path string
	Public       bool      // served without a key
	Page         bool      // a console page (HTML), not part of the API document
	MinRole      auth.Role // the least role of a key; "" for a public route
	Object       string    // the kind of object the path's :id or :name names, or ""
}

// RouteRules lists the route table — every route of the public port —
// sorted by path then method.
func RouteRules() []RouteRule {
	out := make([]RouteRule, 0, len(routeTable))
	for _, r := range routeTable {
		out = append(out, RouteRule{Method: r.method, Path: r.path, Public: r.access.public, Page: r.access.page, MinRole: r.access.min, Object: r.access.object})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}
