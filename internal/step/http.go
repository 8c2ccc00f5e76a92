package step

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"aias/internal/errs"
)

// httpStep calls an external HTTP endpoint:
//
//	with:
//	  method: POST                    # default POST with a body, GET without
//	  url: "https://example.com/orders/{{ steps.normalize.output.id }}"
//	  headers: { X-Source: "aias" }   # values are templates
//	  body: "steps.normalize.output"  # evaluated like transform's output
//	  timeout: 10s                    # at most 60s
//	  expect: [200, 201]              # default: any 2xx
//
// Each request carries "Idempotency-Key: <run id>:<step name>" (with the
// iteration inside a foreach, "post[3]"), so a retried
// attempt can be recognised by the receiver. 408, 429 and 5xx responses and
// network failures are retried; other unexpected statuses fail the run.
// Header values may carry secrets, so they never appear in errors or logs.
//
// url, headers and body are the only expressions in any step that may read
// secrets (see the package documentation). The output, log lines and error
// of every attempt are passed through Deps.Redactor, since an endpoint may
// echo a credential back, plainly or encoded.
type httpStep struct{}

// Limits of the http step.
const (
	DefaultHTTPTimeout = 10 * time.Second
	MaxHTTPTimeout     = 60 * time.Second
	MaxResponseBytes   = 1 << 20   // read at most this much of a response body
	StoredBodyBytes    = 256 << 10 // keep at most this much in the output, flagged "truncated"
)

var httpMethods = []string{
	http.MethodGet, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodHead,
}

var httpSchema = Schema{
	{Name: "method", Kind: StringField},
	{Name: "url", Kind: TemplateField, Required: true, Secrets: true},
	{Name: "headers", Kind: TemplateMapField, Secrets: true},
	{Name: "body", Kind: ValueField, Secrets: true},
	{Name: "timeout", Kind: StringField},
	{Name: "expect", Kind: ListField},
}

func (httpStep) Name() string { return "http" }

func (httpStep) Sources(with map[string]any, path string) []Source {
	return httpSchema.Sources(with, path)
}

func (httpStep) Validate(with map[string]any, path string) []errs.FieldError {
	problems := httpSchema.Validate(with, path)
	if m, ok := with["method"].(string); ok && m != "" && !slices.Contains(httpMethods, strings.ToUpper(m)) {
		problems = append(problems, fieldErr(fieldPath(path, "method"), "must be one of %s", strings.Join(httpMethods, ", ")))
	}
	if u, ok := with["url"].(string); ok && u != "" && !IsTemplate(u) {
		if _, err := parseTargetURL(u); err != nil {
			problems = append(problems, fieldErr(fieldPath(path, "url"), "%v", err))
		}
	}
	if h, ok := with["headers"].(map[string]any); ok {
		problems = append(problems, validateHeaders(h, fieldPath(path, "headers"))...)
	}
	if t, ok := with["timeout"].(string); ok && t != "" {
		if _, err := parseTimeout(t); err != nil {
			problems = append(problems, fieldErr(fieldPath(path, "timeout"), "%v", err))
		}
	}
	if list, ok := with["expect"].([]any); ok {
		problems = append(problems, validateExpect(list, fieldPath(path, "expect"))...)
	}
	return PreferSecretProblems(problems)
}

func validateHeaders(h map[string]any, path string) []errs.FieldError {
	var problems []errs.FieldError
	for name, v := range h {
		p := fieldPath(path, name)
		if !validHeaderName(name) {
			problems = append(problems, fieldErr(p, "is not a valid header name"))
		}
		if s, ok := v.(string); ok && !IsTemplate(s) && strings.ContainsAny(s, "\r\n") {
			problems = append(problems, fieldErr(p, "must not contain line breaks"))
		}
	}
	slices.SortFunc(problems, func(a, b errs.FieldError) int { return strings.Compare(a.Path, b.Path) })
	return problems
}

func validateExpect(list []any, path string) []errs.FieldError {
	var problems []errs.FieldError
	if len(list) == 0 {
		problems = append(problems, fieldErr(path, "must list at least one status code"))
	}
	for i, v := range list {
		if code, ok := toInt(v); !ok || code < 100 || code > 599 {
			problems = append(problems, fieldErr(indexPath(path, i), "must be an HTTP status code (100-599)"))
		}
	}
	return problems
}

func (httpStep) Run(ctx context.Context, deps Deps, with map[string]any, env Env) (Result, error) {
	res, err := doHTTP(ctx, deps, with, env)
	return deps.Redactor.Result(res), deps.Redactor.Error(err)
}

// doHTTP performs the request. Only url, headers and body are evaluated
// against the full env; nothing else it reads may see secrets.
func doHTTP(ctx context.Context, deps Deps, with map[string]any, env Env) (Result, error) {
	if deps.HTTPClient == nil {
		// There is deliberately no fallback to http.DefaultClient: it would
		// bypass the egress guard.
		return Result{}, errors.New("http step: no HTTP client configured")
	}
	timeout, err := requestTimeout(ctx, with)
	if err != nil {
		return Result{}, Permanent(fmt.Errorf("http step: %w", err))
	}
	if err := checkSecretUse(with); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := newRequest(ctx, with, env)
	if err != nil {
		return Result{}, err
	}
	return exchange(ctx, deps.HTTPClient, req, expectedStatuses(with), "")
}

// exchange sends req, reads the answer up to its caps and classifies it:
// nil for an expected status (any 2xx when expect is empty); retryable for
// 408, 429, 5xx, network errors and timeouts, honouring Retry-After;
// permanent otherwise. The response is returned even when the status is
// unacceptable, so the worker can record what the endpoint said. message,
// if set, replaces the log line's default one.
func exchange(ctx context.Context, client *http.Client, req *http.Request, expect []int, message string) (Result, error) {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, transportError(ctx, req, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := readResponse(resp)
	if err != nil {
		return Result{}, transportError(ctx, req, err)
	}
	line := requestLog(req, resp.StatusCode, time.Since(start), out["truncated"].(bool))
	if message != "" {
		line.Message = message
	}
	res := Result{Output: out, Logs: []LogLine{line}}
	return res, withRetryAfter(classifyStatus(resp.StatusCode, expect, req.URL.Host), resp.Header.Get("Retry-After"), time.Now())
}

// newRequest builds the request from the evaluated with block.
func newRequest(ctx context.Context, with map[string]any, env Env) (*http.Request, error) {
	rawURL, err := Render(ctx, str(with, "url", ""), env)
	if err != nil {
		return nil, withheld(ctx, with["url"], true, "http step: url", err)
	}
	target, err := parseTargetURL(rawURL)
	if err != nil {
		return nil, Permanent(fmt.Errorf("http step: %w", err))
	}
	body, bodyType, err := requestBody(ctx, with, env)
	if err != nil {
		return nil, err
	}
	method := strings.ToUpper(str(with, "method", defaultMethod(body)))
	req, err := http.NewRequestWithContext(ctx, method, target.String(), bodyReader(body))
	if err != nil {
		return nil, Permanent(fmt.Errorf("http step: build request to %s: %w", target.Host, err))
	}
	if err := setHeaders(ctx, req, with, env); err != nil {
		return nil, err
	}
	if bodyType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", bodyType)
	}
	if key := idempotencyKey(env.WithoutSecrets()); key != "" && req.Header.Get("Idempotency-Key") == "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return req, nil
}

func defaultMethod(body []byte) string {
	if body != nil {
		return http.MethodPost
	}
	return http.MethodGet
}

func bodyReader(body []byte) io.Reader {
	if body == nil {
		return nil
	}
	return bytes.NewReader(body)
}

// requestBody evaluates with.body. A string is sent as it is, with no
// content type implied; anything else is sent as JSON. A nil slice means
// there is no body.
func requestBody(ctx context.Context, with map[string]any, env Env) ([]byte, string, error) {
	raw, ok := with["body"]
	if !ok || raw == nil {
		return nil, "", nil
	}
	v, err := EvalValue(ctx, raw, env)
	if err != nil {
		return nil, "", withheld(ctx, raw, false, "http step: body", err)
	}
	return encodeBody(ctx, v, "http step")
}

// encodeBody is a request body and its content type: a string is sent as it
// is (no type), anything else as compact JSON. who names the step in errors.
func encodeBody(ctx context.Context, v any, who string) ([]byte, string, error) {
	if s, ok := v.(string); ok {
		return []byte(s), "", nil
	}
	b, err := encodeJSON(ctx, v)
	if err != nil {
		return nil, "", Permanent(fmt.Errorf("%s: body: %w", who, err))
	}
	return b, "application/json", nil
}

// setHeaders renders the configured headers onto req. Errors name the
// header, never its value (it may hold a secret).
func setHeaders(ctx context.Context, req *http.Request, with map[string]any, env Env) error {
	h, err := renderHeaders(ctx, with, env, "http step", nil)
	for name, vs := range h {
		req.Header[name] = vs
	}
	return err
}

// renderHeaders renders with.headers for the step called who. A header
// that is not valid, or that reserved says the step may not set, is a
// permanent error; errors name the header, never its value.
func renderHeaders(ctx context.Context, with map[string]any, env Env, who string, reserved func(string) bool) (http.Header, error) {
	h := http.Header{}
	headers, _ := with["headers"].(map[string]any)
	for name, v := range headers {
		tmpl, _ := v.(string)
		value, err := Render(ctx, tmpl, env)
		if err != nil {
			return nil, withheld(ctx, tmpl, true, who+": header "+name, fmt.Errorf("%s: header %s: %w", who, name, err))
		}
		if !validHeaderName(name) || (reserved != nil && reserved(name)) || strings.ContainsAny(value, "\r\n") {
			return nil, Permanent(fmt.Errorf("%s: header %s is not valid", who, name))
		}
		h.Set(name, value)
	}
	return h, nil
}

// checkSecretUse refuses at run time, as validation does when a definition
// is saved, a url, header or body that reads secrets other than whole (see
// the package documentation). A definition saved before that rule fails
// here rather than running.
func checkSecretUse(with map[string]any) error {
	for _, src := range httpSchema.Sources(with, "with") {
		if !src.AllowSecrets {
			continue
		}
		if u := secretUseOf(src.Text, src.Template); u.partial || u.dynamic || u.envDynamic {
			return Permanent(fmt.Errorf("http step: %s: %s", src.Path, msgSecretsWhole))
		}
	}
	return nil
}

// withheld replaces the error of a field that reads a secret with one that
// says only which field failed: the error of an expression can quote the
// values it handled. v is the field's template (template) or value. The
// replacement keeps the original's classification, and wraps the context's
// cause when the context ended, so timeouts and cancels are still told
// apart. Errors of fields without secrets are returned as they are.
func withheld(ctx context.Context, v any, template bool, field string, err error) error {
	reads := false
	if s, ok := v.(string); ok && template {
		reads = secretUseOf(s, true).used
	} else {
		for _, src := range valueSources(v, "") {
			reads = reads || secretUseOf(src.Text, false).used
		}
	}
	if !reads {
		return err
	}
	w := &withheldError{field: field, permanent: IsPermanent(err)}
	if ctx.Err() != nil {
		w.cause = context.Cause(ctx)
	}
	return w
}

// withheldError is the failure of a field that reads a secret: which field,
// and nothing of the expression or its values.
type withheldError struct {
	field     string
	permanent bool
	cause     error // the context's, when it ended
}

func (e *withheldError) Error() string {
	return e.field + " could not be computed; it reads a secret, so the details are withheld"
}
func (e *withheldError) Unwrap() error   { return e.cause }
func (e *withheldError) Permanent() bool { return e.permanent }

// idempotencyKey is "<run id>:<step>", or "" when the worker did not
// provide both. <step> is the step's name, followed inside foreach bodies
// by the iteration ("post[3]"; step.instance), so each item's call has a
// key of its own while retries of one call share it.
func idempotencyKey(env Env) string {
	runID := envString(env, "run", "id")
	name := envString(env, "step", "instance")
	if name == "" {
		name = envString(env, "step", "name")
	}
	if runID == "" || name == "" {
		return ""
	}
	return runID + ":" + name
}

func envString(env Env, root, key string) string {
	m, _ := env[root].(map[string]any)
	s, _ := m[key].(string)
	return s
}

// readResponse reads at most MaxResponseBytes of the body (the rest is not
// read: a huge or endless body costs a bounded read) and shapes the step
// output, which keeps at most StoredBodyBytes of it. "bytes" is how much was
// read, up to the cap; "truncated" says the output's body is not all of it.
func readResponse(resp *http.Response) (map[string]any, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	read := min(len(data), MaxResponseBytes)
	truncated := len(data) > StoredBodyBytes
	if truncated {
		data = data[:StoredBodyBytes]
	}
	headers := make(map[string]string, len(resp.Header))
	for name, values := range resp.Header {
		if len(values) > 0 {
			headers[strings.ToLower(name)] = values[0]
		}
	}
	return map[string]any{
		"status":    resp.StatusCode,
		"headers":   headers,
		"body":      responseBody(data, resp.Header.Get("Content-Type"), truncated),
		"truncated": truncated,
		"bytes":     read,
	}, nil
}

// responseBody parses JSON bodies so later steps can reach into them; a cut
// or malformed JSON body is kept as text.
func responseBody(data []byte, contentType string, truncated bool) any {
	if !truncated && isJSONType(contentType) {
		var v any
		if err := json.Unmarshal(data, &v); err == nil {
			return v
		}
	}
	return string(data)
}

func isJSONType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// transportError classifies a failure to get a response. All of them are
// retryable. The URL is left out of the message because its query may
// carry credentials.
func transportError(ctx context.Context, req *http.Request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("http %s %s: timed out: %w", req.Method, req.URL.Host, err)
	}
	return fmt.Errorf("http %s %s: %w", req.Method, req.URL.Host, err)
}

func expectedStatuses(with map[string]any) []int {
	list, _ := with["expect"].([]any)
	codes := make([]int, 0, len(list))
	for _, v := range list {
		if code, ok := toInt(v); ok {
			codes = append(codes, code)
		}
	}
	return codes
}

// classifyStatus accepts any 2xx, or exactly the listed codes when expect is
// given. Of the rest, only statuses that may change on their own are
// retried.
func classifyStatus(status int, expect []int, host string) error {
	if accepted(status, expect) {
		return nil
	}
	err := fmt.Errorf("http %d from %s", status, host)
	if status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 {
		return err
	}
	return Permanent(err)
}

func accepted(status int, expect []int) bool {
	if len(expect) > 0 {
		return slices.Contains(expect, status)
	}
	return status >= 200 && status < 300
}

// requestLog describes a completed request by method, host, status and
// duration only: header values and the URL's path and query may carry
// credentials and are left out.
func requestLog(req *http.Request, status int, took time.Duration, truncated bool) LogLine {
	return LogLine{
		Time:    time.Now().UTC(),
		Level:   "info",
		Message: "http request",
		Fields: map[string]any{
			"method":      req.Method,
			"host":        req.URL.Host,
			"status":      status,
			"duration_ms": took.Milliseconds(),
			"truncated":   truncated,
		},
	}
}

// parseTargetURL accepts only absolute http and https URLs.
func parseTargetURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("must be an absolute http or https URL")
	}
	return u, nil
}

// attemptTimeoutKey holds the step's own timeout (WithAttemptTimeout).
type attemptTimeoutKey struct{}

// WithAttemptTimeout tells the step under ctx that its definition limits
// each attempt to d: an http step without a timeout of its own then gives
// its request that long (up to MaxHTTPTimeout) rather than
// DefaultHTTPTimeout.
func WithAttemptTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, attemptTimeoutKey{}, d)
}

// requestTimeout is how long the request may take: with.timeout, else the
// step's own timeout (up to MaxHTTPTimeout), else DefaultHTTPTimeout.
func requestTimeout(ctx context.Context, with map[string]any) (time.Duration, error) {
	if _, set := with["timeout"]; set {
		return parseTimeout(str(with, "timeout", ""))
	}
	if d, ok := ctx.Value(attemptTimeoutKey{}).(time.Duration); ok {
		return min(d, MaxHTTPTimeout), nil
	}
	return DefaultHTTPTimeout, nil
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return DefaultHTTPTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxHTTPTimeout {
		return 0, fmt.Errorf("must be a duration such as \"10s\", at most %s", MaxHTTPTimeout)
	}
	return d, nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// toInt accepts the float64 that JSON decoding produces as well as Go ints,
// as long as the value is whole.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	return 0, false
}
