package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"aias/internal/errs"
	"aias/internal/logging"
)

// Problem is an RFC 9457 problem document with AIAS's stable code.
type Problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail,omitempty"`
	Code   string            `json:"code"`
	Errors []errs.FieldError `json:"errors,omitempty"`

	RequestID  string `json:"request_id,omitempty"`
	retryAfter int
}

// statusOf is the one table from error kinds to HTTP status codes.
var statusOf = map[errs.Kind]int{
	errs.Internal:        http.StatusInternalServerError,
	errs.Invalid:         http.StatusBadRequest,
	errs.Unauthorized:    http.StatusUnauthorized,
	errs.Forbidden:       http.StatusForbidden,
	errs.NotFound:        http.StatusNotFound,
	errs.Conflict:        http.StatusConflict,
	errs.PaymentRequired: http.StatusPaymentRequired,
	errs.RateLimited:     http.StatusTooManyRequests,
	errs.Unavailable:     http.StatusServiceUnavailable,
	errs.TooLarge:        http.StatusRequestEntityTooLarge,
	errs.Unsupported:     http.StatusUnsupportedMediaType,
	errs.TimedOut:        http.StatusRequestTimeout,
}

// statusClientClosed is the de-facto code (nginx's) for a request its client abandoned.
const statusClientClosed = 499

// retryAfterSeconds tells senders when a 503 is worth retrying.
const retryAfterSeconds = 5

// problemFor turns any error into the problem the client sees. Internal
// errors say nothing of their cause; the cause goes to the log.
func problemFor(err error) Problem {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return echoProblem(he)
	}
	e, ok := errs.As(err)
	if !ok && errors.Is(err, context.DeadlineExceeded) {
		// Out of time somewhere this edge did not classify: still a retry
		// later, never a 500.
		e, ok = errs.Wrap(err, errs.Unavailable, "unavailable", "the request ran out of time; retry later"), true
	}
	if !ok || e.Kind == errs.Internal {
		return Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Code: "internal",
			Detail: "an unexpected error occurred; it has been logged"}
	}
	status := statusOf[e.Kind]
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: e.Message, Code: errs.CodeOf(e), Errors: e.Fields}
	if status == http.StatusServiceUnavailable {
		p.retryAfter = retryAfterSeconds
	}
	if e.RetryAfter > 0 {
		p.retryAfter = int((e.RetryAfter + time.Second - 1) / time.Second)
	}
	return p
}

func echoProblem(he *echo.HTTPError) Problem {
	code := map[int]string{
		http.StatusNotFound:              "not_found",
		http.StatusMethodNotAllowed:      "method_not_allowed",
		http.StatusRequestEntityTooLarge: "payload_too_large",
		http.StatusUnsupportedMediaType:  "unsupported_media_type",
		http.StatusUnauthorized:          "unauthorized",
		http.StatusBadRequest:            "bad_request",
		http.StatusTooManyRequests:       "rate_limited",
		http.StatusServiceUnavailable:    "unavailable",
	}[he.Code]
	if code == "" {
		code = "http_" + strconv.Itoa(he.Code)
	}
	detail := http.StatusText(he.Code)
	if m, ok := he.Message.(string); ok && he.Code < 500 {
		detail = m
	}
	return Problem{Type: "about:blank", Title: http.StatusText(he.Code), Status: he.Code, Code: code, Detail: detail}
}

// errorHandler is Echo's single exit for errors: log server faults once,
// answer application/problem+json.
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := problemFor(err)
	p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	if _, classified := errs.As(err); !classified && errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		// The client hung up; nobody reads this answer and nothing is wrong here.
		p = Problem{Type: "about:blank", Title: "Client Closed Request", Status: statusClientClosed, Code: "client_closed", Detail: "the client closed the request"}
		logging.From(c.Request().Context()).Info().Err(err).Msg("client closed the request")
	} else if p.Status >= 500 {
		logging.From(c.Request().Context()).Error().Err(err).Int("status", p.Status).Msg("request failed")
	}
	if p.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	b, _ := json.Marshal(p)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	_ = c.Blob(p.Status, "application/problem+json", b)
}
