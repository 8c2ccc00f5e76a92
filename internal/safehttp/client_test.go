package safehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

var loopback8 = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// newServer starts a server on 127.0.0.1 that answers "ok".
func newServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return srv, u.Port()
}

func get(t *testing.T, c *http.Client, target string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

// wantRefusal fails unless err unwraps to a *Refusal with the given rule
// (any rule if rule is "") that also reports Permanent.
func wantRefusal(t *testing.T, err error, rule string) {
	t.Helper()
	if err == nil {
		t.Fatal("request succeeded, want refusal")
	}
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v (%T) does not unwrap to *Refusal", err, err)
	}
	if rule != "" && r.Rule != rule {
		t.Fatalf("rule = %q, want %q (%v)", r.Rule, rule, err)
	}
	var perm interface{ Permanent() bool }
	if !errors.As(err, &perm) || !perm.Permanent() {
		t.Fatalf("error %v does not report Permanent", err)
	}
}

func wantOK(t *testing.T, resp *http.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("request failed: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("got %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
}

func TestClientLoopback(t *testing.T) {
	t.Parallel()
	_, port := newServer(t)
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy Policy
		host   string
		rule   string // "" = allowed
	}{
		{"refused without allow-list", Policy{}, "127.0.0.1", RuleLoopback},
		{"allowed by allow-list", Policy{Allow: loopback8}, "127.0.0.1", ""},
		{"allowed on an allowed port", Policy{Allow: loopback8, AllowPorts: []uint16{uint16(p)}}, "127.0.0.1", ""},
		{"refused on another port", Policy{Allow: loopback8, AllowPorts: []uint16{uint16(p) + 1}}, "127.0.0.1", RuleLoopback},
		{"other allow-list", Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "127.0.0.1", RuleLoopback},

		{"127.1 refused", Policy{}, "127.1", RuleLoopback},
		{"decimal refused", Policy{}, "2130706433", RuleLoopback},
		{"hex refused", Policy{}, "0x7f000001", RuleLoopback},
		{"octal refused", Policy{}, "017700000001", RuleLoopback},
		{"mixed radix refused", Policy{}, "0x7f.0.0.1", RuleLoopback},
		{"mapped refused", Policy{}, "[::ffff:127.0.0.1]", RuleLoopback},
		{"mapped hex refused", Policy{}, "[::ffff:7f00:1]", RuleLoopback},
		{"v6 loopback refused", Policy{}, "[::1]", RuleLoopback},
		{"unspecified refused", Policy{}, "0.0.0.0", RuleUnspecified},
		{"unspecified short refused", Policy{}, "0", RuleUnspecified},
		{"trailing dot refused", Policy{}, "127.0.0.1.", RuleLoopback},

		{"127.1 allowed", Policy{Allow: loopback8}, "127.1", ""},
		{"decimal allowed", Policy{Allow: loopback8}, "2130706433", ""},
		{"hex allowed", Policy{Allow: loopback8}, "0x7f000001", ""},
		{"octal allowed", Policy{Allow: loopback8}, "017700000001", ""},
		{"mapped allowed", Policy{Allow: loopback8}, "[::ffff:127.0.0.1]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := get(t, NewClient(tt.policy), "http://"+tt.host+":"+port+"/")
			if tt.rule == "" {
				wantOK(t, resp, err)
				return
			}
			wantRefusal(t, err, tt.rule)
		})
	}
}

func TestClientLocalhost(t *testing.T) {
	t.Parallel()
	_, port := newServer(t)
	target := "http://localhost:" + port + "/"

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		_, err := get(t, NewClient(Policy{}), target)
		wantRefusal(t, err, RuleLoopback)
	})
	t.Run("allowed", func(t *testing.T) {
		t.Parallel()
		// localhost may resolve to ::1 too; both loopbacks must be allowed,
		// or the name is a mixed resolution.
		allow, err := ParseAllow("127.0.0.0/8,::1")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := get(t, NewClient(Policy{Allow: allow}), target)
		wantOK(t, resp, err)
	})
}

func TestClientMetadataHosts(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"metadata.google.internal", "METADATA.google.internal.", "metadata", "instance-data", "metadata.azure.com"} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			lookups := atomic.Int32{}
			c := newClient(Policy{Allow: loopback8}, func(context.Context, string, string) ([]netip.Addr, error) {
				lookups.Add(1)
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			})
			_, err := get(t, c, "http://"+host+"/computeMetadata/v1/")
			wantRefusal(t, err, RuleMetadata)
			if n := lookups.Load(); n != 0 {
				t.Fatalf("metadata host was resolved %d times, want 0", n)
			}
		})
	}
}

// fakeResolver answers for the names in m and fails for the rest.
func fakeResolver(m map[string][]string) lookupFunc {
	return func(_ context.Context, _, host string) ([]netip.Addr, error) {
		addrs, ok := m[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

func TestClientResolution(t *testing.T) {
	t.Parallel()
	_, port := newServer(t)
	resolver := fakeResolver(map[string][]string{
		"internal.test": {"127.0.0.1"},
		"mixed.test":    {"93.184.216.34", "127.0.0.1"},
		"mixed2.test":   {"127.0.0.1", "10.0.0.1"},
		"meta.test":     {"169.254.169.254"},
		"mapped.test":   {"::ffff:127.0.0.1"},
		"dead.test":     {"127.0.0.2", "127.0.0.1"}, // nothing listens on 127.0.0.2
	})
	tests := []struct {
		name   string
		host   string
		policy Policy
		rule   string // "" = allowed
	}{
		{"name to loopback refused", "internal.test", Policy{}, RuleLoopback},
		// Reaching the server proves the dialer connected to the address it
		// checked: the stdlib resolver knows nothing of internal.test.
		{"name to loopback allowed", "internal.test", Policy{Allow: loopback8}, ""},
		{"public and loopback refused", "mixed.test", Policy{}, RuleMixedResolution},
		{"public and allowed loopback", "mixed.test", Policy{Allow: loopback8}, ""},
		{"loopback and private, loopback allowed", "mixed2.test", Policy{Allow: loopback8}, RuleMixedResolution},
		{"loopback and private, nothing allowed", "mixed2.test", Policy{}, RuleLoopback},
		{"name to metadata", "meta.test", Policy{Allow: []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16")}}, RuleMetadata},
		{"name to mapped loopback", "mapped.test", Policy{}, RuleLoopback},
		{"falls back to the next checked address", "dead.test", Policy{Allow: loopback8}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := get(t, newClient(tt.policy, resolver), "http://"+tt.host+":"+port+"/")
			if tt.rule == "" {
				wantOK(t, resp, err)
				return
			}
			wantRefusal(t, err, tt.rule)
		})
	}
}

func TestClientRedirects(t *testing.T) {
	t.Parallel()
	redirect := func(to string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	_, okPort := newServer(t)
	okURL := "http://127.0.0.1:" + okPort + "/"

	t.Run("to metadata refused", func(t *testing.T) {
		t.Parallel()
		srv := redirect("http://169.254.169.254/latest/meta-data/")
		_, err := get(t, NewClient(Policy{Allow: loopback8, MaxRedirects: 5}), srv.URL)
		wantRefusal(t, err, RuleMetadata)
	})
	t.Run("to metadata host name refused", func(t *testing.T) {
		t.Parallel()
		srv := redirect("http://metadata.google.internal/computeMetadata/v1/")
		_, err := get(t, NewClient(Policy{Allow: loopback8, MaxRedirects: 5}), srv.URL)
		wantRefusal(t, err, RuleMetadata)
	})
	t.Run("off by default", func(t *testing.T) {
		t.Parallel()
		srv := redirect(okURL)
		resp, err := get(t, NewClient(Policy{Allow: loopback8}), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != okURL {
			t.Fatalf("got %d Location %q, want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("followed when allowed", func(t *testing.T) {
		t.Parallel()
		srv := redirect(okURL)
		resp, err := get(t, NewClient(Policy{Allow: loopback8, MaxRedirects: 1}), srv.URL)
		wantOK(t, resp, err)
	})
	t.Run("limit enforced", func(t *testing.T) {
		t.Parallel()
		hop2 := redirect(okURL)
		hop1 := redirect(hop2.URL)
		_, err := get(t, NewClient(Policy{Allow: loopback8, MaxRedirects: 1}), hop1.URL)
		if err == nil {
			t.Fatal("two redirects followed with MaxRedirects 1")
		}
		resp, err := get(t, NewClient(Policy{Allow: loopback8, MaxRedirects: 2}), hop1.URL)
		wantOK(t, resp, err)
	})
}

func TestClientIgnoresProxy(t *testing.T) {
	t.Parallel()
	c := NewClient(Policy{})
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T", c.Transport)
	}
	if tr.Proxy != nil {
		t.Fatal("Transport uses a proxy; the guard would not see the real destination")
	}
	if c.Timeout != defaultTotal || tr.TLSHandshakeTimeout != defaultTLSTimeout {
		t.Fatalf("timeouts = %v, %v; want defaults", c.Timeout, tr.TLSHandshakeTimeout)
	}
}

func TestControlRecheck(t *testing.T) {
	t.Parallel()
	d := &dialer{policy: Policy{}}
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", false},
		{"[::ffff:10.0.0.1]:443", false},
		{"93.184.216.34:443", true},
		{"not-an-address", false},
	} {
		err := d.control(context.Background(), "tcp", tt.addr, nil)
		if (err == nil) != tt.ok {
			t.Errorf("control(%s) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
}

func ExampleNewClient() {
	allow, err := ParseAllow("10.20.0.0/16")
	if err != nil {
		panic(err)
	}
	client := NewClient(Policy{Allow: allow, AllowPorts: []uint16{443}})
	_ = client
	fmt.Println(Check(netip.MustParseAddr("169.254.169.254"), Policy{Allow: allow}))
	// Output: egress refused: 169.254.169.254 is metadata
}

// An allow-listed network holds more than the service a workflow needs; the
// dialer lets a request reach only its allowed ports, whatever the numeric
// spelling of the address, and on redirects too.
func TestClientReachesAnAllowListedAddressOnlyOnItsAllowedPorts(t *testing.T) {
	t.Parallel()
	_, allowed := newServer(t)
	_, other := newServer(t) // the database or the dashboard beside it
	pa, err := strconv.ParseUint(allowed, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := ParsePorts(allowed)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(Policy{Allow: loopback8, AllowPorts: ports})
	resp, err := get(t, c, "http://127.0.0.1:"+allowed+"/")
	wantOK(t, resp, err)
	for _, host := range []string{"127.0.0.1", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]"} {
		_, err := get(t, c, "http://"+host+":"+other+"/")
		wantRefusal(t, err, "")
		if want := fmt.Sprintf("allowed on port %d only", pa); !strings.Contains(err.Error(), want) {
			t.Errorf("GET %s:%s error = %v, want it to say %q", host, other, err, want)
		}
	}
	redirect := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:"+other+"/", http.StatusFound))
	t.Cleanup(redirect.Close)
	follow := NewClient(Policy{Allow: loopback8, AllowPorts: append(ports, portOf(t, redirect.URL)), MaxRedirects: 1})
	_, err = get(t, follow, redirect.URL)
	wantRefusal(t, err, RuleLoopback)
}

func portOf(t *testing.T, raw string) uint16 {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(p)
}
