// Package signature verifies that a webhook delivery was signed by its
// sender, exactly as each provider specifies, and produces such signatures
// for tests and tools.
//
// Verify sees the raw body bytes before any parsing, the request headers, the
// endpoint's Settings (non-secret, stored as JSON) and every currently valid
// Secret (several during a rotation's grace period). It returns a Result or a
// *Failure whose Reason is one of the stable Reason* strings; the Detail is
// human text that never contains secrets, expected signatures or the
// received header values.
//
// # Schemes and wire formats
//
// token: the URL token alone (checked elsewhere). Verify always succeeds;
// the delivery id is the Idempotency-Key header, else webhook-id.
//
// standard-webhooks (https://www.standardwebhooks.com): three headers,
//
//	webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek
//	webhook-timestamp: 1614265330
//	webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,<...>
//
// The signature list is space-separated "version,base64" entries; each v1
// entry is base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")). The key is
// the base64 payload of a "whsec_" secret. Entries of other versions (v1a,
// ed25519) are ignored; a list with no v1 entry is unknown_version. The
// svix-id, svix-timestamp and svix-signature names are read when no webhook-*
// header is present. The delivery id is webhook-id, which is signed.
//
// stripe: one header,
//
//	Stripe-Signature: t=1492774577,v1=<hex>,v1=<hex>,v0=<hex>
//
// Each v1 is hex(HMAC-SHA256(key, "{t}.{body}")) where the key is the literal
// secret string, "whsec_" included. Stripe sends one v1 per active secret
// while a secret is rolled; other schemes are ignored and a header with no v1
// is unknown_version. The delivery id is the body's "id" (the event id), read
// only after the body is verified.
//
// github: X-Hub-Signature-256: sha256=<hex(HMAC-SHA256(key, body))>. The
// SHA-1 X-Hub-Signature alone is unknown_version. The delivery id is
// X-GitHub-Delivery (not signed).
//
// slack: X-Slack-Signature: v0=<hex(HMAC-SHA256(key, "v0:{ts}:{body}"))> with
// ts from X-Slack-Request-Timestamp. Another version ("v1=") is
// unknown_version. The delivery id is the JSON body's "event_id", or that of
// the JSON in the "payload" field of a form-encoded body (interactivity).
// For a body of "type": "url_verification", Result.Challenge carries the
// "challenge" to echo; no run should be created for it.
//
// shopify: X-Shopify-Hmac-Sha256: <base64(HMAC-SHA256(key, body))>. The
// delivery id is X-Shopify-Webhook-Id (not signed).
//
// hmac (generic): Settings.Header carries Prefix + encode(HMAC-alg(key,
// msg)), with alg sha1 (legacy senders), sha256 (default) or sha512, and
// encoding hex (default), base64 or base64url (padding optional). msg is the
// body, or "{timestamp}.{body}" when TimestampHeader is set, in which case
// the window applies. The delivery id is the DeliveryIDHeader, if set.
//
// Every scheme falls back to the Idempotency-Key header for the delivery id.
// Only the standard-webhooks id and the ids read from a verified body are
// covered by the signature; header ids are hints for deduplication only.
// Where a signature was checked but the id is not covered by it, the Result
// carries a ReplayWindow: for that long a repeat of the same body is the
// same delivery whatever id it carries (the intake keeps a body hash per
// endpoint for it). It is twice the tolerance when a timestamp is signed
// (slack without event_id, hmac with timestamp_header: that covers every
// moment a copy still verifies) and DefaultReplayWindow (5 minutes) when
// nothing bounds a copy (github, shopify, hmac without timestamp_header).
//
// # Rules
//
//   - Comparisons are constant-time (hmac.Equal) on decoded MACs; any
//     signature under any secret passes, which is what makes rotation work.
//   - Empty secrets never verify anything; a signing scheme with no usable
//     secret is a configuration error (errs.Conflict), not a Failure.
//   - A signature header, timestamp header or standard-webhooks id sent on
//     two header lines is malformed_header: which line a proxy or a library
//     would pick is ambiguous, and that ambiguity is an attack surface.
//     Several signatures belong in one line (standard-webhooks, stripe).
//   - A signature that does not decode, or decodes to the wrong length
//     (truncated), is malformed_header; a well-formed one that matches no
//     secret is bad_signature.
//   - Timestamps are unix seconds, digits only. The window is |now - t| <=
//     tolerance, both ways (stricter than stripe-go, which accepts any future
//     timestamp). The default is 5 minutes; bounds are 30 s .. 1 h.
//   - The signature is checked before the window, so stale_timestamp is
//     reported only for authentic deliveries: a tenant reading the rejection
//     log then knows the secret is right and the clock or a replay is not.
//   - Settings.Normalize reports every problem at once and rejects fields a
//     scheme does not use (hmac-only fields elsewhere, a tolerance where no
//     timestamp is signed).
package signature
