package signature

import (
	"net/http"
	"slices"
	"time"

	"aias/internal/errs"
)

// Scheme names (the "scheme" of an endpoint's verification settings).
const (
	Token            = "token" // URL token only: nothing to verify
	StandardWebhooks = "standard-webhooks"
	Stripe           = "stripe"
	GitHub           = "github"
	Slack            = "slack"
	Shopify          = "shopify"
	HMAC             = "hmac"
)

// Request is what verification sees: the raw body bytes, before any parsing.
type Request struct {
	Header http.Header
	Body   []byte
}

// Result of a successful verification.
type Result struct {
	DeliveryID string    // the sender's delivery id, "" if none (see the package doc)
	Timestamp  time.Time // the signed timestamp, zero if the scheme has none
	Challenge  string    // slack url_verification: the value to echo; no run should be created
	// ReplayWindow is how long after this delivery a repeat of the same
	// body to the same endpoint is the same delivery, whatever delivery id
	// it carries. It is set when a signature was verified but does not
	// cover the delivery id (github, shopify, hmac, a Slack body without an
	// event_id): anyone holding a captured delivery could resend it under a
	// new id. Zero for token (nothing is verified) and where the id is
	// signed (standard-webhooks; stripe's and slack's ids in the body).
	ReplayWindow time.Duration

	idSigned bool // the delivery id is covered by the signature
}

// DefaultReplayWindow is the ReplayWindow of a scheme that signs neither
// its delivery id nor a timestamp (github, shopify, hmac without
// timestamp_header): a repeat of a body within it is a duplicate, a repeat
// after it is a new delivery.
const DefaultReplayWindow = 5 * time.Minute

// scheme is one wire format. Settings reach it normalized.
type scheme struct {
	verify func(s *Settings, keys []Secret, req Request, now time.Time) (Result, *Failure)
	sign   func(s *Settings, key Secret, id string, ts time.Time, body []byte) (http.Header, error)
	// timestamped reports whether the scheme signs a timestamp, so the
	// tolerance applies.
	timestamped func(s *Settings) bool
}

func always(*Settings) bool { return true }
func never(*Settings) bool  { return false }

var schemes = map[string]scheme{
	Token:            {verifyToken, signToken, never},
	StandardWebhooks: {verifyStandardWebhooks, signStandardWebhooks, always},
	Stripe:           {verifyStripe, signStripe, always},
	GitHub:           {verifyGitHub, signGitHub, never},
	Slack:            {verifySlack, signSlack, always},
	Shopify:          {verifyShopify, signShopify, never},
	HMAC:             {verifyGeneric, signGeneric, func(s *Settings) bool { return s.TimestampHeader != "" }},
}

// Schemes returns the names of all schemes, sorted.
func Schemes() []string {
	names := make([]string, 0, len(schemes))
	for name := range schemes {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Known reports whether scheme names a supported scheme.
func Known(scheme string) bool {
	_, ok := schemes[scheme]
	return ok
}

// Verify checks req against any of the secrets (several during rotation) at
// time now. A rejected delivery yields a *Failure; invalid settings yield the
// errs.Validation error of Normalize, and a signing scheme without a usable
// secret an errs.Conflict ("no_signing_secret"): neither is the sender's fault.
func Verify(s Settings, secrets []Secret, req Request, now time.Time) (Result, error) {
	if err := s.Normalize(); err != nil {
		return Result{}, err
	}
	if s.Scheme != Token && !hasKey(secrets) {
		return Result{}, errNoSecret()
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	sc := schemes[s.Scheme]
	res, f := sc.verify(&s, secrets, req, now)
	if f != nil {
		return Result{}, f
	}
	if res.DeliveryID == "" {
		res.DeliveryID = req.Header.Get(idempotencyKey)
	}
	if s.Scheme != Token && !res.idSigned {
		res.ReplayWindow = replayWindow(&s, sc)
	}
	return res, nil
}

// replayWindow is how long a verified delivery whose id is not signed can
// come again. A signed timestamp is accepted from tolerance before to
// tolerance after it, so a copy arrives at most twice the tolerance after
// the first delivery: the window closes replays entirely. Without one a
// copy verifies for ever, and the window is DefaultReplayWindow.
func replayWindow(s *Settings, sc scheme) time.Duration {
	if sc.timestamped(s) {
		return 2 * s.Tolerance.std()
	}
	return DefaultReplayWindow
}

// Sign produces the headers a sender would send for body, signed with one
// secret at time ts. id is the delivery id, ignored where the scheme carries
// none in its headers (stripe and slack take it from the body).
func Sign(s Settings, secret Secret, id string, ts time.Time, body []byte) (http.Header, error) {
	if err := s.Normalize(); err != nil {
		return nil, err
	}
	if s.Scheme != Token && len(secret) == 0 {
		return nil, errNoSecret()
	}
	if ts.Unix() < 0 {
		return nil, errs.E(errs.Invalid, "invalid_timestamp", "cannot sign a timestamp before 1970")
	}
	return schemes[s.Scheme].sign(&s, secret, id, ts, body)
}

func hasKey(secrets []Secret) bool {
	return slices.ContainsFunc(secrets, func(k Secret) bool { return len(k) > 0 })
}

func errNoSecret() error {
	return errs.E(errs.Conflict, "no_signing_secret", "the endpoint has no signing secret for its verification scheme")
}

// verifyToken accepts everything: the URL token was checked before the
// request got here. The delivery id is whatever the sender volunteered.
func verifyToken(_ *Settings, _ []Secret, req Request, _ time.Time) (Result, *Failure) {
	id := req.Header.Get(idempotencyKey)
	if id == "" {
		id = req.Header.Get(swNames.id)
	}
	return Result{DeliveryID: id}, nil
}

func signToken(_ *Settings, _ Secret, id string, _ time.Time, _ []byte) (http.Header, error) {
	h := http.Header{}
	if id != "" {
		h.Set(idempotencyKey, id)
	}
	return h, nil
}
