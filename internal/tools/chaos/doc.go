// Package chaos is the fault-injection suite of AIAS (docs/reliability.md).
//
// It runs the real programs — one ingress, two workers, one scheduler — as
// separate processes on a database of their own (created on the Postgres
// cluster for one suite run and dropped afterwards, reached through a TCP
// proxy the suite can cut) and a redis-server of their own (which it can
// kill -9, restart empty or flush). A load generator posts signed webhooks at
// a steady rate to workflows whose http steps call a local recording server
// that counts every Idempotency-Key. Each scenario injects one fault, lets
// the system recover and measures:
//
//   - L: accepted runs (a 2xx answer) missing or not terminal after recovery;
//   - D: duplicate side effects (recorded calls with a key already seen);
//   - R: time from the end of the fault until every accepted run is terminal;
//
// plus the scenario's own checks, 5xx answers other than the prescribed 503,
// and panics in any program's log.
//
// `aias chaos` runs the whole suite; the package's test runs a short subset.
package chaos
