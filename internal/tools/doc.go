// Package tools is the home of AIAS's tooling, which the production
// programs (aias-ingress, aias-worker, aias-scheduler) never link:
//
//   - bench: 'aias bench', AIAS measured against this machine's floor
//     (docs/benchmarks.md); bench/floor is the floor route, served only by
//     the ingress 'aias bench ingress' starts;
//   - chaos: 'aias chaos', the fault-injection suite (docs/reliability.md);
//   - tcpproxy: a TCP forwarder that can be cut, for the fault suite and
//     the tests;
//   - loopback: free ports for programs started as processes.
//
// The operator CLI (cmd/aias) and tests import them; nothing else may
// (depguard in .golangci.yml), and this package's test proves the
// production programs' dependencies hold none of them.
package tools
