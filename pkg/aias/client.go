package aias

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Version is this client's version, sent in its User-Agent.
const Version = "1.0.0"

// DefaultTimeout bounds each call unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// Client calls one AIAS server. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	key       string
	http      *http.Client
	timeout   time.Duration
	retry     RetryPolicy
	userAgent string
	// session and csrf are a person's sign-in (LogIn, SignUpPerson,
	// AcceptInvite): the aias_session cookie's value and its CSRF token.
	session, csrf string
}

// An Option configures a Client.
type Option func(*Client)

// WithAPIKey authenticates every /api/v1 call with key (aias_…).
func WithAPIKey(key string) Option { return func(c *Client) { c.key = key } }

// WithHTTPClient sends requests through hc (its Transport, proxies, TLS
// settings, Jar) instead of a client of the default transport. Its own
// Timeout, if any, applies to each attempt; WithTimeout bounds the whole
// call. Its CheckRedirect is not used: the client never follows a redirect
// (see New), so it works on a copy of hc and hc is left as it was.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		own := *hc
		own.CheckRedirect = noRedirect
		c.http = &own
	}
}

// noRedirect stops at a redirect: send turns it into an error. Followed, a
// 301 or 302 turns a POST into a GET without its body, and the GET's
// answer (a list, say) would pass for the POST's success.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// WithTimeout bounds each call, its retries and waits included (0: no bound
// but the context's). A download is bounded until its headers arrive; its
// body is read under the caller's context.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetry replaces the retry policy (DefaultRetry); NoRetry sends each
// request once.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithUserAgent prefixes the User-Agent header with ua (an application's
// name and version).
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua + " " + c.userAgent }
}

// RetryPolicy says how a call is retried after a 429 or 503 answer, or a
// network error on a method that is safe to repeat.
type RetryPolicy struct {
	// Attempts is the most requests one call makes, the first included;
	// 1 or less means no retry.
	Attempts int
	// MinDelay is the first backoff; each next one doubles, up to MaxDelay,
	// and the wait is drawn at random between half and all of it (jitter).
	MinDelay time.Duration
	// MaxDelay caps a backoff, and is the longest Retry-After honoured: an
	// answer asking for a longer wait (a monthly quota's end, say) is
	// returned at once as an *Error with its RetryAfter.
	MaxDelay time.Duration
}

// DefaultRetry makes up to 4 attempts, waiting about 0.5s, 1s and 2s, or
// what Retry-After asks up to 30s.
var DefaultRetry = RetryPolicy{Attempts: 4, MinDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}

// NoRetry sends each request once.
var NoRetry = RetryPolicy{Attempts: 1}

// New returns a client of the AIAS server at baseURL (scheme and host, and a
// path prefix if AIAS is served under one). AIAS's API never redirects, so
// a redirect (a proxy sending http to https, say) is not followed but
// returned as an *Error naming where it points: set the base URL to that.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("aias: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("aias: base URL %q: want http(s)://host", baseURL)
	}
	c := &Client{base: u, http: &http.Client{CheckRedirect: noRedirect}, timeout: DefaultTimeout, retry: DefaultRetry,
		userAgent: "aias-go/" + Version}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL is the server's URL as given to New, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// request is one operation's request, before it is sent.
type request struct {
	method string
	path   string // below the base URL, or absolute (the intake)
	query  url.Values
	body   []byte
	ctype  string
	header http.Header
	public bool // sent without the API key
	// partial marks a call AIAS may answer 503 after committing part of
	// it (a bulk call commits batch by batch): repeating it would do the
	// committed part again, so a 503 is returned, not retried.
	partial bool
	// once marks a request that does its work again each time it arrives,
	// whatever its method says (a workflow's PUT saves a version): it is
	// not sent again after a network error.
	once bool
}

// jsonBody marshals v as the request's JSON body.
func (r request) jsonBody(v any) (request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return r, fmt.Errorf("aias: encode %s %s: %w", r.method, r.path, err)
	}
	r.body, r.ctype = b, "application/json"
	return r, nil
}

// call sends r and decodes a success's JSON body into out (nil: no body
// expected).
func (c *Client) call(ctx context.Context, r request, out any) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	res, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("aias: %s %s: decode the answer: %w", r.method, r.path, err)
	}
	return nil
}

// bound applies the client's timeout to a call.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// send makes the request, retrying by the policy, and returns a success
// (status below 400) whose body the caller closes, or an error: *Error for
// an answer of 400 or above.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		res, err := c.attempt(ctx, r)
		last := attempt >= c.retry.Attempts
		if err != nil {
			if ctx.Err() != nil || last || r.once || !idempotent(r.method) {
				return nil, fmt.Errorf("aias: %s %s: %w", r.method, r.path, err)
			}
			if werr := c.wait(ctx, c.backoff(attempt)); werr != nil {
				return nil, fmt.Errorf("aias: %s %s: %w (after %w)", r.method, r.path, werr, err)
			}
			continue
		}
		if isRedirect(res.StatusCode) {
			return nil, redirectError(r, res)
		}
		if res.StatusCode < 400 {
			return res, nil
		}
		apiErr := readError(r, res)
		if last || !retryable(res.StatusCode) || r.partial && res.StatusCode == http.StatusServiceUnavailable {
			return nil, apiErr
		}
		wait := c.backoff(attempt)
		if apiErr.RetryAfter > 0 {
			wait = apiErr.RetryAfter
		}
		if wait > c.retry.MaxDelay {
			return nil, apiErr // the server asks for longer than this client waits
		}
		if werr := c.wait(ctx, wait); werr != nil {
			return nil, apiErr
		}
	}
}

// isRedirect says a status is a redirect to follow; 304 Not Modified (a
// download's) is an answer.
func isRedirect(status int) bool {
	return status >= 300 && status < 400 && status != http.StatusNotModified
}

// redirectError turns a redirect into an *Error that says where it points and
// which base URL would reach AIAS directly, and closes it.
func redirectError(r request, res *http.Response) *Error {
	e := readError(r, res)
	loc, err := res.Request.URL.Parse(res.Header.Get("Location"))
	switch {
	case e.Path == "(intake)": // the Location would show the endpoint's token
		e.Detail = "AIAS answered with a redirect; check the intake URL"
	case err != nil || res.Header.Get("Location") == "":
		e.Detail = "AIAS answered with a redirect without a usable Location; check the base URL"
	default:
		e.Detail = "AIAS answered with a redirect to " + loc.Redacted() + "; set the base URL to "
		if base, ok := baseOf(loc, r.path); ok {
			e.Detail += base
		} else {
			e.Detail += "AIAS's own address"
		}
	}
	return e
}

// baseOf is the base URL a redirect's target implies, when the target is
// the request's own path under another base.
func baseOf(loc *url.URL, path string) (string, bool) {
	prefix, ok := strings.CutSuffix(loc.Path, path)
	if !ok {
		return "", false
	}
	b := url.URL{Scheme: loc.Scheme, Host: loc.Host, Path: strings.TrimRight(prefix, "/")}
	return b.String(), true
}

// attempt sends the request once.
func (c *Client) attempt(ctx context.Context, r request) (*http.Response, error) {
	u, err := c.url(r)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	for name, vs := range r.header {
		req.Header[name] = vs
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	req.Header.Set("User-Agent", c.userAgent)
	if !r.public && c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if !r.public && c.session != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.session}) //nolint:gosec // G124: a request sends only name=value; the attributes are the server's
		if !safeMethod(r.method) {
			req.Header.Set(CSRFHeader, c.csrf)
		}
	}
	return c.http.Do(req)
}

func (c *Client) url(r request) (string, error) {
	if strings.HasPrefix(r.path, "http://") || strings.HasPrefix(r.path, "https://") {
		return r.path, nil
	}
	u := *c.base
	u.Path = c.base.Path + r.path
	u.RawPath = ""
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	return u.String(), nil
}

// backoff is the jittered wait before attempt+1: MinDelay doubled per
// attempt, capped at MaxDelay, drawn from [half, all] of it.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.MinDelay
	for i := 1; i < attempt && d < c.retry.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, c.retry.MaxDelay)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1) //nolint:gosec // jitter, not a secret
}

// wait sleeps d, or fails at once if the context would end first.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// idempotent methods may be repeated after a network error: the request
// may have been applied, and applying it again changes nothing.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// safeMethod methods change nothing, so a sign-in sends them without its
// CSRF token.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// retryable statuses are refusals before anything was done: AIAS answers
// 429 before it commits a change, and 503 too except to a partial call (a
// bulk call's later batch failing after its first ones committed), so any
// other method may repeat them.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// retryAfter reads Retry-After as seconds or an HTTP date; 0 when absent.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// pathID escapes an id or name for a path segment.
func pathID(id string) string { return url.PathEscape(id) }
