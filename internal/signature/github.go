package signature

import (
	"crypto/sha256"
	"net/http"
	"time"
)

const (
	githubHeader       = "X-Hub-Signature-256"
	githubLegacyHeader = "X-Hub-Signature" // HMAC-SHA1; not accepted
	githubDelivery     = "X-GitHub-Delivery"
	githubPrefix       = "sha256="
)

func verifyGitHub(_ *Settings, keys []Secret, req Request, _ time.Time) (Result, *Failure) {
	value, f := headerValue(req.Header, githubHeader)
	if f != nil {
		if f.Reason == ReasonMissingHeader && req.Header.Get(githubLegacyHeader) != "" {
			return Result{}, fail(ReasonUnknownVersion, "only the SHA-1 %s is present; %s is required", githubLegacyHeader, githubHeader)
		}
		return Result{}, f
	}
	sig, f := decodePrefixed(githubHeader, value, githubPrefix, encHex, sha256.Size)
	if f != nil {
		return Result{}, f
	}
	ok := anyMatch(keys, [][]byte{sig}, func(k []byte) []byte {
		return mac(sha256.New, k, req.Body)
	})
	if !ok {
		return Result{}, noMatch(githubHeader)
	}
	return Result{DeliveryID: req.Header.Get(githubDelivery)}, nil
}

func signGitHub(_ *Settings, key Secret, id string, _ time.Time, body []byte) (http.Header, error) {
	h := http.Header{}
	h.Set(githubHeader, githubPrefix+encodeSig(encHex, mac(sha256.New, key, body)))
	if id != "" {
		h.Set(githubDelivery, id)
	}
	return h, nil
}
