package step

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"aias/internal/errs"
)

// callback POSTs to a tenant URL, signed with the tenant's callback secret
// the way Standard Webhooks senders sign:
//
//	with:
//	  url: "https://example.com/hooks/aias"     # template, required
//	  body: "steps.normalize.output"             # value; default: a summary of the run so far
//	  headers: { X-Source: "aias" }              # values are templates
//
// The body is sent byte for byte as signed. webhook-id is "<run id>:<step
// name>" ("<step name>[i]" inside a foreach, "[i][j]" when nested), the same
// on every retry, so a receiver can deduplicate; webhook-timestamp is the time of the attempt;
// webhook-signature holds one "v1,<base64 HMAC-SHA256 of id.timestamp.body>"
// per live secret (two during a rotation's grace). The request goes through Deps.HTTPClient (the egress
// guard) and its answer is classified like the http step's: 2xx succeeds;
// 408, 429, 5xx and network errors are retried (honouring Retry-After);
// other statuses fail the run.
//
// No callback field may read secrets: the receiver authenticates the
// request by its signature, not by a credential in it.
type callback struct{}

// CallbackSigner signs callback requests with the tenant's callback secrets.
// Sign returns the value of the webhook-signature header for the message
// id.timestamp.body: one "v1,<base64>" per live secret, space-separated.
// A tenant without a callback secret yields an error wrapping
// ErrNoCallbackSecret.
type CallbackSigner interface {
	Sign(id string, ts time.Time, body []byte) (string, error)
}

// ErrNoCallbackSecret is the error of a callback that has no secret to be
// signed with: a permanent failure telling the tenant what to do.
var ErrNoCallbackSecret = errors.New("the tenant has no callback signing secret; create one with POST /api/v1/callback-secret")

// The Standard Webhooks headers a signed request carries. Steps cannot set
// them themselves.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

var callbackSchema = Schema{
	{Name: "url", Kind: TemplateField, Required: true},
	{Name: "body", Kind: ValueField},
	{Name: "headers", Kind: TemplateMapField},
}

func (callback) Name() string { return "callback" }

func (callback) Sources(with map[string]any, path string) []Source {
	return callbackSchema.Sources(with, path)
}

func (callback) Validate(with map[string]any, path string) []errs.FieldError {
	problems := callbackSchema.Validate(with, path)
	if u, ok := with["url"].(string); ok && u != "" {
		if err := CheckURLTemplate(u); err != nil {
			problems = append(problems, fieldErr(fieldPath(path, "url"), "%v", err))
		}
	}
	if h, ok := with["headers"].(map[string]any); ok {
		hp := fieldPath(path, "headers")
		problems = append(problems, validateHeaders(h, hp)...)
		for name := range h {
			if reservedCallbackHeader(name) {
				problems = append(problems, fieldErr(fieldPath(hp, name), "is set by AIAS when it signs the request"))
			}
		}
	}
	return PreferSecretProblems(problems)
}

// CheckURLTemplate accepts an absolute http or https URL, or a template
// whose literal start is (or leads to) "http://" or "https://", such as
// "https://{{ trigger.body.host }}/done" or "{{ trigger.body.callback_url }}".
// A template's rendered URL is checked again when it is used.
func CheckURLTemplate(tmpl string) error {
	if !IsTemplate(tmpl) {
		_, err := parseTargetURL(tmpl)
		return err
	}
	prefix := strings.ToLower(tmpl[:strings.Index(tmpl, openDelim)])
	for _, scheme := range []string{"http://", "https://"} {
		if strings.HasPrefix(prefix, scheme) || strings.HasPrefix(scheme, prefix) {
			return nil
		}
	}
	return errors.New("must be an absolute http or https URL")
}

func reservedCallbackHeader(name string) bool {
	switch strings.ToLower(name) {
	case HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature:
		return true
	}
	return false
}

func (callback) Run(ctx context.Context, deps Deps, with map[string]any, env Env) (Result, error) {
	res, err := doCallback(ctx, deps, with, env.WithoutSecrets())
	return deps.Redactor.Result(res), deps.Redactor.Error(err)
}

func doCallback(ctx context.Context, deps Deps, with map[string]any, env Env) (Result, error) {
	rawURL, err := Render(ctx, str(with, "url", ""), env)
	if err != nil {
		return Result{}, err
	}
	body, contentType, err := callbackBody(ctx, with, env)
	if err != nil {
		return Result{}, err
	}
	header, err := renderHeaders(ctx, with, env, "callback step", reservedCallbackHeader)
	if err != nil {
		return Result{}, err
	}
	if contentType != "" && header.Get("Content-Type") == "" {
		header.Set("Content-Type", contentType)
	}
	id := idempotencyKey(env)
	if id == "" {
		return Result{}, Permanent(errors.New("callback step: the run id and step name are unknown"))
	}
	return PostSigned(ctx, deps, SignedRequest{URL: rawURL, ID: id, Body: body, Header: header})
}

// callbackBody evaluates with.body like the http step (a string is sent as
// it is, anything else as JSON), or builds the default summary.
func callbackBody(ctx context.Context, with map[string]any, env Env) ([]byte, string, error) {
	var v any = callbackSummary(env)
	if raw, ok := with["body"]; ok && raw != nil {
		var err error
		if v, err = EvalValue(ctx, raw, env); err != nil {
			return nil, "", err
		}
	}
	return encodeBody(ctx, v, "callback step")
}

// callbackSummary is the default body: the run, this step, and the outputs
// of the steps that ran before it.
func callbackSummary(env Env) map[string]any {
	outputs := map[string]any{}
	steps, _ := env["steps"].(map[string]any)
	for name, v := range steps {
		if m, ok := v.(map[string]any); ok {
			outputs[name] = m["output"]
		}
	}
	run, _ := env["run"].(map[string]any)
	return map[string]any{
		"run_id":           run["id"],
		"workflow_version": run["workflow_version"],
		"step":             envString(env, "step", "name"),
		"outputs":          outputs,
	}
}

// SignedRequest is one signed POST: a callback step's, or a run's on_finish
// notification.
type SignedRequest struct {
	URL    string
	ID     string      // webhook-id: stable across retries of the same message
	Body   []byte      // sent and signed byte for byte
	Header http.Header // further headers, Content-Type included
}

// PostSigned signs r with Deps.CallbackSigner, sends it through
// Deps.HTTPClient and classifies the answer like the http step: a nil error
// for 2xx; a retryable error (with the target's Retry-After, if any) for
// 408, 429, 5xx, network errors and timeouts; a permanent one otherwise.
// The output is the http step's {status, headers, body, truncated}.
func PostSigned(ctx context.Context, deps Deps, r SignedRequest) (Result, error) {
	if deps.HTTPClient == nil {
		// No fallback to http.DefaultClient: it would bypass the egress guard.
		return Result{}, errors.New("callback: no HTTP client configured")
	}
	target, err := parseTargetURL(r.URL)
	if err != nil {
		return Result{}, Permanent(fmt.Errorf("callback: url %w", err))
	}
	if deps.CallbackSigner == nil {
		return Result{}, Permanent(ErrNoCallbackSecret)
	}
	ts := time.Now()
	sig, err := deps.CallbackSigner.Sign(r.ID, ts, r.Body)
	if errors.Is(err, ErrNoCallbackSecret) {
		return Result{}, Permanent(err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("callback: sign: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(r.Body))
	if err != nil {
		return Result{}, Permanent(fmt.Errorf("callback: build request to %s: %w", target.Host, err))
	}
	for name, vs := range r.Header {
		req.Header[name] = vs
	}
	if req.Header.Get("Idempotency-Key") == "" {
		req.Header.Set("Idempotency-Key", r.ID)
	}
	req.Header.Set(HeaderWebhookID, r.ID)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, sig)
	return exchange(ctx, deps.HTTPClient, req, nil, "callback request")
}
