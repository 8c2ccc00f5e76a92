// Package keyring encrypts the secrets AIAS must keep in clear form but store
// in Postgres: tenants' webhook signing secrets and integration credentials.
// They are needed in clear to verify signatures and to call APIs, so they are
// encrypted, not hashed.
//
// # Keys
//
// The key-encryption keys (KEKs) come from configuration as one string,
//
//	k2:BASE64,k1:BASE64
//
// a comma-separated list of id:base64(32 random bytes) entries (standard or
// URL-safe base64, padded or not). The FIRST entry is the primary: it wraps
// everything Seal produces. Every entry is accepted by Open. Ids are 1 to 32
// characters of [A-Za-z0-9_-] and must be unique. Generate returns a fresh
// entry named k<unix seconds>. Parse reports every problem of a spec at once
// and never echoes key material; neither do String, GoString or any %-verb
// applied to a *Keyring.
//
// # Envelope encryption and the sealed format
//
// Seal draws a fresh random 32-byte data key (DEK) per value, encrypts the
// plaintext with it (AES-256-GCM) and encrypts ("wraps") the DEK with the
// primary KEK (AES-256-GCM). The result is one self-describing byte string:
//
//	version (1 byte, = 1)
//	len(kid) (1 byte, 1..32)
//	kid (the id of the wrapping KEK, ASCII)
//	nonce (12) | wrapped DEK (32) | tag (16)      -- under the KEK
//	nonce (12) | ciphertext (len(plaintext)) | tag (16)  -- under the DEK
//
// so a value is 90+len(kid)+len(plaintext) bytes long.
// Nonces are random; as each DEK encrypts exactly one message, and a KEK
// wraps only 32-byte keys, random 96-bit nonces are far from their limits.
//
// The envelope is what makes key rotation cheap: to retire a KEK, add a new
// primary in front of it, deploy, and run Rewrap over the stored values.
// Rewrap decrypts and re-encrypts only the 48-byte wrapped DEK; the data
// ciphertext is copied untouched, and values already under the primary are
// returned as they are without any cryptography. KeyID tells which KEK wraps
// a value, so a rotation job can find what is left. Once nothing reports the
// old id, drop it from the configuration.
//
// # Binding values to their row
//
// Both GCM operations authenticate the caller's additional data (aad), which
// is not stored in the output. Callers build it with AAD from what identifies
// the row and the purpose of the secret,
//
//	keyring.AAD("webhook-secret", tenantID, endpointID, secretID)
//
// so a ciphertext copied into another row, another tenant or another column
// (by a bug, a restore gone wrong or an attacker with write access to the
// database) fails to open instead of handing tenant A's secret to tenant B.
// The wrapped DEK is bound too, so it cannot be transplanted either. AAD
// length-prefixes every part, so ("ab", "c") and ("a", "bc") differ.
//
// # Errors
//
// Every failure of Open, Rewrap and KeyID on a value wraps ErrUndecryptable:
// a flipped bit anywhere, truncation, a different aad, an unsupported version
// or a kid that is not in the keyring (ErrUnknownKey too; the message names
// the kid). These errors are deliberately unclassified, so errs.KindOf
// reports errs.Internal and the HTTP edge shows nothing of them to clients.
package keyring
