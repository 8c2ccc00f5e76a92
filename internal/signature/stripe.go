package signature

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const stripeHeader = "Stripe-Signature"

// stripeSig is a parsed Stripe-Signature header.
type stripeSig struct {
	rawTS string
	ts    time.Time
	v1    [][]byte
}

func verifyStripe(s *Settings, keys []Secret, req Request, now time.Time) (Result, *Failure) {
	value, f := headerValue(req.Header, stripeHeader)
	if f != nil {
		return Result{}, f
	}
	sig, f := parseStripeHeader(value)
	if f != nil {
		return Result{}, f
	}
	ok := anyMatch(keys, sig.v1, func(k []byte) []byte {
		return mac(sha256.New, k, req.Body, sig.rawTS, ".")
	})
	if !ok {
		return Result{}, noMatch(stripeHeader)
	}
	if f := checkWindow(sig.ts, now, s.Tolerance.std()); f != nil {
		return Result{}, f
	}
	// The event id lives in the body; it is trustworthy only now that the
	// body is verified.
	id := jsonField(req.Body, "id")
	return Result{DeliveryID: id, Timestamp: sig.ts, idSigned: id != ""}, nil
}

// parseStripeHeader parses "t=<unix>,v1=<hex>,v1=<hex>,v0=<hex>". Stripe
// sends one v1 per active secret during a roll; other schemes (v0 is a test
// mode signature) are ignored. A header without v1 is an unknown version.
func parseStripeHeader(value string) (stripeSig, *Failure) {
	var sig stripeSig
	for _, item := range strings.Split(value, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return stripeSig{}, malformed("%s has an item without '='", stripeHeader)
		}
		switch key {
		case "t":
			if sig.rawTS != "" {
				return stripeSig{}, malformed("%s has more than one timestamp", stripeHeader)
			}
			ts, ok := parseUnix(val)
			if !ok {
				return stripeSig{}, malformed("%s timestamp is not unix seconds", stripeHeader)
			}
			sig.rawTS, sig.ts = val, ts
		case "v1":
			b, f := decodePrefixed(stripeHeader, val, "", encHex, sha256.Size)
			if f != nil {
				return stripeSig{}, f
			}
			sig.v1 = append(sig.v1, b)
		}
	}
	if sig.rawTS == "" {
		return stripeSig{}, malformed("%s has no timestamp", stripeHeader)
	}
	if len(sig.v1) == 0 {
		return stripeSig{}, fail(ReasonUnknownVersion, "%s has no v1 signature", stripeHeader)
	}
	return sig, nil
}

func signStripe(_ *Settings, key Secret, _ string, ts time.Time, body []byte) (http.Header, error) {
	rawTS := strconv.FormatInt(ts.Unix(), 10)
	sig := mac(sha256.New, key, body, rawTS, ".")
	h := http.Header{}
	h.Set(stripeHeader, "t="+rawTS+",v1="+encodeSig(encHex, sig))
	return h, nil
}
