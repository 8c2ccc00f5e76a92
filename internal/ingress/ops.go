package ingress

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/telemetry"
)

// The ops listener (AIAS_METRICS_ADDR) of every program serves what
// operators and their tools read: Prometheus metrics, liveness, readiness,
// and on the ingress the queue dashboard. It is a listener of its own so
// that none of this is on the public port: /metrics describes every
// tenant's traffic, /readyz pings Postgres and Redis on each call, and the
// dashboard can pause every queue. Keep it on a network only operators and
// their scrapers reach.

// OpsDeps are what the ops listener reads.
type OpsDeps struct {
	DB      *postgres.DB
	Redis   redis.UniversalClient
	Metrics *telemetry.Metrics
	Log     zerolog.Logger
}

// OpsOptions configure the ops listener.
type OpsOptions struct {
	OperatorToken string       // opens the dashboard; empty: no dashboard
	Dashboard     http.Handler // asynqmon, mounted at /admin/queues; nil: no dashboard
}

// opsRoute is one route of the ops listener. A route for the operator
// exists only when the dashboard is configured, and only behind the
// operator token.
type opsRoute struct {
	method   string // anyMethod for the dashboard, whose own API changes queues
	path     string
	operator bool
	handle   func(opsServer, echo.Context) error
}

// anyMethod registers a route for every method.
const anyMethod = ""

// opsTable is every route of the ops listener.
var opsTable = []opsRoute{
	{http.MethodGet, "/metrics", false, opsServer.metrics},
	{http.MethodGet, "/healthz", false, opsServer.healthz},
	{http.MethodGet, "/readyz", false, opsServer.readyz},
	{anyMethod, "/admin/queues", true, opsServer.dashboard},
	{anyMethod, "/admin/queues/*", true, opsServer.dashboard},
}

// opsServer holds what the ops listener's handlers serve.
type opsServer struct {
	metricsHandler, dashboardHandler http.Handler
	ready                            readiness
}

func (o opsServer) metrics(c echo.Context) error   { return serveWith(o.metricsHandler, c) }
func (o opsServer) dashboard(c echo.Context) error { return serveWith(o.dashboardHandler, c) }
func (o opsServer) readyz(c echo.Context) error    { return o.ready.readyz(c) }
func (opsServer) healthz(c echo.Context) error     { return healthz(c) }

// serveWith answers with a net/http handler (echo.WrapHandler's body).
func serveWith(h http.Handler, c echo.Context) error {
	h.ServeHTTP(c.Response(), c.Request())
	return nil
}

// Ops is the handler of the ops listener.
func Ops(d OpsDeps, o OpsOptions) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler
	e.Use(opsContext(d.Log))
	srv := opsServer{metricsHandler: d.Metrics.Handler(), dashboardHandler: o.Dashboard, ready: readiness{db: d.DB, redis: d.Redis}}
	dashboard := o.OperatorToken != "" && o.Dashboard != nil
	guard := operatorOnly(o.OperatorToken)
	for _, r := range opsTable {
		if r.operator && !dashboard {
			continue
		}
		h := func(c echo.Context) error { return r.handle(srv, c) }
		var mw []echo.MiddlewareFunc
		if r.operator {
			mw = append(mw, guard)
		}
		if r.method == anyMethod {
			e.Any(r.path, h, mw...)
		} else {
			e.Add(r.method, r.path, h, mw...)
		}
	}
	return e
}

// opsContext gives handlers the logger, turns a panic into a 500, and logs
// each change made through the dashboard (probes and scrapes are not
// logged: they come every few seconds).
func opsContext(log zerolog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			r := c.Request()
			c.SetRequest(r.WithContext(logging.With(r.Context(), log)))
			defer func() {
				if v := recover(); v != nil {
					log.Error().Interface("panic", v).Str("path", c.Path()).Msg("ops handler panicked")
					err = errs.E(errs.Internal, "internal", "internal error")
				}
				if err != nil {
					c.Error(err)
				}
				if !safeMethod(r.Method) && strings.HasPrefix(r.URL.Path, "/admin/") {
					log.Info().Str("method", r.Method).Str("path", r.URL.Path).Int("status", c.Response().Status).Msg("dashboard change")
				}
			}()
			return next(c)
		}
	}
}

// operatorOnly admits the operator token — as the password of HTTP Basic
// authentication (so a browser can open the dashboard) or as a Bearer token —
// compared in constant time. Tenant API keys never open it.
//
// A change (any method but GET, HEAD and OPTIONS) must also come from the
// operator rather than from whatever page the operator's browser shows: a
// browser replays cached Basic credentials on a cross-site form POST, which
// could pause every queue. So a change is refused when the browser says it
// is cross-origin (http.CrossOriginProtection: Sec-Fetch-Site, else Origin
// against Host), and a change with Basic credentials must show that it
// comes from the dashboard's own page (Sec-Fetch-Site: same-origin, or a
// matching Origin). Scripts send the token as a Bearer token, which no
// browser attaches by itself.
func operatorOnly(token string) echo.MiddlewareFunc {
	want := []byte(token)
	origins := http.NewCrossOriginProtection()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			got, basic := operatorCredential(r)
			if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				c.Response().Header().Set("WWW-Authenticate", `Basic realm="aias operators"`)
				return errs.E(errs.Unauthorized, "unauthorized", "the operator token is required")
			}
			if safeMethod(r.Method) {
				return next(c)
			}
			if origins.Check(r) != nil {
				return errs.E(errs.Forbidden, "forbidden", "a cross-origin request may not change the queues")
			}
			if basic && !fromOwnPage(r) {
				return errs.E(errs.Forbidden, "forbidden",
					"a change to the queues needs the operator token as a Bearer token (Basic credentials only from the dashboard's own page)")
			}
			return next(c)
		}
	}
}

// operatorCredential is the token a request presents and whether it came
// as HTTP Basic credentials, which a browser may send on its own.
func operatorCredential(r *http.Request) (token string, basic bool) {
	if _, pass, ok := r.BasicAuth(); ok {
		return pass, true
	}
	if b, ok := strings.CutPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer "); ok {
		return b, false
	}
	return "", false
}

// fromOwnPage reports whether the browser says the request comes from a
// page of the same origin. It is called after the cross-origin check, so a
// present Origin already matches the Host.
func fromOwnPage(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return true
	case "":
		return r.Header.Get("Origin") != ""
	}
	return false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
