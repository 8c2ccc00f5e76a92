package errs_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"aias/internal/errs"
)

func TestKindAndCodeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantKind errs.Kind
		wantCode string
	}{
		{"nil", nil, errs.Internal, "internal"},
		{"unclassified", errors.New("boom"), errs.Internal, "internal"},
		{"explicit code", errs.E(errs.Conflict, "run_finished", "the run has finished"), errs.Conflict, "run_finished"},
		{"empty code defaults to kind name", errs.E(errs.RateLimited, "", "slow down"), errs.RateLimited, "rate_limited"},
		{"zero Error", &errs.Error{}, errs.Internal, "internal"},
		{"validation", errs.Validation("bad"), errs.Invalid, "validation_failed"},
		{"not found", errs.NotFoundf("workflow %s not found", "w1"), errs.NotFound, "not_found"},
		{"wrap", errs.Wrap(io.EOF, errs.Unavailable, "db_down", "try later"), errs.Unavailable, "db_down"},
		{"wrapped with %w", fmt.Errorf("load run: %w", errs.E(errs.Forbidden, "no_access", "no")), errs.Forbidden, "no_access"},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", errs.E(errs.TooLarge, "", "big"))), errs.TooLarge, "too_large"},
		{"joined", errors.Join(errors.New("x"), errs.E(errs.PaymentRequired, "quota_exhausted", "upgrade")), errs.PaymentRequired, "quota_exhausted"},
		{"wrapped with %v loses the class", fmt.Errorf("load: %v", errs.E(errs.NotFound, "", "gone")), errs.Internal, "internal"}, //nolint:errorlint // %v dropping the class is what this case proves
	}
	for _, tt := range tests {
		if got := errs.KindOf(tt.err); got != tt.wantKind {
			t.Errorf("KindOf(%v) [%s] = %v, want %v", tt.err, tt.name, got, tt.wantKind)
		}
		if got := errs.CodeOf(tt.err); got != tt.wantCode {
			t.Errorf("CodeOf(%v) [%s] = %q, want %q", tt.err, tt.name, got, tt.wantCode)
		}
	}
}

func TestKindStringNamesEveryKind(t *testing.T) {
	t.Parallel()
	want := map[errs.Kind]string{
		errs.Internal: "internal", errs.Invalid: "invalid", errs.Unauthorized: "unauthorized",
		errs.Forbidden: "forbidden", errs.NotFound: "not_found", errs.Conflict: "conflict",
		errs.PaymentRequired: "payment_required", errs.RateLimited: "rate_limited",
		errs.Unavailable: "unavailable", errs.TooLarge: "too_large", errs.Unsupported: "unsupported",
	}
	for k, w := range want {
		if got := k.String(); got != w {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, w)
		}
	}
}

func TestIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		kind errs.Kind
		want bool
	}{
		{nil, errs.Internal, false},
		{errors.New("x"), errs.Internal, true},
		{errs.E(errs.NotFound, "", ""), errs.NotFound, true},
		{errs.E(errs.NotFound, "", ""), errs.Conflict, false},
		{fmt.Errorf("ctx: %w", errs.E(errs.Conflict, "", "")), errs.Conflict, true},
	}
	for _, tt := range tests {
		if got := errs.Is(tt.err, tt.kind); got != tt.want {
			t.Errorf("Is(%v, %v) = %v, want %v", tt.err, tt.kind, got, tt.want)
		}
	}
}

func TestValidationCarriesFields(t *testing.T) {
	t.Parallel()
	fields := []errs.FieldError{
		{Path: "name", Message: "is required"},
		{Path: "steps[2].with.url", Message: "must be absolute"},
	}
	err := fmt.Errorf("create workflow: %w", errs.Validation("invalid workflow", fields...))
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("As(%v) ok = false, want true", err)
	}
	if diff := cmp.Diff(fields, e.Fields); diff != "" {
		t.Errorf("As(%v).Fields mismatch (-want +got):\n%s", err, diff)
	}
	if e.Kind != errs.Invalid {
		t.Errorf("As(%v).Kind = %v, want %v", err, e.Kind, errs.Invalid)
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *errs.Error
		want string
	}{
		{"message only", errs.E(errs.NotFound, "", "workflow not found"), "workflow not found"},
		{"one field", errs.Validation("invalid", errs.FieldError{Path: "limit", Message: "too big"}), "invalid: limit: too big"},
		{
			"several fields",
			errs.Validation("invalid workflow",
				errs.FieldError{Path: "name", Message: "is required"},
				errs.FieldError{Path: "steps[2].with.url", Message: "must be absolute"}),
			"invalid workflow: name: is required; steps[2].with.url: must be absolute",
		},
		{"cause", errs.Wrap(io.EOF, errs.Unavailable, "", "database unavailable"), "database unavailable: EOF"},
		{
			"fields and cause",
			&errs.Error{Message: "m", Fields: []errs.FieldError{{Path: "p", Message: "q"}}, Err: io.ErrUnexpectedEOF},
			"m: p: q: unexpected EOF",
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestWrapKeepsTheCause(t *testing.T) {
	t.Parallel()
	cause := io.ErrUnexpectedEOF
	err := fmt.Errorf("outer: %w", errs.Wrap(cause, errs.Unavailable, "", "retry later"))
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, %v) = false, want true", err, cause)
	}
	if got := errs.KindOf(err); got != errs.Unavailable {
		t.Errorf("KindOf(%v) = %v, want %v", err, got, errs.Unavailable)
	}
}

func TestAsFindsTheOutermostError(t *testing.T) {
	t.Parallel()
	inner := errs.E(errs.NotFound, "inner", "inner")
	outer := errs.Wrap(inner, errs.Conflict, "outer", "outer")
	if got := errs.CodeOf(outer); got != "outer" {
		t.Errorf("CodeOf(%v) = %q, want %q", outer, got, "outer")
	}
	if _, ok := errs.As(errors.New("plain")); ok {
		t.Errorf("As(plain error) ok = true, want false")
	}
}
