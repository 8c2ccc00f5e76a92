package aias

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AIAS signs the requests it sends to a tenant's own servers — callback
// steps and on_finish notifications — the way Standard Webhooks senders
// sign: webhook-id, webhook-timestamp (Unix seconds) and webhook-signature,
// a space-separated list of "v1,<base64 HMAC-SHA256 of id.timestamp.body>"
// under the tenant's callback secret (whsec_<base64 key>). During a
// rotation's grace every live secret signs, so a receiver holding either
// the old or the new one verifies.

// DefaultCallbackTolerance is how far a callback's timestamp may be from
// the receiver's clock, either way.
const DefaultCallbackTolerance = 5 * time.Minute

// Why a callback does not verify; VerifyCallback's errors wrap one of these.
var (
	ErrCallbackHeaders   = errors.New("aias: webhook-id, webhook-timestamp and webhook-signature are required")
	ErrCallbackTimestamp = errors.New("aias: webhook-timestamp is outside the tolerance")
	ErrCallbackSignature = errors.New("aias: no signature matches")
	ErrCallbackSecret    = errors.New("aias: a callback secret is whsec_ followed by base64")
)

// VerifyCallback checks a callback AIAS sent: header and body as received
// (the body byte for byte), against the tenant's callback secret (whsec_…),
// with DefaultCallbackTolerance. nil means AIAS sent it.
//
//	body, _ := io.ReadAll(r.Body)
//	if err := aias.VerifyCallback(secret, r.Header, body); err != nil {
//		http.Error(w, "bad signature", http.StatusUnauthorized)
//		return
//	}
func VerifyCallback(secret string, header http.Header, body []byte) error {
	return CallbackVerifier{Secrets: []string{secret}}.Verify(header, body)
}

// CallbackVerifier checks callbacks against one or more secrets (while the
// receiver itself moves from an old secret to a new one) with a tolerance.
type CallbackVerifier struct {
	// Secrets are the callback secrets (whsec_…) any of which may have signed.
	Secrets []string
	// Tolerance bounds the timestamp's distance from now (0: 5 minutes).
	Tolerance time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Verify checks header and body; nil means one of the signatures is by one
// of the secrets and the timestamp is within the tolerance.
func (v CallbackVerifier) Verify(header http.Header, body []byte) error {
	id, ts, sigs := header.Get("webhook-id"), header.Get("webhook-timestamp"), header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrCallbackHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not Unix seconds", ErrCallbackTimestamp, ts)
	}
	now, tol := time.Now(), v.Tolerance
	if v.Now != nil {
		now = v.Now()
	}
	if tol <= 0 {
		tol = DefaultCallbackTolerance
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tol || d < -tol {
		return fmt.Errorf("%w: %s off", ErrCallbackTimestamp, d.Round(time.Second))
	}
	for _, secret := range v.Secrets {
		key, err := callbackKey(secret)
		if err != nil {
			return err
		}
		want := signCallback(key, id, ts, body)
		for _, s := range strings.Fields(sigs) {
			version, sig, ok := strings.Cut(s, ",")
			if ok && version == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
				return nil
			}
		}
	}
	return ErrCallbackSignature
}

// Handler verifies each request before next sees it: a request that does
// not verify is answered 401; the body next reads is the verified one. A
// body over 10 MiB is refused with 413.
func (v CallbackVerifier) Handler(next http.Handler) http.Handler {
	const maxBody = 10 << 20
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		if len(body) > maxBody {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		next.ServeHTTP(w, r)
	})
}

// SignCallback returns the webhook-signature value AIAS would send for
// this message under secret: for testing a receiver.
func SignCallback(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := callbackKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + signCallback(key, id, strconv.FormatInt(timestamp.Unix(), 10), body), nil
}

func callbackKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, ErrCallbackSecret
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, ErrCallbackSecret
	}
	return key, nil
}

func signCallback(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// RunFinished is the body of an on_finish notification: the run's outcome.
// Its webhook-id is "run_<run id>:finish" (":<round>" added when a
// re-driven run ends again), the same on every attempt, to deduplicate on.
type RunFinished struct {
	RunID           string     `json:"run_id"`
	WorkflowID      string     `json:"workflow_id"`
	WorkflowVersion int        `json:"workflow_version"`
	Status          RunStatus  `json:"status"`
	Error           *string    `json:"error"`
	Attempt         int        `json:"attempt"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
}

// ParseRunFinished verifies an on_finish notification and decodes it.
func (v CallbackVerifier) ParseRunFinished(header http.Header, body []byte) (RunFinished, error) {
	var n RunFinished
	if err := v.Verify(header, body); err != nil {
		return n, err
	}
	if err := json.Unmarshal(body, &n); err != nil {
		return n, fmt.Errorf("aias: on_finish body: %w", err)
	}
	return n, nil
}
