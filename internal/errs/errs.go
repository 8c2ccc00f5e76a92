// Package errs is the error vocabulary shared by every AIAS domain package.
//
// A domain error carries a Kind (what class of failure, which the HTTP edge
// maps to a status code), a stable machine-readable Code (what clients match
// on, e.g. "quota_exhausted") and, for validation problems, the paths of the
// offending fields. The package knows nothing about HTTP: the mapping lives in
// internal/ingress, in one table.
package errs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies an error by how a caller should react to it.
type Kind int

// The kinds, from the caller's point of view.
const (
	Internal        Kind = iota // a bug or an unexpected failure; details stay in the logs
	Invalid                     // the request is malformed or fails validation
	Unauthorized                // the caller could not be authenticated
	Forbidden                   // authenticated, but not allowed
	NotFound                    // no such object (or not visible to this tenant)
	Conflict                    // the object's state does not allow the operation
	PaymentRequired             // the plan does not allow it
	RateLimited                 // slow down; RetryAfter says for how long
	Unavailable                 // a dependency is down; retry later
	TooLarge                    // the request body exceeds a limit
	Unsupported                 // unsupported media type
	TimedOut                    // the request (its body) did not arrive in time
)

var kindNames = map[Kind]string{
	Internal: "internal", Invalid: "invalid", Unauthorized: "unauthorized",
	Forbidden: "forbidden", NotFound: "not_found", Conflict: "conflict",
	PaymentRequired: "payment_required", RateLimited: "rate_limited",
	Unavailable: "unavailable", TooLarge: "too_large", Unsupported: "unsupported", TimedOut: "timed_out",
}

func (k Kind) String() string { return kindNames[k] }

// FieldError names one offending field by its JSON path (e.g. "steps[2].with.url").
// Line and Column, when known, place it in the document the client sent
// (1-based; see workflow.Locate); zero when the field is not in the
// document (a required field left out places at its parent).
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

func (f FieldError) String() string { return f.Path + ": " + f.Message }

// Error is a classified domain error.
type Error struct {
	Kind    Kind
	Code    string       // stable, snake_case; defaults to the kind's name
	Message string       // safe to show to the client
	Fields  []FieldError // validation problems, if any
	Err     error        // the cause; never shown to clients

	// RetryAfter, when set, tells the client when trying again can succeed
	// (a rate limit, a quota that resets).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of kind k with a stable code and a client-safe message.
func E(k Kind, code, msg string) *Error { return &Error{Kind: k, Code: code, Message: msg} }

// Wrap classifies cause as kind k with a stable code and a client-safe message.
func Wrap(cause error, k Kind, code, msg string) *Error {
	return &Error{Kind: k, Code: code, Message: msg, Err: cause}
}

// Validation returns an Invalid error listing every field problem at once.
func Validation(msg string, fields ...FieldError) *Error {
	return &Error{Kind: Invalid, Code: "validation_failed", Message: msg, Fields: fields}
}

// NotFoundf returns the generic not-found error for an object type.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf reports the Kind of err; unclassified errors are Internal.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}

// CodeOf reports the stable code of err ("internal" when unclassified).
func CodeOf(err error) string {
	if e, ok := As(err); ok {
		if e.Code != "" {
			return e.Code
		}
		return e.Kind.String()
	}
	return Internal.String()
}

// Is reports whether err is classified as kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// MessageOf is the client-safe message of err ("" when unclassified).
func MessageOf(err error) string {
	if e, ok := As(err); ok {
		return e.Message
	}
	return ""
}
