package ingress

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/ratelimit"
	"aias/internal/run"
	"aias/internal/signature"
	"aias/internal/webhook"
)

type intakeResponse struct {
	RunID     uuid.UUID `json:"run_id"`
	Status    string    `json:"status"`
	Duplicate bool      `json:"duplicate,omitempty"`
}

// Limiter decides whether a request may proceed (internal/ratelimit).
type Limiter interface {
	Allow(ctx context.Context, key string, lim ratelimit.Limit) ratelimit.Decision
}

var errRateLimited = errs.E(errs.RateLimited, "rate_limited", "too many requests; retry after the time in Retry-After")

// intake is POST /api/webhooks/:tenant_id/:token, in the order that keeps
// abuse cheap: per-IP limit, endpoint lookup (before reading any body),
// per-endpoint limit, body within the endpoint's limit, signature over the
// raw bytes, then the run row. 202 only after the row is committed; 200 with
// the first run's id for a repeated delivery; one generic 401 for every
// verification failure, the reason going to the endpoint's rejection log.
func (s *Server) intake(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.limit(c, "ip:"+ipKey(c.RealIP()), s.opt.IPLimit); err != nil {
		s.metrics.IntakeOutcomes.WithLabelValues("rejected_rate_limited").Inc()
		return err
	}
	tenantID, err := uuid.Parse(c.Param("tenant_id"))
	if err != nil {
		s.metrics.IntakeOutcomes.WithLabelValues("rejected_unknown").Inc()
		return errs.E(errs.NotFound, "not_found", "no such webhook endpoint")
	}
	ctx = logging.AddStr(ctx, "tenant_id", tenantID.String())
	t, err := s.intakes.Resolve(ctx, tenantID, c.Param("token"))
	if err != nil {
		s.metrics.IntakeOutcomes.WithLabelValues("rejected_" + errs.CodeOf(err)).Inc()
		return err
	}
	ctx = logging.AddStr(ctx, "endpoint_id", t.EndpointID.String())
	d, err := s.receive(c, t)
	if err != nil {
		return err
	}
	res, err := s.intakes.Verify(t, d)
	if err != nil {
		return s.refuse(ctx, t, d, err)
	}
	if res.Challenge != "" { // Slack's url_verification handshake: answered, no run
		s.metrics.IntakeOutcomes.WithLabelValues("challenge").Inc()
		return c.JSON(http.StatusOK, map[string]string{"challenge": res.Challenge})
	}
	return s.accept(c, ctx, t, d, res)
}

// receive applies the endpoint's rate limit and body limit and reads the body.
func (s *Server) receive(c echo.Context, t webhook.Target) (webhook.Delivery, error) {
	ctx := c.Request().Context()
	d := webhook.Delivery{RequestID: logging.RequestID(ctx), SourceIP: c.RealIP(), ReceivedAt: time.Now()}
	if err := s.limit(c, "ep:"+t.EndpointID.String(), s.opt.EndpointLimit); err != nil {
		s.reject(ctx, t, d, webhook.ReasonRateLimited, "per-endpoint rate limit")
		return d, err
	}
	body, err := readBody(c, t.MaxBodyBytes)
	if err != nil {
		s.reject(ctx, t, d, webhook.ReasonBodyTooLarge, errs.MessageOf(err))
		return d, err
	}
	r := c.Request()
	d.Body, d.ContentType, d.Header, d.Query = body, r.Header.Get(echo.HeaderContentType), r.Header, r.URL.Query()
	return d, nil
}

// refuse answers a failed verification: 401 with one generic body, the
// precise reason in the rejection log; 503 when the secret cannot be read.
func (s *Server) refuse(ctx context.Context, t webhook.Target, d webhook.Delivery, err error) error {
	if f, ok := webhook.IsRejection(err); ok {
		s.reject(ctx, t, d, f.Reason, f.Detail)
		return webhook.ErrUnverified
	}
	s.metrics.IntakeOutcomes.WithLabelValues("rejected_" + errs.CodeOf(err)).Inc()
	return err
}

func (s *Server) reject(ctx context.Context, t webhook.Target, d webhook.Delivery, reason, detail string) {
	s.metrics.IntakeOutcomes.WithLabelValues("rejected_" + reason).Inc()
	logging.From(ctx).Info().Str("reason", reason).Msg("delivery rejected")
	// The rejection log is for tenants to diagnose, not a record of every
	// attack: a flood of bad requests must not become a flood of writes.
	if s.limiter != nil && !s.limiter.Allow(ctx, "rej:"+t.EndpointID.String(), rejectionLogLimit).Allowed {
		s.metrics.IntakeOutcomes.WithLabelValues("rejection_log_sampled").Inc()
		return
	}
	s.intakes.Reject(ctx, t, webhook.Rejection{Reason: reason, Detail: detail, RequestID: d.RequestID, SourceIP: d.SourceIP})
}

// rejectionLogLimit bounds rejection-log writes per endpoint.
var rejectionLogLimit = ratelimit.PerSecond(5, 20)

// ipKey is the per-IP limiter's key: the address, or its /64 for IPv6,
// since one IPv6 client commonly holds a whole /64.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

func (s *Server) accept(c echo.Context, ctx context.Context, t webhook.Target, d webhook.Delivery, v signature.Result) error {
	acc, err := s.intakes.Accept(ctx, t, d, v)
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			s.reject(ctx, t, d, webhook.ReasonBadRequest, errs.MessageOf(err))
		} else {
			s.metrics.IntakeOutcomes.WithLabelValues("rejected_" + errs.CodeOf(err)).Inc()
		}
		return err
	}
	logging.From(ctx).Info().Str("run_id", acc.RunID.String()).Bool("duplicate", acc.Duplicate).Msg("delivery accepted")
	if acc.Duplicate {
		s.metrics.IntakeOutcomes.WithLabelValues("duplicate").Inc()
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return c.JSON(http.StatusOK, intakeResponse{RunID: acc.RunID, Status: string(acc.Status), Duplicate: true})
	}
	outcome := "accepted"
	if acc.Status == run.Held {
		outcome = "held"
	}
	s.metrics.IntakeOutcomes.WithLabelValues(outcome).Inc()
	return c.JSON(http.StatusAccepted, intakeResponse{RunID: acc.RunID, Status: string(acc.Status)})
}

// limit consults the limiter and sets the RateLimit headers.
func (s *Server) limit(c echo.Context, key string, lim ratelimit.Limit) error {
	if lim.Zero() || s.limiter == nil {
		return nil
	}
	d := s.limiter.Allow(c.Request().Context(), key, lim)
	for k, v := range d.Headers() {
		c.Response().Header().Set(k, v)
	}
	if !d.Allowed {
		return errRateLimited
	}
	return nil
}
