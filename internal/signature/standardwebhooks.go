package signature

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"time"

	"aias/internal/errs"
)

// headerSet names the three Standard Webhooks headers of one family.
type headerSet struct{ id, ts, sig string }

var (
	swNames   = headerSet{id: "webhook-id", ts: "webhook-timestamp", sig: "webhook-signature"}
	svixNames = headerSet{id: "svix-id", ts: "svix-timestamp", sig: "svix-signature"}
)

// present reports whether any header of the set was sent.
func (n headerSet) present(h http.Header) bool {
	return len(h.Values(n.id))+len(h.Values(n.ts))+len(h.Values(n.sig)) > 0
}

// swFamily picks the header family: webhook-* wins; svix-* is read only when
// no webhook-* header was sent, so one delivery never mixes the two.
func swFamily(h http.Header) headerSet {
	if !swNames.present(h) && svixNames.present(h) {
		return svixNames
	}
	return swNames
}

func verifyStandardWebhooks(s *Settings, keys []Secret, req Request, now time.Time) (Result, *Failure) {
	names := swFamily(req.Header)
	id, f := headerValue(req.Header, names.id)
	if f != nil {
		return Result{}, f
	}
	rawTS, ts, f := timestampHeader(req.Header, names.ts)
	if f != nil {
		return Result{}, f
	}
	list, f := headerValue(req.Header, names.sig)
	if f != nil {
		return Result{}, f
	}
	sigs, f := parseSignatureList(names.sig, list)
	if f != nil {
		return Result{}, f
	}
	ok := anyMatch(keys, sigs, func(k []byte) []byte {
		return mac(sha256.New, k, req.Body, id, ".", rawTS, ".")
	})
	if !ok {
		return Result{}, noMatch(names.sig)
	}
	if f := checkWindow(ts, now, s.Tolerance.std()); f != nil {
		return Result{}, f
	}
	return Result{DeliveryID: id, Timestamp: ts, idSigned: true}, nil
}

// parseSignatureList parses "v1,<base64> v1,<base64> v1a,<...>": entries of
// other versions (v1a is the asymmetric ed25519 flavour) are skipped, so a
// header with no v1 entry at all is an unknown version rather than a bad
// signature.
func parseSignatureList(header, list string) ([][]byte, *Failure) {
	var sigs [][]byte
	for _, entry := range strings.Fields(list) {
		version, enc, ok := strings.Cut(entry, ",")
		if !ok {
			return nil, malformed("%s entry has no version", header)
		}
		if version != "v1" {
			continue
		}
		sig, ok := decodeSig(encBase64, enc)
		if !ok {
			return nil, malformed("%s has a v1 signature that is not valid base64", header)
		}
		if len(sig) != sha256.Size {
			return nil, malformed("%s has a v1 signature of %d bytes, want %d", header, len(sig), sha256.Size)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return nil, fail(ReasonUnknownVersion, "%s has no v1 signature", header)
	}
	return sigs, nil
}

func signStandardWebhooks(_ *Settings, key Secret, id string, ts time.Time, body []byte) (http.Header, error) {
	// Header values lose surrounding whitespace in transit: an id that is
	// blank or padded could never verify as signed.
	if strings.TrimSpace(id) != id || id == "" {
		return nil, errs.E(errs.Invalid, "missing_delivery_id", "standard-webhooks signs a delivery id; give a non-blank one without surrounding spaces")
	}
	rawTS := strconv.FormatInt(ts.Unix(), 10)
	sig := mac(sha256.New, key, body, id, ".", rawTS, ".")
	h := http.Header{}
	h.Set(swNames.id, id)
	h.Set(swNames.ts, rawTS)
	h.Set(swNames.sig, "v1,"+encodeSig(encBase64, sig))
	return h, nil
}
