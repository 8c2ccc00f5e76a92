package signature

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"
)

func FuzzParseSignatureList(f *testing.F) {
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,abc v1,g0hM9SsE")
	f.Add("v1a,c2lnbmF0dXJl")
	f.Add("v1,")
	f.Add(",,, v1")
	f.Fuzz(func(t *testing.T, list string) {
		sigs, fl := parseSignatureList("webhook-signature", list)
		if fl != nil {
			if sigs != nil {
				t.Fatal("signatures returned with a failure")
			}
			return
		}
		if len(sigs) == 0 || !strings.Contains(list, "v1,") {
			t.Fatalf("accepted %q without a v1 entry", list)
		}
		for _, s := range sigs {
			if len(s) != sha256.Size {
				t.Fatalf("signature of %d bytes from %q", len(s), list)
			}
		}
	})
}

func FuzzParseStripeHeader(f *testing.F) {
	f.Add("t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39")
	f.Add("t=1,v1=00,v1=")
	f.Add("v1=t=,t=v1")
	f.Add("t=99999999999999999999,v1=aa")
	f.Add(",")
	f.Fuzz(func(t *testing.T, value string) {
		sig, fl := parseStripeHeader(value)
		if fl != nil {
			return
		}
		if _, ok := parseUnix(sig.rawTS); !ok {
			t.Fatalf("accepted timestamp %q", sig.rawTS)
		}
		if len(sig.v1) == 0 {
			t.Fatalf("accepted %q without v1", value)
		}
		for _, s := range sig.v1 {
			if len(s) != sha256.Size {
				t.Fatalf("signature of %d bytes from %q", len(s), value)
			}
		}
	})
}

func FuzzDecodePrefixed(f *testing.F) {
	f.Add("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "sha256=", uint8(0))
	f.Add("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "", uint8(1))
	f.Add("g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE", "", uint8(2))
	f.Add("=====", "", uint8(1))
	f.Add("", "p", uint8(3))
	encodings := []string{encHex, encBase64, encBase64URL, "bogus"}
	f.Fuzz(func(t *testing.T, value, prefix string, e uint8) {
		enc := encodings[int(e)%len(encodings)]
		sig, fl := decodePrefixed("X-Sig", value, prefix, enc, sha256.Size)
		if fl != nil {
			return
		}
		if len(sig) != sha256.Size || !strings.HasPrefix(value, prefix) {
			t.Fatalf("accepted %q (prefix %q, %s) as %x", value, prefix, enc, sig)
		}
		again, fl := decodePrefixed("X-Sig", prefix+encodeSig(enc, sig), prefix, enc, sha256.Size)
		if fl != nil || !bytes.Equal(again, sig) {
			t.Fatalf("re-encoded signature does not decode: %v", fl)
		}
	})
}

// fuzzSettings are the signing configurations FuzzVerify picks from.
var fuzzSettings = []Settings{
	{Scheme: StandardWebhooks},
	{Scheme: Stripe},
	{Scheme: GitHub},
	{Scheme: Slack},
	{Scheme: Shopify},
	{Scheme: HMAC, Header: "X-Sig", Prefix: "sha256=", TimestampHeader: "X-Ts", DeliveryIDHeader: "X-Id"},
	{Scheme: HMAC, Header: "X-Sig", Algorithm: "sha1", Encoding: "base64"},
	{Scheme: HMAC, Header: "X-Sig", Algorithm: "sha512", Encoding: "base64url"},
}

// FuzzVerify signs body with key A, lets the fuzzer rewrite up to two
// headers, and checks that Verify never panics, never accepts under key B,
// and accepts untouched deliveries under key A.
func FuzzVerify(f *testing.F) {
	f.Add(uint8(0), []byte(testBody), "msg_1", int64(0), "", "", "", "")
	f.Add(uint8(1), []byte(`{"id":"evt_1"}`), "", int64(-299), "Stripe-Signature", "t=1700000000,v1=00", "", "")
	f.Add(uint8(2), []byte("Hello, World!"), "d", int64(0), "X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "", "")
	f.Add(uint8(3), []byte("payload=%7B%22event_id%22%3A%22E%22%7D"), "", int64(301), "X-Slack-Signature", "v1=ab", "X-Slack-Request-Timestamp", "1700000000")
	f.Add(uint8(4), []byte{}, "", int64(0), "X-Shopify-Hmac-Sha256", "", "X-Shopify-Hmac-Sha256", "x")
	f.Add(uint8(5), []byte("{}"), "id", int64(10), "X-Ts", "1700000001", "X-Sig", "sha256=")
	f.Add(uint8(0), []byte("x"), "m", int64(0), "svix-signature", "v1,AAAA", "webhook-id", "m")
	f.Fuzz(func(t *testing.T, pick uint8, body []byte, id string, skew int64, name1, value1, name2, value2 string) {
		s := fuzzSettings[int(pick)%len(fuzzSettings)]
		keyA, keyB := Secret("fuzz-key-A"), Secret("fuzz-key-B")
		if id == "" {
			id = "msg_fuzz"
		}
		skew %= int64(time.Hour / time.Second)
		h, err := Sign(s, keyA, id, now.Add(time.Duration(skew)*time.Second), body)
		if err != nil {
			return // not a delivery a sender could make (e.g. a blank id)
		}
		if name1 != "" {
			h.Set(name1, value1)
		}
		if name2 != "" {
			h.Add(name2, value2)
		}
		req := Request{Header: h, Body: body}

		if res, err := Verify(s, []Secret{keyB}, req, now); err == nil {
			t.Fatalf("accepted a delivery signed with another key: %+v, headers %v", res, h)
		}
		_, err = Verify(s, []Secret{keyA}, req, now)
		untouched := name1 == "" && name2 == ""
		inWindow := skew >= -300 && skew <= 300
		if untouched && inWindow && err != nil {
			t.Fatalf("rejected an untouched delivery: %v", err)
		}
		// Arbitrary headers alone must not panic either.
		_, _ = Verify(s, []Secret{keyA}, Request{Header: http.Header{name1: {value1}, name2: {value2}}, Body: body}, now)
	})
}
