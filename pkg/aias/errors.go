package aias

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Error is an answer of 400 or above: AIAS's problem document (RFC 9457)
// with its stable Code. Match on Code, not on Detail:
//
//	var e *aias.Error
//	if errors.As(err, &e) && e.Code == aias.CodeQuotaExhausted { wait(e.RetryAfter) }
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the problem's stable code; for an answer that was not a
	// problem document (a proxy's page, say) it is empty.
	Code Code
	// Title is the status's reason phrase.
	Title string
	// Detail is for people.
	Detail string
	// Type is the problem type, "about:blank" for AIAS's.
	Type string
	// Fields names every invalid field, with CodeValidationFailed.
	Fields []FieldError
	// RequestID is the request's id, as AIAS logged it.
	RequestID string
	// RetryAfter is the wait Retry-After asked for, 0 without one.
	RetryAfter time.Duration
	// Method and Path say which call failed.
	Method, Path string
}

// Error reads like "aias: GET /api/v1/runs/…: 404 not_found: run not found (request 0b1…)".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "aias: %s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	for _, f := range e.Fields {
		if f.Path != "" {
			fmt.Fprintf(&b, "; %s: %s", f.Path, f.Message)
		} else {
			fmt.Fprintf(&b, "; %s", f.Message)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// FieldError names one invalid field of a request.
type FieldError struct {
	// Path is the field's JSON path, e.g. steps[2].with.url; empty for the whole document.
	Path string `json:"path"`
	// Message says what is wrong with it.
	Message string `json:"message"`
	// Line and Column place it in a workflow definition as sent (0: unknown).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
}

// CodeOf is the Code of err when it is (or wraps) an *Error, else "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// StatusOf is the HTTP status of err when it is (or wraps) an *Error, else 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// problem is the wire form of a problem document.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Code      Code         `json:"code"`
	Errors    []FieldError `json:"errors"`
	RequestID string       `json:"request_id"`
}

// maxErrorBody bounds what is read of a refusal.
const maxErrorBody = 64 << 10

// readError turns an answer of 400 or above into an *Error, and closes it.
func readError(r request, res *http.Response) *Error {
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	e := &Error{Status: res.StatusCode, Title: http.StatusText(res.StatusCode), Method: r.method, Path: r.path,
		RequestID: res.Header.Get("X-Request-ID"), RetryAfter: retryAfter(res.Header)}
	if strings.HasPrefix(r.path, "http") { // the intake: its URL holds the endpoint's token
		e.Path = "(intake)"
	}
	var p problem
	if json.Unmarshal(b, &p) == nil && p.Code != "" {
		e.Code, e.Detail, e.Type, e.Fields = p.Code, p.Detail, p.Type, p.Errors
		if p.Title != "" {
			e.Title = p.Title
		}
		if p.RequestID != "" {
			e.RequestID = p.RequestID
		}
		return e
	}
	e.Detail = strings.TrimSpace(string(b))
	if len(e.Detail) > 200 {
		e.Detail = e.Detail[:200] + "…"
	}
	return e
}

// Code is a problem's stable code (docs/api.md, Errors).
type Code string

// The codes AIAS answers with; docs/openapi.yaml's ProblemCode lists them.
const (
	CodeValidationFailed      Code = "validation_failed"
	CodeInvalidJSON           Code = "invalid_json"
	CodeInvalid               Code = "invalid"
	CodeBadRequest            Code = "bad_request"
	CodeInvalidSignature      Code = "invalid_signature"
	CodeInvalidEvent          Code = "invalid_event"
	CodeUnauthorized          Code = "unauthorized"
	CodeForbidden             Code = "forbidden"
	CodeRoleTooHigh           Code = "role_too_high"
	CodeSecretsNeedAdmin      Code = "secrets_need_admin"
	CodeSideEffectsNotAllowed Code = "side_effects_not_allowed"
	CodeSignupDisabled        Code = "signup_disabled"
	CodeNotFound              Code = "not_found"
	CodeMethodNotAllowed      Code = "method_not_allowed"
	CodePlanLimit             Code = "plan_limit"
	CodeConflict              Code = "conflict"
	CodeNameTaken             Code = "name_taken"
	CodeRotationInGrace       Code = "rotation_in_grace"
	CodeEndpointDisabled      Code = "endpoint_disabled"
	CodeLastOwnerKey          Code = "last_owner_key"
	CodeAlreadySubscribed     Code = "already_subscribed"
	CodeNoSubscription        Code = "no_subscription"
	CodeNotRedrivable         Code = "not_redrivable"
	CodeAlreadyFinished       Code = "already_finished"
	CodeWorkflowDisabled      Code = "workflow_disabled"
	CodeNoSigningSecret       Code = "no_signing_secret" //nolint:gosec // a problem code, not a credential
	CodePayloadTooLarge       Code = "payload_too_large"
	CodeUnsupportedMediaType  Code = "unsupported_media_type"
	CodeRateLimited           Code = "rate_limited"
	CodeQuotaExhausted        Code = "quota_exhausted"
	CodeInternal              Code = "internal"
	CodeStorageUnavailable    Code = "storage_unavailable"
	CodeSecretUnavailable     Code = "secret_unavailable"
	CodeBillingNotConfigured  Code = "billing_not_configured"
	CodeBillingUnavailable    Code = "billing_unavailable"
	// The codes of people's sign-ins (docs/accounts.md).
	CodeInvalidCredentials    Code = "invalid_credentials" //nolint:gosec // a problem code, not a credential
	CodeUnauthenticated       Code = "unauthenticated"
	CodeCSRFFailed            Code = "csrf_failed"
	CodeCrossSite             Code = "cross_site"
	CodeSessionRequired       Code = "session_required"
	CodeEmailTaken            Code = "email_taken"
	CodeAlreadyMember         Code = "already_member"
	CodeLastOwner             Code = "last_owner"
	CodeInviteInvalid         Code = "invite_invalid"
	CodeResetInvalid          Code = "reset_invalid"
	CodePasswordResetRequired Code = "password_reset_required" //nolint:gosec // a problem code, not a credential
	CodeMailNotConfigured     Code = "mail_not_configured"
	CodeAccountsUnavailable   Code = "accounts_unavailable"
	// CodeBodyTimeout (408): the request's body did not arrive in full in
	// time; the connection was closed.
	CodeBodyTimeout Code = "body_timeout"
	// CodeUnavailable (503): AIAS could not answer in time, or at all; retry
	// later.
	CodeUnavailable Code = "unavailable"
)

// Codes lists every Code constant, in the document's order.
var Codes = []Code{
	CodeValidationFailed, CodeInvalidJSON, CodeInvalid, CodeBadRequest, CodeInvalidSignature, CodeInvalidEvent,
	CodeUnauthorized, CodeForbidden, CodeRoleTooHigh, CodeSecretsNeedAdmin, CodeSideEffectsNotAllowed, CodeSignupDisabled, CodeNotFound,
	CodeMethodNotAllowed, CodePlanLimit, CodeConflict, CodeNameTaken, CodeRotationInGrace, CodeEndpointDisabled, CodeLastOwnerKey,
	CodeAlreadySubscribed, CodeNoSubscription, CodeNotRedrivable, CodeAlreadyFinished, CodeWorkflowDisabled,
	CodeNoSigningSecret, CodePayloadTooLarge, CodeUnsupportedMediaType, CodeRateLimited, CodeQuotaExhausted,
	CodeInternal, CodeStorageUnavailable, CodeSecretUnavailable, CodeBillingNotConfigured, CodeBillingUnavailable,
	CodeInvalidCredentials, CodeUnauthenticated, CodeCSRFFailed, CodeCrossSite, CodeSessionRequired, CodeEmailTaken,
	CodeAlreadyMember, CodeLastOwner, CodeInviteInvalid, CodeResetInvalid, CodePasswordResetRequired,
	CodeMailNotConfigured, CodeAccountsUnavailable, CodeBodyTimeout, CodeUnavailable,
}
