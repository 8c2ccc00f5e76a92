// Package safehttp is the egress guard for requests whose destination a
// tenant chooses, such as the http workflow step. It keeps those requests
// from reaching the infrastructure the service runs on (server-side request
// forgery): loopback, private networks, link-local addresses, cloud metadata
// services and the like.
//
// # Why the check happens at dial time
//
// Checking the URL before sending the request is not enough. A host name
// can resolve to an internal address; it can resolve to a public address
// when it is checked and to an internal one a moment later when the
// transport resolves it again (DNS rebinding); a redirect can point
// anywhere; and numeric spellings such as 127.1, 2130706433, 0x7f000001 or
// [::ffff:127.0.0.1] are read differently by different parsers. The only
// place where the destination is certain is the connection itself.
//
// The client returned by NewClient therefore installs its own DialContext.
// For every connection, including those made for redirects, it:
//
//  1. refuses the cloud metadata host names (metadata.google.internal,
//     metadata, instance-data, metadata.azure.com, ...) before resolving;
//  2. turns the host into addresses itself: an IP literal is used as is,
//     a numeric form that inet_aton would accept (127.1, 2130706433,
//     0x7f000001, 017700000001, 0x7f.1, ...) is decoded the same way, and
//     anything else is resolved with net.DefaultResolver;
//  3. checks every address and refuses the whole name if any one of them is
//     refused (a name that mixes public and internal addresses is refused
//     with the rule "mixed-resolution");
//  4. connects to the checked address literally, so the standard library
//     never resolves the name a second time, and re-checks the address the
//     socket is actually about to connect to (net.Dialer.ControlContext).
//
// The transport ignores HTTP_PROXY and friends: a proxy would resolve and
// connect on the guard's behalf, out of its sight.
//
// # Rules
//
// An address is refused, with the rule named in brackets, if it is:
//
//   - loopback: 127.0.0.0/8, ::1 [loopback]
//   - private: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7, the
//     deprecated site-local fec0::/10 and local-use NAT64 64:ff9b:1::/48
//     [private]
//   - link-local: 169.254.0.0/16, fe80::/10 [link-local]
//   - shared address space: 100.64.0.0/10 [cgnat]
//   - multicast: 224.0.0.0/4, ff00::/8 [multicast]
//   - unspecified: 0.0.0.0, :: [unspecified]
//   - "this network" 0.0.0.0/8, IETF protocol assignments 192.0.0.0/24,
//     documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
//     2001:db8::/32, 3fff::/20), benchmarking (198.18.0.0/15,
//     2001:2::/48), the deprecated 6to4 relay 192.88.99.0/24, 240.0.0.0/4
//     including broadcast 255.255.255.255, discard-only 100::/64, and any
//     IPv6 address outside the global unicast block 2000::/3 that no other
//     rule covers [reserved]
//   - a cloud metadata endpoint: 169.254.169.254, 169.254.170.2,
//     100.100.100.200, fd00:ec2::254 [metadata]
//
// IPv6 addresses that carry an IPv4 address are judged by the IPv4 address
// they carry: IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64
// 64:ff9b::/96, 6to4 2002::/16 and Teredo 2001::/32 (server and client).
//
// # The allow-list
//
// Policy.Allow lets the operator permit internal destinations (a sidecar,
// a service on the private network; the tests allow 127.0.0.0/8). An
// allowed address is permitted even if a rule above would refuse it; an
// IPv4-mapped address is allowed when its IPv4 form is. If
// Policy.AllowPorts is not empty, the allow-list applies only to those
// ports, and an allowed address reached on another port is refused by the
// rule it would otherwise break, the refusal naming the ports it is allowed
// on. Public addresses need no allow-listing and are permitted on every
// port.
//
// The ports matter because an allow-listed network usually holds more than
// the service a workflow needs: the CIDR that lets an http step reach a
// sidecar on 8080 also holds the database, the queue's Redis and the
// operators' listeners. The programs set AllowPorts from
// AIAS_EGRESS_ALLOW_PORTS (ParsePorts; 80 and 443 by default), so an
// allow-listed address is reachable on the ports its service answers on
// and no other; "*" lifts the restriction.
//
// Metadata addresses are the exception: a broad prefix such as
// 169.254.0.0/16 does not uncover them; only an entry naming the single
// address (169.254.169.254/32) does. Metadata host names are always
// refused.
//
// # Errors
//
// A refusal is a *Refusal, reachable with errors.As through the
// *url.Error that http.Client returns. Retrying cannot change the
// verdict, so callers in the worker should wrap it with step.Permanent
// (this package does not import internal/step); Refusal also has a
// Permanent method for code that tests for that behaviour.
package safehttp
