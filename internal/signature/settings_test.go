package signature

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"aias/internal/errs"
)

func TestNormalizeFillsDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Settings
		want Settings
	}{
		{"empty scheme means token", Settings{}, Settings{Scheme: Token}},
		{"scheme is case-insensitive", Settings{Scheme: " GitHub "}, Settings{Scheme: GitHub}},
		{"standard-webhooks gets 5m", Settings{Scheme: StandardWebhooks}, Settings{Scheme: StandardWebhooks, Tolerance: Duration(5 * time.Minute)}},
		{"stripe gets 5m", Settings{Scheme: Stripe}, Settings{Scheme: Stripe, Tolerance: Duration(5 * time.Minute)}},
		{"slack gets 5m", Settings{Scheme: Slack}, Settings{Scheme: Slack, Tolerance: Duration(5 * time.Minute)}},
		{"explicit tolerance is kept", Settings{Scheme: Stripe, Tolerance: Duration(time.Minute)}, Settings{Scheme: Stripe, Tolerance: Duration(time.Minute)}},
		{"hmac gets sha256 hex and a canonical header", Settings{Scheme: HMAC, Header: "x-signature"},
			Settings{Scheme: HMAC, Header: "X-Signature", Algorithm: "sha256", Encoding: "hex"}},
		{"hmac with timestamp header gets 5m", Settings{Scheme: HMAC, Header: "X-Sig", Algorithm: "SHA512", Encoding: "Base64", TimestampHeader: "x-ts", DeliveryIDHeader: "x-id"},
			Settings{Scheme: HMAC, Header: "X-Sig", Algorithm: "sha512", Encoding: "base64", TimestampHeader: "X-Ts", DeliveryIDHeader: "X-Id", Tolerance: Duration(5 * time.Minute)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.in
			if err := got.Normalize(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
			again := got
			if err := again.Normalize(); err != nil || again != got {
				t.Errorf("Normalize is not idempotent: %+v, %v", again, err)
			}
		})
	}
}

func TestNormalizeReportsEveryProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        Settings
		wantPaths []string
	}{
		{"every hmac problem at once",
			Settings{Scheme: HMAC, Algorithm: "md5", Encoding: "base32", Prefix: " sha256=\n", TimestampHeader: "X Timestamp", DeliveryIDHeader: "X-Id:", Tolerance: Duration(10 * time.Second)},
			[]string{"verification.algorithm", "verification.delivery_id_header", "verification.encoding", "verification.header", "verification.prefix", "verification.timestamp_header", "verification.tolerance"}},
		{"unknown scheme with an out-of-range tolerance",
			Settings{Scheme: "paypal", Tolerance: Duration(2 * time.Hour)},
			[]string{"verification.scheme", "verification.tolerance"}},
		{"hmac-only fields on another scheme",
			Settings{Scheme: GitHub, Header: "X-Sig", Algorithm: "sha1", Encoding: "hex", Prefix: "p", TimestampHeader: "X-T", DeliveryIDHeader: "X-D"},
			[]string{"verification.algorithm", "verification.delivery_id_header", "verification.encoding", "verification.header", "verification.prefix", "verification.timestamp_header"}},
		{"tolerance where no timestamp is signed", Settings{Scheme: Shopify, Tolerance: Duration(time.Minute)}, []string{"verification.tolerance"}},
		{"tolerance on hmac without timestamp header", Settings{Scheme: HMAC, Header: "X-Sig", Tolerance: Duration(time.Minute)}, []string{"verification.tolerance"}},
		{"negative tolerance", Settings{Scheme: Slack, Tolerance: Duration(-time.Minute)}, []string{"verification.tolerance"}},
		{"headers that collide", Settings{Scheme: HMAC, Header: "X-Sig", TimestampHeader: "x-sig", DeliveryIDHeader: "X-SIG"},
			[]string{"verification.delivery_id_header", "verification.timestamp_header"}},
		{"prefix too long", Settings{Scheme: HMAC, Header: "X-Sig", Prefix: strings.Repeat("p", 65)}, []string{"verification.prefix"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.in.Normalize()
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.Invalid || e.Code != "validation_failed" {
				t.Fatalf("Normalize = %v, want a validation error", err)
			}
			var paths []string
			for _, f := range e.Fields {
				paths = append(paths, f.Path)
			}
			slices.Sort(paths)
			if diff := cmp.Diff(tc.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

func TestToleranceBoundsAreInclusive(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{30 * time.Second, time.Hour} {
		s := Settings{Scheme: Stripe, Tolerance: Duration(d)}
		if err := s.Normalize(); err != nil {
			t.Errorf("tolerance %s: %v", d, err)
		}
	}
	for _, d := range []time.Duration{29 * time.Second, time.Hour + time.Second} {
		s := Settings{Scheme: Stripe, Tolerance: Duration(d)}
		if err := s.Normalize(); err == nil {
			t.Errorf("tolerance %s accepted", d)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want time.Duration
		bad  bool
	}{
		{"duration string", `"5m"`, 5 * time.Minute, false},
		{"compound duration string", `"1m30s"`, 90 * time.Second, false},
		{"integer seconds", `300`, 5 * time.Minute, false},
		{"fractional seconds", `1.5`, 1500 * time.Millisecond, false},
		{"null leaves zero", `null`, 0, false},
		{"unit-less string", `"300"`, 0, true},
		{"boolean", `true`, 0, true},
		{"overflowing number", `1e300`, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s Settings
			err := json.Unmarshal([]byte(`{"scheme":"stripe","tolerance":`+tc.in+`}`), &s)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted %s as %s", tc.in, s.Tolerance.std())
				}
				return
			}
			if err != nil || s.Tolerance.std() != tc.want {
				t.Fatalf("got %s, %v; want %s", s.Tolerance.std(), err, tc.want)
			}
		})
	}
}

func TestSettingsJSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := Settings{Scheme: HMAC, Tolerance: Duration(90 * time.Second), Header: "X-Sig", Algorithm: "sha512",
		Encoding: "base64", Prefix: "v1=", TimestampHeader: "X-Ts", DeliveryIDHeader: "X-Id"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"tolerance":"1m30s"`) {
		t.Errorf("tolerance not written as a duration string: %s", b)
	}
	var out Settings
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip changed settings: %+v", out)
	}
	b, _ = json.Marshal(Settings{Scheme: GitHub})
	if string(b) != `{"scheme":"github"}` {
		t.Errorf("unused fields not omitted: %s", b)
	}
}
