package step

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// permanentError marks a failure that retrying the step cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot help: a bad expression, a
// 4xx response, a failed condition. A nil err stays nil.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked with
// Permanent or says so itself (a Permanent() bool method, as the egress
// guard's refusal has). Every other error is retryable.
func IsPermanent(err error) bool {
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	var self interface{ Permanent() bool }
	return errors.As(err, &self) && self.Permanent()
}

// MaxRetryAfter caps how long a target's Retry-After can postpone a retry.
const MaxRetryAfter = time.Hour

// retryAfterError is a retryable error whose target said when to come back.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter is how long the target asked the caller to wait.
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// RetryAfterOf reports the wait a retryable error asks for, if any.
func RetryAfterOf(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && !IsPermanent(err) {
		return ra.RetryAfter(), true
	}
	return 0, false
}

// withRetryAfter attaches a response's Retry-After (delay seconds or an HTTP
// date) to a retryable error, capped at MaxRetryAfter.
func withRetryAfter(err error, header string, now time.Time) error {
	if err == nil || IsPermanent(err) || header == "" {
		return err
	}
	var after time.Duration
	if secs, perr := strconv.Atoi(strings.TrimSpace(header)); perr == nil && secs >= 0 {
		after = time.Duration(secs) * time.Second
	} else if at, perr := http.ParseTime(header); perr == nil {
		after = at.Sub(now)
	} else {
		return err
	}
	return &retryAfterError{err: err, after: min(max(after, 0), MaxRetryAfter)}
}
