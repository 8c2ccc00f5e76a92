package signature

import (
	"crypto/sha1" //nolint:gosec // legacy senders sign with HMAC-SHA1, which is still a sound MAC
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"net/http"
	"strconv"
	"time"
)

// Algorithms of the generic scheme.
const (
	algSHA1   = "sha1"
	algSHA256 = "sha256"
	algSHA512 = "sha512"
)

var algorithms = map[string]func() hash.Hash{
	algSHA1:   sha1.New,
	algSHA256: sha256.New,
	algSHA512: sha512.New,
}

// genericMessage is the signed message's head: "{timestamp}." when a
// timestamp header is configured, nothing otherwise.
func genericMessage(rawTS string) []string {
	if rawTS == "" {
		return nil
	}
	return []string{rawTS, "."}
}

func verifyGeneric(s *Settings, keys []Secret, req Request, now time.Time) (Result, *Failure) {
	var (
		rawTS string
		ts    time.Time
		f     *Failure
	)
	if s.TimestampHeader != "" {
		if rawTS, ts, f = timestampHeader(req.Header, s.TimestampHeader); f != nil {
			return Result{}, f
		}
	}
	value, f := headerValue(req.Header, s.Header)
	if f != nil {
		return Result{}, f
	}
	newHash := algorithms[s.Algorithm]
	sig, f := decodePrefixed(s.Header, value, s.Prefix, s.Encoding, newHash().Size())
	if f != nil {
		return Result{}, f
	}
	ok := anyMatch(keys, [][]byte{sig}, func(k []byte) []byte {
		return mac(newHash, k, req.Body, genericMessage(rawTS)...)
	})
	if !ok {
		return Result{}, noMatch(s.Header)
	}
	if rawTS != "" {
		if f := checkWindow(ts, now, s.Tolerance.std()); f != nil {
			return Result{}, f
		}
	}
	res := Result{Timestamp: ts}
	if s.DeliveryIDHeader != "" {
		res.DeliveryID = req.Header.Get(s.DeliveryIDHeader)
	}
	return res, nil
}

func signGeneric(s *Settings, key Secret, id string, ts time.Time, body []byte) (http.Header, error) {
	h := http.Header{}
	var rawTS string
	if s.TimestampHeader != "" {
		rawTS = strconv.FormatInt(ts.Unix(), 10)
		h.Set(s.TimestampHeader, rawTS)
	}
	sig := mac(algorithms[s.Algorithm], key, body, genericMessage(rawTS)...)
	h.Set(s.Header, s.Prefix+encodeSig(s.Encoding, sig))
	if s.DeliveryIDHeader != "" && id != "" {
		h.Set(s.DeliveryIDHeader, id)
	}
	return h, nil
}
