package ingress

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"aias/internal/auth"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
)

// requestContext gives every request an id (the sender's X-Request-ID when it
// is sane, else a fresh one), a logger carrying it, metrics and a recover.
func (s *Server) requestContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		start := time.Now()
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		l := s.log.With().Str("request_id", id).Logger()
		ctx := logging.WithRequestID(logging.With(c.Request().Context(), l), id)
		c.SetRequest(c.Request().WithContext(ctx))
		defer func() {
			if v := recover(); v != nil {
				l.Error().Interface("panic", v).Str("path", c.Path()).Msg("handler panicked")
				err = errs.E(errs.Internal, "internal", "internal error")
			}
			if err != nil {
				c.Error(err)
			}
			s.observe(c, l, start)
		}()
		return next(c)
	}
}

func (s *Server) observe(c echo.Context, l zerolog.Logger, start time.Time) {
	route := c.Path()
	if route == "" {
		route = "unmatched"
	}
	status := c.Response().Status
	elapsed := time.Since(start)
	s.metrics.HTTPRequests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
	s.metrics.HTTPDuration.WithLabelValues(route, c.Request().Method).Observe(elapsed.Seconds())
	level := zerolog.InfoLevel
	if status >= 500 {
		level = zerolog.WarnLevel
	}
	// The route pattern, never the raw path: intake URLs carry a secret token.
	l.WithLevel(level).Str("method", c.Request().Method).Str("route", route).Int("status", status).
		Dur("duration", elapsed).Msg("request")
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && !strings.ContainsRune("-_.:", r) {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type principalKey struct{}

// authenticate resolves who is calling — an API key (Authorization:
// Bearer) or, without one, the console's sign-in cookie — and checks the
// route's access (its entry in the route table) against that principal's
// role. A sign-in's request that changes anything must carry the
// sign-in's CSRF token (session.go). Both become the same auth.Principal,
// so a page's fetch and a script's curl meet the same role table, the same
// handlers, row-level security and audit log. A console page asked for
// signed out is redirected to /login (pageErrors).
func (s *Server) authenticate(a access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, err := s.caller(c)
			if err != nil {
				return err
			}
			if !p.Role.AtLeast(a.min) {
				return s.forbidden(c, p, a)
			}
			ctx := context.WithValue(c.Request().Context(), principalKey{}, p)
			l := logging.From(ctx).With().Str("tenant_id", p.TenantID.String()).Logger()
			c.SetRequest(c.Request().WithContext(logging.With(ctx, l)))
			err = next(c)
			if err == nil && c.Request().Method != http.MethodGet {
				// A change to an endpoint, a workflow or a secret applies to
				// the next delivery this process takes.
				s.intakes.Forget(p.TenantID)
			}
			return err
		}
	}
}

// caller is the principal of a request: its API key when it sends one,
// else its sign-in (with the CSRF check for a change).
func (s *Server) caller(c echo.Context) (auth.Principal, error) {
	header := c.Request().Header.Get(echo.HeaderAuthorization)
	if bearer, found := strings.CutPrefix(header, "Bearer "); found {
		return auth.Authenticate(c.Request().Context(), s.db, strings.TrimSpace(bearer))
	}
	if header == "" {
		if p, ok, err := s.sessionCaller(c); ok || err != nil {
			return p, err
		}
	}
	return auth.Principal{}, errs.E(errs.Unauthorized, "unauthorized", "missing or invalid API key")
}

func principal(c echo.Context) auth.Principal {
	p, _ := c.Request().Context().Value(principalKey{}).(auth.Principal)
	return p
}

// ipExtractor takes the client address from X-Forwarded-For only when the
// peer is a trusted proxy; otherwise the peer address is the client, so a
// sender cannot dodge the per-IP limit by writing a header.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// requestDeadline bounds a request's work, body upload included.
func requestDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// connWait bounds every storage call's wait for a Postgres connection
// (postgres.WithConnWait): with the pool exhausted, a request is answered
// 503 storage_unavailable after d instead of queueing for its deadline.
func connWait(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if d > 0 {
				r := c.Request()
				c.SetRequest(r.WithContext(postgres.WithConnWait(r.Context(), d)))
			}
			return next(c)
		}
	}
}

// forbidden refuses a key whose role is too low — with 404 when the route's
// object does not exist for the key's tenant, so a low-privilege key of one
// tenant cannot probe for another tenant's ids.
func (s *Server) forbidden(c echo.Context, p auth.Principal, a access) error {
	if a.object != "" {
		exists, err := s.objectExists(c.Request().Context(), p.TenantID, a.object, objectParam(c))
		if err != nil {
			return err
		}
		if !exists {
			return errs.NotFoundf("not found")
		}
	}
	who := "this key's role"
	if p.UserID != uuid.Nil {
		who = "your role"
	}
	return errs.E(errs.Forbidden, "forbidden", who+" ("+string(p.Role)+") may not do this; needs "+string(a.min))
}

func objectParam(c echo.Context) string {
	if v := c.Param("id"); v != "" {
		return v
	}
	return c.Param("name")
}

// existsQuery finds an object of the transaction's tenant by kind.
var existsQuery = map[string]string{ //nolint:gosec // G101: SQL naming tables, no credentials
	objWorkflow: `SELECT EXISTS (SELECT 1 FROM workflows WHERE id = $1::uuid AND tenant_id = $2 AND deleted_at IS NULL)`,
	objEndpoint: `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $1::uuid AND tenant_id = $2 AND deleted_at IS NULL)`,
	objRun:      `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1::uuid AND tenant_id = $2)`,
	objArtifact: `SELECT EXISTS (SELECT 1 FROM artifacts WHERE id = $1::uuid AND tenant_id = $2)`,
	objAPIKey:   `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1::uuid AND tenant_id = $2)`,
	objSecret:   `SELECT EXISTS (SELECT 1 FROM tenant_secrets WHERE name = $1 AND tenant_id = $2)`,
	objSession:  `SELECT EXISTS (SELECT 1 FROM user_sessions WHERE id = $1::uuid AND tenant_id = $2)`,
	objInvite:   `SELECT EXISTS (SELECT 1 FROM invites WHERE id = $1::uuid AND tenant_id = $2)`,
	objMember:   `SELECT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1::uuid AND tenant_id = $2)`,
}

func (s *Server) objectExists(ctx context.Context, tenantID uuid.UUID, kind, id string) (bool, error) {
	if kind != objSecret {
		if _, err := uuid.Parse(id); err != nil {
			return false, nil
		}
	}
	var exists bool
	err := s.db.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		return q.GetContext(ctx, &exists, existsQuery[kind], id, tenantID)
	})
	return exists, err
}
