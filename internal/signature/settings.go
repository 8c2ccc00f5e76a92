package signature

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/textproto"
	"strings"
	"time"

	"aias/internal/errs"
)

// Tolerance bounds and default. Below 30 s ordinary clock skew and retries
// get rejected; above an hour the replay window stops meaning anything.
const (
	defaultTolerance = 5 * time.Minute
	minTolerance     = 30 * time.Second
	maxTolerance     = time.Hour
)

const maxPrefixLen = 64

// Settings is the non-secret configuration of an endpoint's verification,
// stored as JSON.
type Settings struct {
	Scheme string `json:"scheme"`
	// Tolerance is the timestamp window, both ways. Zero means the scheme's
	// default: 5 minutes for standard-webhooks, stripe and slack, and for
	// hmac when TimestampHeader is set.
	Tolerance Duration `json:"tolerance,omitempty"`

	// Generic hmac only.
	Header           string `json:"header,omitempty"`             // e.g. "X-Signature"
	Algorithm        string `json:"algorithm,omitempty"`          // sha1 | sha256 (default) | sha512
	Encoding         string `json:"encoding,omitempty"`           // hex (default) | base64 | base64url
	Prefix           string `json:"prefix,omitempty"`             // e.g. "sha256="
	TimestampHeader  string `json:"timestamp_header,omitempty"`   // signed message becomes "{timestamp}.{body}"
	DeliveryIDHeader string `json:"delivery_id_header,omitempty"` // header naming the delivery id
}

// Duration is a time.Duration that travels in JSON as a Go duration string
// ("5m0s"); a bare number is read as seconds.
type Duration time.Duration

func (d Duration) std() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: want a Go duration such as \"5m\" or a number of seconds", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return errors.New("duration: want a Go duration string or a number of seconds")
	}
	if math.Abs(secs) > math.MaxInt64/float64(time.Second) {
		return errors.New("duration: out of range")
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// fieldErrors collects every problem so Normalize can report them at once.
type fieldErrors []errs.FieldError

func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, errs.FieldError{Path: "verification." + field, Message: fmt.Sprintf(format, args...)})
}

// Normalize fills defaults and validates, returning an errs.Validation error
// that lists every problem with its path ("verification.algorithm", ...).
// It is idempotent. Fields that the scheme does not use are rejected rather
// than ignored: a tenant who set them expects them to matter.
func (s *Settings) Normalize() error {
	var fe fieldErrors
	s.Scheme = strings.ToLower(strings.TrimSpace(s.Scheme))
	if s.Scheme == "" {
		s.Scheme = Token
	}
	sc, known := schemes[s.Scheme]
	if !known {
		fe.add("scheme", "unknown scheme %q; want one of %s", s.Scheme, strings.Join(Schemes(), ", "))
	}
	if s.Scheme == HMAC {
		s.normalizeGeneric(&fe)
	} else if known {
		s.rejectGenericFields(&fe)
	}
	if known {
		s.normalizeTolerance(sc.timestamped(s), &fe)
	} else {
		s.checkToleranceBounds(&fe)
	}
	if len(fe) > 0 {
		return errs.Validation("invalid verification settings", fe...)
	}
	return nil
}

func (s *Settings) normalizeGeneric(fe *fieldErrors) {
	s.Algorithm = lowerOr(s.Algorithm, algSHA256)
	if _, ok := algorithms[s.Algorithm]; !ok {
		fe.add("algorithm", "unknown algorithm %q; want sha1, sha256 or sha512", s.Algorithm)
	}
	s.Encoding = lowerOr(s.Encoding, encHex)
	switch s.Encoding {
	case encHex, encBase64, encBase64URL:
	default:
		fe.add("encoding", "unknown encoding %q; want hex, base64 or base64url", s.Encoding)
	}
	s.Header = headerName(s.Header, "header", true, fe)
	s.TimestampHeader = headerName(s.TimestampHeader, "timestamp_header", false, fe)
	s.DeliveryIDHeader = headerName(s.DeliveryIDHeader, "delivery_id_header", false, fe)
	if s.Header != "" && s.Header == s.TimestampHeader {
		fe.add("timestamp_header", "must differ from the signature header")
	}
	if s.Header != "" && s.Header == s.DeliveryIDHeader {
		fe.add("delivery_id_header", "must differ from the signature header")
	}
	if msg := checkPrefix(s.Prefix); msg != "" {
		fe.add("prefix", "%s", msg)
	}
}

func (s *Settings) rejectGenericFields(fe *fieldErrors) {
	for _, f := range []struct{ name, value string }{
		{"header", s.Header},
		{"algorithm", s.Algorithm},
		{"encoding", s.Encoding},
		{"prefix", s.Prefix},
		{"timestamp_header", s.TimestampHeader},
		{"delivery_id_header", s.DeliveryIDHeader},
	} {
		if f.value != "" {
			fe.add(f.name, "only used by scheme %q, not %q", HMAC, s.Scheme)
		}
	}
}

func (s *Settings) normalizeTolerance(timestamped bool, fe *fieldErrors) {
	switch {
	case !timestamped && s.Tolerance != 0 && s.Scheme == HMAC:
		fe.add("tolerance", "needs timestamp_header: without a signed timestamp there is no window")
	case !timestamped && s.Tolerance != 0:
		fe.add("tolerance", "scheme %q signs no timestamp", s.Scheme)
	case timestamped && s.Tolerance == 0:
		s.Tolerance = Duration(defaultTolerance)
	default:
		s.checkToleranceBounds(fe)
	}
}

func (s *Settings) checkToleranceBounds(fe *fieldErrors) {
	if d := s.Tolerance.std(); d != 0 && (d < minTolerance || d > maxTolerance) {
		fe.add("tolerance", "%s is outside %s .. %s", d, minTolerance, maxTolerance)
	}
}

func lowerOr(v, def string) string {
	if v = strings.ToLower(strings.TrimSpace(v)); v == "" {
		return def
	}
	return v
}

// headerName validates an HTTP header name and returns it canonicalized, so
// that two spellings of one header compare equal.
func headerName(v, field string, required bool, fe *fieldErrors) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		fe.add(field, "required for scheme %q", HMAC)
	case v == "":
	case !isToken(v):
		fe.add(field, "%q is not a valid header name", v)
	default:
		return textproto.CanonicalMIMEHeaderKey(v)
	}
	return v
}

// isToken reports whether v is an RFC 9110 token, the grammar of header names.
func isToken(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isTokenChar(v[i]) {
			return false
		}
	}
	return v != ""
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// checkPrefix returns what is wrong with a signature prefix, or "". Header
// values lose surrounding whitespace in transit, so a prefix that starts or
// ends with a space could never match.
func checkPrefix(p string) string {
	if len(p) > maxPrefixLen {
		return fmt.Sprintf("longer than %d characters", maxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] > 0x7e {
			return "must be printable ASCII"
		}
	}
	if strings.TrimSpace(p) != p {
		return "must not start or end with whitespace"
	}
	return ""
}
