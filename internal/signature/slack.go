package signature

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	slackHeader    = "X-Slack-Signature"
	slackTimestamp = "X-Slack-Request-Timestamp"
	slackVersion   = "v0"
)

func verifySlack(s *Settings, keys []Secret, req Request, now time.Time) (Result, *Failure) {
	rawTS, ts, f := timestampHeader(req.Header, slackTimestamp)
	if f != nil {
		return Result{}, f
	}
	value, f := headerValue(req.Header, slackHeader)
	if f != nil {
		return Result{}, f
	}
	sig, f := parseSlackSignature(value)
	if f != nil {
		return Result{}, f
	}
	ok := anyMatch(keys, [][]byte{sig}, func(k []byte) []byte {
		return mac(sha256.New, k, req.Body, slackVersion, ":", rawTS, ":")
	})
	if !ok {
		return Result{}, noMatch(slackHeader)
	}
	if f := checkWindow(ts, now, s.Tolerance.std()); f != nil {
		return Result{}, f
	}
	res := Result{Timestamp: ts}
	res.DeliveryID, res.Challenge = slackBody(req.Body)
	res.idSigned = res.DeliveryID != "" // read from the verified body
	return res, nil
}

// parseSlackSignature parses "v0=<hex>". Slack versions its basestring; a
// version other than v0 cannot be checked, which is not the same as a forgery.
func parseSlackSignature(value string) ([]byte, *Failure) {
	version, _, ok := strings.Cut(value, "=")
	if !ok {
		return nil, malformed("%s has no version", slackHeader)
	}
	if version != slackVersion {
		return nil, fail(ReasonUnknownVersion, "%s is not a %s signature", slackHeader, slackVersion)
	}
	return decodePrefixed(slackHeader, value, slackVersion+"=", encHex, sha256.Size)
}

// slackBody extracts the event id and, for url_verification, the challenge.
// Events API bodies are JSON; interactive payloads are a form whose
// "payload" field holds the JSON.
func slackBody(body []byte) (eventID, challenge string) {
	trimmed := bytes.TrimSpace(body)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		if jsonField(trimmed, "type") == "url_verification" {
			challenge = jsonField(trimmed, "challenge")
		}
		return jsonField(trimmed, "event_id"), challenge
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", ""
	}
	return jsonField([]byte(form.Get("payload")), "event_id"), ""
}

func signSlack(_ *Settings, key Secret, _ string, ts time.Time, body []byte) (http.Header, error) {
	rawTS := strconv.FormatInt(ts.Unix(), 10)
	sig := mac(sha256.New, key, body, slackVersion, ":", rawTS, ":")
	h := http.Header{}
	h.Set(slackTimestamp, rawTS)
	h.Set(slackHeader, slackVersion+"="+encodeSig(encHex, sig))
	return h, nil
}
