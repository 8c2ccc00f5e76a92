package signature

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// now is the fixed verification time of the table tests.
var now = time.Unix(1_700_000_000, 0).UTC()

var (
	keyOld   = Secret("old-secret-0123456789abcdef")
	keyNew   = Secret("new-secret-0123456789abcdef")
	keyThird = Secret("third-secret-0123456789abcdef")
)

// testBody carries the ids that stripe ("id") and slack ("event_id") read.
const testBody = `{"id":"evt_1","event_id":"Ev1","type":"event_callback","data":{"n":42}}`

// testID is the delivery id handed to Sign.
const testID = "dlv_1"

// part locates a substring of one header's value: the encoded signature, the
// timestamp or the id. before and after are the delimiters around it; an
// empty before means "from the start", an empty after "to the end".
type part struct {
	header        string
	before, after string
}

func (p part) edit(t *testing.T, h http.Header, f func(string) string) {
	t.Helper()
	v := h.Get(p.header)
	start := 0
	if p.before != "" {
		i := strings.Index(v, p.before)
		if i < 0 {
			t.Fatalf("%s = %q has no %q", p.header, v, p.before)
		}
		start = i + len(p.before)
	}
	end := len(v)
	if p.after != "" {
		if j := strings.Index(v[start:], p.after); j >= 0 {
			end = start + j
		}
	}
	h.Set(p.header, v[:start]+f(v[start:end])+v[end:])
}

// fixture describes one scheme's wire format to the shared table tests.
type fixture struct {
	settings Settings
	sig      part   // the (first) encoded signature
	enc      string // its encoding
	ts       *part  // the signed timestamp, nil if none
	id       *part  // a signed delivery id, nil if none
	wantID   string // DeliveryID of a valid delivery of testBody signed with testID
	required []string
}

func (fx fixture) tolerance() time.Duration {
	s := fx.settings
	if err := s.Normalize(); err != nil {
		panic(err)
	}
	return s.Tolerance.std()
}

// flipLastBit flips the lowest bit of the last character: digits stay
// digits, so a timestamp stays well-formed.
func flipLastBit(s string) string {
	b := []byte(s)
	b[len(b)-1] ^= 1
	return string(b)
}

// verifyCase is one row of a scheme's table.
type verifyCase struct {
	name    string
	signer  Secret        // default keyOld
	secrets []Secret      // default {keyOld}
	skew    time.Duration // signing time minus now
	mutate  func(t *testing.T, h http.Header, body []byte) []byte
	want    string // failure reason; "" means accepted
}

// commonCases are the rows every signing scheme must pass.
func commonCases(fx fixture) []verifyCase {
	tol := fx.tolerance()
	recode := func(t *testing.T, h http.Header, f func([]byte) []byte) {
		fx.sig.edit(t, h, func(s string) string {
			b, ok := decodeSig(fx.enc, s)
			if !ok {
				t.Fatalf("fixture signature %q does not decode", s)
			}
			return encodeSig(fx.enc, f(b))
		})
	}
	cases := []verifyCase{
		{name: "valid delivery passes"},
		{name: "wrong secret is a bad signature", secrets: []Secret{keyThird}, want: ReasonBadSignature},
		{name: "flipped bit in body is a bad signature", want: ReasonBadSignature,
			mutate: func(_ *testing.T, _ http.Header, body []byte) []byte { body[len(body)/2] ^= 1; return body }},
		{name: "flipped bit in signature is a bad signature", want: ReasonBadSignature,
			mutate: func(t *testing.T, h http.Header, body []byte) []byte {
				recode(t, h, func(b []byte) []byte { b[0] ^= 1; return b })
				return body
			}},
		{name: "truncated signature is malformed", want: ReasonMalformedHeader,
			mutate: func(t *testing.T, h http.Header, body []byte) []byte {
				recode(t, h, func(b []byte) []byte { return b[:len(b)-1] })
				return body
			}},
		{name: "non-decodable signature is malformed", want: ReasonMalformedHeader,
			mutate: func(t *testing.T, h http.Header, body []byte) []byte {
				fx.sig.edit(t, h, func(string) string { return "*not*encoded*" })
				return body
			}},
		{name: "missing signature header", want: ReasonMissingHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte { h.Del(fx.sig.header); return body }},
		{name: "empty signature header is missing", want: ReasonMissingHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte { h.Set(fx.sig.header, ""); return body }},
		{name: "duplicated signature header is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Add(fx.sig.header, h.Get(fx.sig.header))
				return body
			}},
		{name: "rotation: old secret signed, old and new configured", secrets: []Secret{keyOld, keyNew}},
		{name: "rotation: new secret signed, old and new configured", signer: keyNew, secrets: []Secret{keyOld, keyNew}},
		{name: "rotation: a third secret signed", signer: keyThird, secrets: []Secret{keyOld, keyNew}, want: ReasonBadSignature},
		{name: "empty secrets are skipped", secrets: []Secret{{}, keyOld}},
	}
	for _, name := range fx.required {
		cases = append(cases, verifyCase{name: "missing " + name, want: ReasonMissingHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte { h.Del(name); return body }})
	}
	if fx.id != nil {
		cases = append(cases, verifyCase{name: "flipped bit in delivery id is a bad signature", want: ReasonBadSignature,
			mutate: func(t *testing.T, h http.Header, body []byte) []byte { fx.id.edit(t, h, flipLastBit); return body }})
	}
	if fx.ts != nil {
		cases = append(cases,
			verifyCase{name: "flipped bit in timestamp is a bad signature", want: ReasonBadSignature,
				mutate: func(t *testing.T, h http.Header, body []byte) []byte { fx.ts.edit(t, h, flipLastBit); return body }},
			verifyCase{name: "non-numeric timestamp is malformed", want: ReasonMalformedHeader,
				mutate: func(t *testing.T, h http.Header, body []byte) []byte {
					fx.ts.edit(t, h, func(s string) string { return "+" + s })
					return body
				}},
			verifyCase{name: "timestamp tolerance-1s old passes", skew: -tol + time.Second},
			verifyCase{name: "timestamp tolerance-1s ahead passes", skew: tol - time.Second},
			verifyCase{name: "timestamp tolerance+1s old is stale", skew: -tol - time.Second, want: ReasonStaleTimestamp},
			verifyCase{name: "timestamp tolerance+1s ahead is stale", skew: tol + time.Second, want: ReasonStaleTimestamp},
		)
	}
	return cases
}

// runVerifyCases signs testBody per row, applies the row's mutation and
// checks Verify's verdict.
func runVerifyCases(t *testing.T, fx fixture, cases []verifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			signer, secrets := tc.signer, tc.secrets
			if signer == nil {
				signer = keyOld
			}
			if secrets == nil {
				secrets = []Secret{keyOld}
			}
			ts := now.Add(tc.skew)
			body := []byte(testBody)
			h, err := Sign(fx.settings, signer, testID, ts, body)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if tc.mutate != nil {
				body = tc.mutate(t, h, body)
			}
			res, err := Verify(fx.settings, secrets, Request{Header: h, Body: body}, now)
			checkVerdict(t, res, err, tc.want)
			if tc.want != "" {
				return
			}
			if res.DeliveryID != fx.wantID {
				t.Errorf("DeliveryID = %q, want %q", res.DeliveryID, fx.wantID)
			}
			if wantTS := ts.Truncate(time.Second); fx.ts != nil && !res.Timestamp.Equal(wantTS) {
				t.Errorf("Timestamp = %v, want %v", res.Timestamp, wantTS)
			}
		})
	}
}

// checkVerdict asserts acceptance (want == "") or a *Failure with reason want.
func checkVerdict(t *testing.T, res Result, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Verify rejected a valid delivery: %v", err)
		}
		return
	}
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("Verify = %+v, %v; want a *Failure %q", res, err, want)
	}
	if f.Reason != want {
		t.Fatalf("Reason = %q (%s), want %q", f.Reason, f.Detail, want)
	}
	if f.Detail == "" {
		t.Errorf("Failure %q has no detail", f.Reason)
	}
}

// signWith signs testBody at now, failing the test on error.
func signWith(t *testing.T, s Settings, key Secret, body string) http.Header {
	t.Helper()
	h, err := Sign(s, key, testID, now, []byte(body))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return h
}
