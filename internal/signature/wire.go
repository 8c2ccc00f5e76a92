package signature

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signature encodings of the generic scheme (and of the fixed schemes).
const (
	encHex       = "hex"
	encBase64    = "base64"
	encBase64URL = "base64url"
)

const idempotencyKey = "Idempotency-Key"

// headerValue returns the one value of a security-relevant header. Two header
// lines with the same name are rejected rather than picking one: a proxy and
// the application could disagree about which line counts, and that gap is
// where signature-confusion attacks live.
func headerValue(h http.Header, name string) (string, *Failure) {
	vs := h.Values(name)
	if len(vs) > 1 {
		return "", malformed("%s header appears %d times", name, len(vs))
	}
	if len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
		return "", missing(name)
	}
	return strings.TrimSpace(vs[0]), nil
}

// parseUnix parses a unix-seconds timestamp. Only plain digits are accepted:
// the header text itself is part of the signed message, so "+1614265330" or
// " 1614265330" must not be treated as the same timestamp.
func parseUnix(s string) (time.Time, bool) {
	if len(s) == 0 || len(s) > 18 { // 18 digits cannot overflow int64
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// timestampHeader reads and parses a unix-seconds timestamp header.
func timestampHeader(h http.Header, name string) (string, time.Time, *Failure) {
	raw, f := headerValue(h, name)
	if f != nil {
		return "", time.Time{}, f
	}
	ts, ok := parseUnix(raw)
	if !ok {
		return "", time.Time{}, malformed("%s is not a unix timestamp in seconds", name)
	}
	return raw, ts, nil
}

// checkWindow enforces |now - ts| <= tolerance. Future timestamps are
// rejected too: a sender whose clock runs ahead would otherwise open a replay
// window longer than the tolerance.
func checkWindow(ts, now time.Time, tolerance time.Duration) *Failure {
	switch d := now.Sub(ts); {
	case d > tolerance:
		return fail(ReasonStaleTimestamp, "timestamp is %s old, tolerance is %s", d.Truncate(time.Second), tolerance)
	case d < -tolerance:
		return fail(ReasonStaleTimestamp, "timestamp is %s in the future, tolerance is %s", (-d).Truncate(time.Second), tolerance)
	}
	return nil
}

// mac computes HMAC(key, head... || body) without concatenating the body.
func mac(newHash func() hash.Hash, key []byte, body []byte, head ...string) []byte {
	m := hmac.New(newHash, key)
	if len(head) > 0 {
		// One write of the joined head: cheaper than one string-to-bytes
		// conversion per part.
		var msg []byte
		for _, p := range head {
			msg = append(msg, p...)
		}
		m.Write(msg)
	}
	m.Write(body)
	return m.Sum(nil)
}

// anyMatch reports whether any candidate signature equals the MAC under any
// key. Empty keys are skipped: an empty HMAC key is public knowledge.
func anyMatch(keys []Secret, candidates [][]byte, sum func(key []byte) []byte) bool {
	for _, k := range keys {
		if len(k) == 0 {
			continue
		}
		want := sum(k)
		for _, c := range candidates {
			if hmac.Equal(want, c) {
				return true
			}
		}
	}
	return false
}

func encodeSig(enc string, b []byte) string {
	switch enc {
	case encBase64:
		return base64.StdEncoding.EncodeToString(b)
	case encBase64URL:
		return base64.URLEncoding.EncodeToString(b)
	default:
		return hex.EncodeToString(b)
	}
}

// decodeSig decodes s in enc. Base64 padding is optional because senders
// disagree about it; hex accepts either case.
func decodeSig(enc, s string) ([]byte, bool) {
	var (
		b   []byte
		err error
	)
	switch enc {
	case encHex:
		b, err = hex.DecodeString(s)
	case encBase64:
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	case encBase64URL:
		b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	default:
		return nil, false
	}
	return b, err == nil
}

// decodePrefixed decodes a "prefix + encoded signature" header value and
// checks that it has the digest's length, so a truncated signature is
// reported as malformed rather than merely not matching.
func decodePrefixed(header, value, prefix, enc string, size int) ([]byte, *Failure) {
	rest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return nil, malformed("%s does not start with %q", header, prefix)
	}
	sig, ok := decodeSig(enc, rest)
	if !ok {
		return nil, malformed("%s is not valid %s", header, enc)
	}
	if len(sig) != size {
		return nil, malformed("%s signature is %d bytes, want %d", header, len(sig), size)
	}
	return sig, nil
}

// jsonField reads one top-level string field of a JSON object body; it
// returns "" when the body is not such an object.
func jsonField(body []byte, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[field], &s) != nil {
		return ""
	}
	return s
}
