package step

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testSecretName  = "ORDERS_TOKEN"
	testSecretValue = "tok_9f8e7d6c5b4a"
)

func secretEnv() Env {
	env := testEnv()
	env[SecretsKey] = map[string]string{testSecretName: testSecretValue, "OTHER": "other-value-123",
		"BASIC_AUTH": base64.StdEncoding.EncodeToString([]byte("svc:" + testSecretValue))}
	return env
}

func TestSecretRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src     string
		want    []string
		dynamic bool
	}{
		{"trigger.body.x", nil, false},
		{"secrets.A", []string{"A"}, false},
		{`secrets["B"] + secrets.A + secrets.B`, []string{"B", "A"}, false},
		{"secrets?.A ?? 'x'", []string{"A"}, false},
		{"$env.secrets.A", []string{"A"}, false},
		{`$env["secrets"]["C"]`, []string{"C"}, false},
		{"$env.trigger.body", nil, false},
		{"secrets[trigger.body.x]", nil, true},
		{"secrets", nil, true},
		{"toJSON(secrets)", nil, true},
		{"keys(secrets)", nil, true},
		{"$env[trigger.body.x]", nil, true},
		{"toJSON($env)", nil, true},
		{"map(['A'], secrets[#])", nil, true},
		{"secrets.A + secrets[run.id]", []string{"A"}, true},
	}
	for _, tt := range tests {
		got, err := SecretRefs(tt.src)
		if tt.dynamic != errors.Is(err, ErrDynamicSecret) {
			t.Errorf("SecretRefs(%q) error = %v, want dynamic=%v", tt.src, err, tt.dynamic)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("SecretRefs(%q) mismatch (-want +got):\n%s", tt.src, diff)
		}
	}
	if _, err := SecretRefs("secrets.A +"); err == nil || errors.Is(err, ErrDynamicSecret) {
		t.Errorf("SecretRefs of a syntax error = %v, want a parse error", err)
	}
}

func TestSourceSecretRefsInTemplates(t *testing.T) {
	t.Parallel()
	src := Source{Text: "Bearer {{ secrets.A }}:{{ secrets.B }}{{ secrets.A }}", Template: true}
	got, err := src.SecretRefs()
	if err != nil {
		t.Fatalf("SecretRefs: %v", err)
	}
	if diff := cmp.Diff([]string{"A", "B"}, got); diff != "" {
		t.Fatalf("mismatch (-want +got):\n%s", diff)
	}
	// "secrets" outside {{ }} is literal text.
	got, err = Source{Text: "no secrets here", Template: true}.SecretRefs()
	if err != nil || len(got) != 0 {
		t.Fatalf("SecretRefs of literal text = %v, %v; want none", got, err)
	}
}

func TestValidateSecretsPlacement(t *testing.T) {
	t.Parallel()
	const placement = "secrets may only be used in an http step's url, headers and body"
	const fixed = "secrets must be referenced by a fixed name"
	tests := []struct {
		name, typ string
		with      map[string]any
		want      []string // "path: message" for every problem
	}{
		{"http url, headers and body", "http", map[string]any{
			"url":     "https://x.test/o?token={{ secrets.ORDERS_TOKEN }}",
			"headers": map[string]any{"Authorization": `Bearer {{ secrets["ORDERS_TOKEN"] }}`},
			"body":    map[string]any{"key": "secrets.API_KEY", "n": []any{"secrets?._x1"}},
		}, nil},
		{"transform output", "transform", map[string]any{"output": map[string]any{"a": "trigger.body", "t": "secrets.ORDERS_TOKEN"}},
			[]string{"w.output.t: " + placement}},
		{"log message", "log", map[string]any{"message": "token {{ secrets.A }}"}, []string{"w.message: " + placement}},
		{"log fields", "log", map[string]any{"message": "m", "fields": map[string]any{"t": "secrets.A"}}, []string{"w.fields.t: " + placement}},
		{"artifact name", "artifact", map[string]any{"name": "{{ secrets.A }}.txt", "content": "1"}, []string{"w.name: " + placement}},
		{"artifact content", "artifact", map[string]any{"name": "a.txt", "content": "secrets.A"}, []string{"w.content: " + placement}},
		{"whole map outside http", "transform", map[string]any{"output": "toJSON(secrets)"}, []string{"w.output: " + placement}},
		{"$env.secrets outside http", "transform", map[string]any{"output": "$env.secrets.A"}, []string{"w.output: " + placement}},
		{"whole $env outside http is harmless", "transform", map[string]any{"output": "$env"}, nil},
		{"http method", "http", map[string]any{"url": "https://x.test", "method": "{{ secrets.M }}"}, []string{"w.method: " + placement}},
		{"http timeout", "http", map[string]any{"url": "https://x.test", "timeout": "secrets.T"}, []string{"w.timeout: " + placement}},
		{"http expect", "http", map[string]any{"url": "https://x.test", "expect": []any{"{{ secrets.E }}"}}, []string{"w.expect[0]: " + placement}},
		{"dynamic index", "http", map[string]any{"url": "https://x.test", "body": "secrets[trigger.body.x]"}, []string{"w.body: " + fixed}},
		{"whole map in http", "http", map[string]any{"url": "https://x.test", "body": "toJSON(secrets)"}, []string{"w.body: " + fixed}},
		{"whole env in http", "http", map[string]any{"url": "https://x.test", "body": "$env"}, []string{"w.body: " + fixed}},
		{"dynamic env in http", "http", map[string]any{"url": "https://x.test/{{ $env[trigger.body.k] }}"}, []string{"w.url: " + fixed}},
		{"bad name", "http", map[string]any{"url": "https://x.test", "headers": map[string]any{"X-K": `{{ secrets["bad-name"] }}`}},
			[]string{`w.headers.X-K: secret name "bad-name" is invalid: names must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$`}},
		{"name too long", "http", map[string]any{"url": "https://x.test", "body": "secrets." + strings.Repeat("A", 65)},
			[]string{`w.body: secret name "` + strings.Repeat("A", 65) + `" is invalid: names must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, p := range mustLookup(t, tt.typ).Validate(tt.with, "w") {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Validate mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithoutSecrets(t *testing.T) {
	t.Parallel()
	env := secretEnv()
	plain := env.WithoutSecrets()
	if _, ok := plain[SecretsKey]; ok {
		t.Fatal("WithoutSecrets kept the secrets")
	}
	if _, ok := env[SecretsKey]; !ok {
		t.Fatal("WithoutSecrets modified its receiver")
	}
	if plain["run"] == nil || plain["trigger"] == nil {
		t.Fatal("WithoutSecrets dropped other keys")
	}
}

// Even with validation bypassed, steps other than http cannot read secrets.
func TestNonHTTPStepsCannotReadSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := func(t *testing.T, res Result, err error) {
		t.Helper()
		data, _ := json.Marshal(res)
		if strings.Contains(string(data), testSecretValue) {
			t.Fatalf("result leaks the secret: %s", data)
		}
		if err != nil && strings.Contains(err.Error(), testSecretValue) {
			t.Fatalf("error leaks the secret: %v", err)
		}
	}
	t.Run("transform", func(t *testing.T) {
		t.Parallel()
		with := map[string]any{"output": map[string]any{
			"whole":    "secrets",
			"optional": "secrets?.ORDERS_TOKEN",
			"env":      "$env.secrets",
		}}
		res, err := mustLookup(t, "transform").Run(ctx, Deps{}, with, secretEnv())
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		check(t, res, err)
		want := map[string]any{"whole": nil, "optional": nil, "env": nil}
		if diff := cmp.Diff(want, res.Output); diff != "" {
			t.Fatalf("output mismatch (-want +got):\n%s", diff)
		}
		res, err = mustLookup(t, "transform").Run(ctx, Deps{}, map[string]any{"output": "secrets.ORDERS_TOKEN"}, secretEnv())
		check(t, res, err)
		if res.Output != nil {
			t.Fatalf("output = %v, want nil", res.Output)
		}
	})
	t.Run("log", func(t *testing.T) {
		t.Parallel()
		with := map[string]any{"message": "t={{ secrets?.ORDERS_TOKEN }}", "fields": map[string]any{"t": "secrets?.ORDERS_TOKEN"}}
		res, err := mustLookup(t, "log").Run(ctx, Deps{}, with, secretEnv())
		check(t, res, err)
		if err != nil || res.Logs[0].Message != "t=" {
			t.Fatalf("log = %+v, %v; want an empty value", res.Logs, err)
		}
	})
	t.Run("artifact", func(t *testing.T) {
		t.Parallel()
		with := map[string]any{"name": "a{{ secrets?.ORDERS_TOKEN }}.txt", "content": "secrets"}
		res, err := mustLookup(t, "artifact").Run(ctx, Deps{}, with, secretEnv())
		check(t, res, err)
		if err != nil || res.Artifacts[0].Name != "a.txt" || string(res.Artifacts[0].Content) != "null" {
			t.Fatalf("artifact = %+v, %v; want no secret", res.Artifacts, err)
		}
	})
}

// seenRequest is what the echoing test server received.
type seenRequest struct {
	auth, query, body string
}

func TestHTTPSendsSecretsAndRedactsTheEcho(t *testing.T) {
	t.Parallel()
	seen := make(chan seenRequest, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- seenRequest{r.Header.Get("Authorization"), r.URL.Query().Get("token"), string(body)}
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", r.Header.Get("X-Token"))
		w.Header().Set("X-Echo-B64", base64.StdEncoding.EncodeToString([]byte(r.Header.Get("X-Token"))))
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token":        r.URL.Query().Get("token"),
			"raw_query":    r.URL.RawQuery,
			"basic":        r.Header.Get("Authorization"),
			"basic_pass":   pass,
			"user":         user,
			"body":         string(body),
			"b64":          base64.RawURLEncoding.EncodeToString(body),
			pass + "_echo": true,
		})
	}))
	t.Cleanup(srv.Close)
	with := map[string]any{
		"url": srv.URL + "/orders?token={{ secrets.ORDERS_TOKEN }}",
		"headers": map[string]any{
			"Authorization": `Basic {{ secrets.BASIC_AUTH }}`,
			"X-Token":       "{{ secrets.ORDERS_TOKEN }}",
		},
		"body": map[string]any{"token": "secrets.ORDERS_TOKEN"},
	}
	env := secretEnv()
	deps := Deps{HTTPClient: srv.Client(), Redactor: NewRedactor(testSecretValue)}
	res, err := mustLookup(t, "http").Run(context.Background(), deps, with, env)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := <-seen
	if got.query != testSecretValue || !strings.Contains(got.body, testSecretValue) || !strings.HasPrefix(got.auth, "Basic ") {
		t.Fatalf("the request did not carry the secret: %+v", got)
	}

	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{
		testSecretValue,
		base64.StdEncoding.EncodeToString([]byte(testSecretValue)),
		base64.RawURLEncoding.EncodeToString([]byte(testSecretValue)),
		url.QueryEscape(testSecretValue),
	} {
		if strings.Contains(string(data), form) {
			t.Fatalf("result contains the secret in the form %q: %s", form, data)
		}
	}
	if strings.Contains(string(data), base64.StdEncoding.EncodeToString([]byte("svc:" + testSecretValue))[8:16]) {
		t.Fatalf("result contains part of the Basic credentials: %s", data)
	}
	out := res.Output.(map[string]any)
	body := out["body"].(map[string]any)
	if body["token"] != Redacted || body["basic_pass"] != Redacted || body["user"] != "svc" {
		t.Fatalf("body = %v, want the token masked", body)
	}
	if _, ok := body[Redacted+"_echo"]; !ok {
		t.Fatalf("body keys = %v, want the echoed key masked", body)
	}
	headers := out["headers"].(map[string]string)
	if headers["x-echo"] != Redacted || headers["x-echo-b64"] != Redacted {
		t.Fatalf("headers = %v, want the echoes masked", headers)
	}
	if !strings.Contains(string(data), Redacted) {
		t.Fatal("nothing was redacted")
	}
	// The secrets in the env are untouched.
	if env[SecretsKey].(map[string]string)[testSecretName] != testSecretValue {
		t.Fatal("the env was modified")
	}
}

func TestHTTPLogOmitsHeadersAndQuery(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, status(http.StatusOK))
	with := map[string]any{
		"url":     srv.URL + "/p?key=visible-only-to-server",
		"headers": map[string]any{"X-Key": "header-value-xyz"},
	}
	// No redactor: the log line must be safe by construction.
	res, err := mustLookup(t, "http").Run(context.Background(), Deps{HTTPClient: srv.Client()}, with, testEnv())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	data, _ := json.Marshal(res.Logs)
	for _, s := range []string{"visible-only-to-server", "header-value-xyz", "key="} {
		if strings.Contains(string(data), s) {
			t.Fatalf("log contains %q: %s", s, data)
		}
	}
	u, _ := url.Parse(srv.URL)
	if len(res.Logs) != 1 || res.Logs[0].Fields["host"] != u.Host || res.Logs[0].Fields["method"] != "GET" {
		t.Fatalf("logs = %s, want method and host", data)
	}
}

func TestHTTPRedactsErrors(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, status(http.StatusOK))
	deps := Deps{HTTPClient: srv.Client(), Redactor: NewRedactor(testSecretValue)}
	// A run-time expression error that quotes the value.
	with := map[string]any{"url": srv.URL, "body": "int(secrets.ORDERS_TOKEN)"}
	_, err := mustLookup(t, "http").Run(context.Background(), deps, with, secretEnv())
	mustPermanent(t, err)
	if strings.Contains(err.Error(), testSecretValue) {
		t.Fatalf("error leaks the secret: %v", err)
	}
}

// A secret may be used only whole. Anything an expression makes of it —
// a slice, its upper case, a comparison that answers a guess, an error
// quoting a conversion — no longer matches the value the redactor masks.
func TestASecretMayOnlyBeUsedWhole(t *testing.T) {
	t.Parallel()
	const whole = "a secret may only be used whole"
	refused := []struct{ name, field, text string }{
		{"a function of it", "body", "upper(secrets.ORDERS_TOKEN)"},
		{"a conversion of a slice", "body", "int(secrets.ORDERS_TOKEN[1:])"},
		{"a slice", "body", "secrets.ORDERS_TOKEN[1:]"},
		{"an index", "body", "secrets.ORDERS_TOKEN[0]"},
		{"a concatenation", "body", `secrets.ORDERS_TOKEN + "x"`},
		{"a comparison that answers a guess", "body", `hasPrefix(secrets.ORDERS_TOKEN, "tok_9") ? "a" : "b"`},
		{"an equality", "body", `secrets.ORDERS_TOKEN == "guess"`},
		{"a default", "body", `secrets.ORDERS_TOKEN ?? "none"`},
		{"inside a literal", "body", `{"t": secrets.ORDERS_TOKEN}`},
		{"its length", "body", `len(secrets.ORDERS_TOKEN)`},
		{"a template part concatenating it", "url", `https://x.test/{{ "k" + secrets.ORDERS_TOKEN }}`},
		{"a template part piping it", "url", `https://x.test/{{ secrets.ORDERS_TOKEN | lower() }}`},
		{"an encoded header", "headers", `Basic {{ toBase64("svc:" + secrets.ORDERS_TOKEN) }}`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			with := map[string]any{"url": "https://x.test"}
			path := "w." + tt.field
			switch tt.field {
			case "headers":
				with["headers"] = map[string]any{"Authorization": tt.text}
				path += ".Authorization"
			default:
				with[tt.field] = tt.text
			}
			problems := mustLookup(t, "http").Validate(with, "w")
			if len(problems) != 1 || problems[0].Path != path || !strings.HasPrefix(problems[0].Message, whole) {
				t.Fatalf("Validate(%s: %q) = %v, want one problem at %s: %q", tt.field, tt.text, problems, path, whole)
			}
		})
	}
	allowed := map[string]any{
		"url":     "https://x.test/o?token={{ secrets.ORDERS_TOKEN }}&b={{ trigger.body.x }}",
		"headers": map[string]any{"Authorization": `Bearer {{ secrets["ORDERS_TOKEN"] }}`, "X-Opt": "{{ secrets?.OTHER }}"},
		"body":    map[string]any{"token": "secrets.ORDERS_TOKEN", "env": "$env.secrets.OTHER", "n": []any{"secrets.OTHER", "trigger.body"}},
	}
	if problems := mustLookup(t, "http").Validate(allowed, "w"); len(problems) != 0 {
		t.Fatalf("Validate(whole uses) = %v, want none", problems)
	}
}

// A definition saved before the rule, or one that bypassed validation, is
// refused when it runs: nothing is sent and the error shows nothing of the
// secret.
func TestASecretUsedInsideAnExpressionIsRefusedAtRunTime(t *testing.T) {
	t.Parallel()
	srv, seen := newServer(t, status(http.StatusOK))
	deps := Deps{HTTPClient: srv.Client(), Redactor: NewRedactor(testSecretValue)}
	for _, body := range []string{"int(secrets.ORDERS_TOKEN[1:])", "upper(secrets.ORDERS_TOKEN)"} {
		_, err := mustLookup(t, "http").Run(context.Background(), deps, map[string]any{"url": srv.URL, "body": body}, secretEnv())
		mustPermanent(t, err)
		if !strings.Contains(err.Error(), "a secret may only be used whole") {
			t.Errorf("Run(body: %s) = %v, want it refused for the secret's use", body, err)
		}
		for _, leak := range []string{testSecretValue[1:], strings.ToUpper(testSecretValue)} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("Run(body: %s) error leaks %q: %v", body, leak, err)
			}
		}
	}
	select {
	case r := <-seen:
		t.Fatalf("a request was sent: %+v", r)
	default:
	}
}

// The error of a field that reads a secret says which field failed and
// nothing of its expressions or values, even when the failing part is
// another one.
func TestErrorsOfFieldsThatReadSecretsAreWithheld(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, status(http.StatusOK))
	deps := Deps{HTTPClient: srv.Client()} // no redactor: the message must be safe by itself
	for field, with := range map[string]map[string]any{
		"http step: url": {"url": srv.URL + "/{{ secrets.ORDERS_TOKEN }}/{{ int(trigger.body.order.id) }}"},
		"http step: header Authorization": {"url": srv.URL,
			"headers": map[string]any{"Authorization": "{{ secrets.ORDERS_TOKEN }} {{ int(trigger.body.order.id) }}"}},
		"http step: body": {"url": srv.URL, "body": map[string]any{"t": "secrets.ORDERS_TOKEN", "n": "int(trigger.body.order.id)"}},
	} {
		_, err := mustLookup(t, "http").Run(context.Background(), deps, with, secretEnv())
		mustPermanent(t, err)
		if want := field + " could not be computed; it reads a secret, so the details are withheld"; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
	}
	// A field without secrets keeps its detailed error.
	_, err := mustLookup(t, "http").Run(context.Background(), deps, map[string]any{"url": srv.URL, "body": "int(trigger.body.order.id)"}, secretEnv())
	if err == nil || !strings.Contains(err.Error(), "int(trigger.body.order.id)") {
		t.Errorf("error of a field without secrets = %v, want the expression named", err)
	}
}
