// Package e2e holds AIAS's end-to-end tests: ingress, worker and scheduler
// running in-process on a real Postgres database and a real Redis, driven
// only through HTTP, the way a user and a sender see the system.
package e2e
