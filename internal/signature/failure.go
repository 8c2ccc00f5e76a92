package signature

import (
	"fmt"

	"aias/internal/errs"
)

// Failure reasons. They are stable strings: they are stored in the
// tenant-visible rejection log and matched on by tooling.
const (
	ReasonMissingHeader   = "missing_header"
	ReasonMalformedHeader = "malformed_header"
	ReasonBadSignature    = "bad_signature"
	ReasonStaleTimestamp  = "stale_timestamp" // too old OR too far in the future
	ReasonUnknownVersion  = "unknown_version" // e.g. only v2 signatures present, or slack "v1="
)

// Failure is a rejected delivery. Detail is for humans; it never contains
// secret material, expected signatures or the raw header values (which are
// attacker-controlled and end up in a tenant-facing log).
type Failure struct {
	Reason string
	Detail string
}

func (f *Failure) Error() string {
	if f.Detail == "" {
		return "signature rejected: " + f.Reason
	}
	return "signature rejected: " + f.Reason + ": " + f.Detail
}

// Unwrap classifies every rejection as errs.Unauthorized, so the HTTP edge
// maps it like any other domain error without knowing this package.
func (f *Failure) Unwrap() error {
	return errs.E(errs.Unauthorized, "signature_rejected", "the webhook signature could not be verified")
}

func fail(reason, format string, args ...any) *Failure {
	return &Failure{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

func missing(header string) *Failure {
	return fail(ReasonMissingHeader, "%s header is missing", header)
}

func malformed(format string, args ...any) *Failure {
	return fail(ReasonMalformedHeader, format, args...)
}

func noMatch(header string) *Failure {
	return fail(ReasonBadSignature, "no signature in %s matches any signing secret", header)
}
