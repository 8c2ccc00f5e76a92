package ingress

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"aias/internal/errs"
)

// allKinds lists every errs.Kind; a new kind must be added here and to statusOf.
var allKinds = []errs.Kind{
	errs.Internal, errs.Invalid, errs.Unauthorized, errs.Forbidden, errs.NotFound, errs.Conflict,
	errs.PaymentRequired, errs.RateLimited, errs.Unavailable, errs.TooLarge, errs.Unsupported, errs.TimedOut,
}

func TestStatusOfCoversEveryKind(t *testing.T) {
	t.Parallel()
	want := map[errs.Kind]int{
		errs.Internal:        500,
		errs.Invalid:         400,
		errs.Unauthorized:    401,
		errs.Forbidden:       403,
		errs.NotFound:        404,
		errs.Conflict:        409,
		errs.PaymentRequired: 402,
		errs.RateLimited:     429,
		errs.Unavailable:     503,
		errs.TooLarge:        413,
		errs.Unsupported:     415,
		errs.TimedOut:        408,
	}
	if diff := cmp.Diff(want, statusOf); diff != "" {
		t.Errorf("statusOf mismatch (-want +got):\n%s", diff)
	}
	// The kind after the last known one must have no name: otherwise a new
	// kind was added to errs without a status here.
	next := allKinds[len(allKinds)-1] + 1
	if name := next.String(); name != "" {
		t.Errorf("errs.Kind(%d) is named %q but has no entry in allKinds/statusOf", int(next), name)
	}
}

func TestProblemForMapsEveryKindToItsStatus(t *testing.T) {
	t.Parallel()
	for _, k := range allKinds {
		if k == errs.Internal {
			continue // covered by TestProblemForHidesInternalErrors
		}
		err := fmt.Errorf("handler: %w", errs.E(k, "some_code", "client-safe message"))
		p := problemFor(err)
		want := Problem{
			Type:   "about:blank",
			Title:  http.StatusText(statusOf[k]),
			Status: statusOf[k],
			Detail: "client-safe message",
			Code:   "some_code",
		}
		if k == errs.Unavailable {
			want.retryAfter = retryAfterSeconds
		}
		if diff := cmp.Diff(want, p, cmp.AllowUnexported(Problem{})); diff != "" {
			t.Errorf("problemFor(%v kind %v) mismatch (-want +got):\n%s", err, k, diff)
		}
	}
}

func TestProblemForDefaultsCodeToKindName(t *testing.T) {
	t.Parallel()
	p := problemFor(errs.E(errs.Conflict, "", "already running"))
	if p.Code != "conflict" {
		t.Errorf("problemFor(conflict without code).Code = %q, want %q", p.Code, "conflict")
	}
}

func TestProblemForHidesInternalErrors(t *testing.T) {
	t.Parallel()
	const secret = "pq: password authentication failed for user aias_owner"
	tests := []struct {
		name string
		err  error
	}{
		{"unclassified", errors.New(secret)},
		{"wrapped unclassified", fmt.Errorf("load run: %w", errors.New(secret))},
		{"classified internal", errs.Wrap(errors.New(secret), errs.Internal, "db_failed", secret)},
		{"zero-kind error", &errs.Error{Message: secret}},
	}
	for _, tt := range tests {
		p := problemFor(tt.err)
		if p.Status != http.StatusInternalServerError || p.Code != "internal" {
			t.Errorf("problemFor(%s) = status %d code %q, want 500 %q", tt.name, p.Status, p.Code, "internal")
		}
		for field, v := range map[string]string{"detail": p.Detail, "title": p.Title, "code": p.Code} {
			if strings.Contains(v, "password") || strings.Contains(v, "aias_owner") {
				t.Errorf("problemFor(%s).%s = %q leaks the cause", tt.name, field, v)
			}
		}
		if p.Detail == "" {
			t.Errorf("problemFor(%s).Detail is empty, want a generic explanation", tt.name)
		}
		if p.retryAfter != 0 {
			t.Errorf("problemFor(%s).retryAfter = %d, want 0", tt.name, p.retryAfter)
		}
	}
}

func TestProblemForUnavailableAsksForRetry(t *testing.T) {
	t.Parallel()
	p := problemFor(errs.Wrap(errors.New("dial tcp: refused"), errs.Unavailable, "queue_unavailable", "try again shortly"))
	if p.retryAfter <= 0 {
		t.Errorf("problemFor(unavailable).retryAfter = %d, want > 0", p.retryAfter)
	}
	if p.Status != http.StatusServiceUnavailable {
		t.Errorf("problemFor(unavailable).Status = %d, want %d", p.Status, http.StatusServiceUnavailable)
	}
	if strings.Contains(p.Detail, "refused") {
		t.Errorf("problemFor(unavailable).Detail = %q leaks the cause", p.Detail)
	}
}

func TestProblemForCarriesValidationFields(t *testing.T) {
	t.Parallel()
	fields := []errs.FieldError{
		{Path: "limit", Message: "must be between 1 and 200"},
		{Path: "steps[0].with.url", Message: "is required"},
	}
	p := problemFor(fmt.Errorf("list: %w", errs.Validation("invalid request", fields...)))
	if p.Status != http.StatusBadRequest || p.Code != "validation_failed" {
		t.Errorf("problemFor(validation) = status %d code %q, want 400 %q", p.Status, p.Code, "validation_failed")
	}
	if diff := cmp.Diff(fields, p.Errors); diff != "" {
		t.Errorf("problemFor(validation).Errors mismatch (-want +got):\n%s", diff)
	}
}

func TestProblemForEchoErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err        *echo.HTTPError
		wantCode   string
		wantDetail string
	}{
		{echo.ErrNotFound, "not_found", "Not Found"},
		{echo.ErrMethodNotAllowed, "method_not_allowed", "Method Not Allowed"},
		{echo.NewHTTPError(http.StatusRequestEntityTooLarge), "payload_too_large", "Request Entity Too Large"},
		{echo.NewHTTPError(http.StatusBadRequest, "missing field"), "bad_request", "missing field"},
		{echo.NewHTTPError(http.StatusTeapot), "http_418", "I'm a teapot"},
		// 5xx messages are never shown: they may carry internals.
		{echo.NewHTTPError(http.StatusBadGateway, "upstream 10.0.0.7 refused"), "http_502", "Bad Gateway"},
	}
	for _, tt := range tests {
		p := problemFor(fmt.Errorf("route: %w", tt.err))
		want := Problem{Type: "about:blank", Title: http.StatusText(tt.err.Code), Status: tt.err.Code, Code: tt.wantCode, Detail: tt.wantDetail}
		if diff := cmp.Diff(want, p, cmp.AllowUnexported(Problem{})); diff != "" {
			t.Errorf("problemFor(echo %d) mismatch (-want +got):\n%s", tt.err.Code, diff)
		}
	}
}
