package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"aias/docs"
)

// Every exchange the harness makes (s.do and the helpers built on it) is
// held to docs/openapi.yaml, so the document cannot drift from what the
// server does:
//
//   - a request the document has no operation for must be refused by the
//     server as an unknown route (404 or 405);
//   - a request the document refuses (a parameter, header or body that
//     breaks its schema, or a missing credential) must be refused by the
//     server too (4xx or 5xx): a success means the document is stricter
//     than the API;
//   - every answer must be declared for its operation and status, headers
//     and body included, and an answer declared without a body must have
//     none.
//
// A failure is reported on the test that made the exchange. A run of the
// whole suite also fails when some operation of the document never answered
// a success (TestMain): its success schema would be unchecked.

// apiDocument loads the document and its router once per test binary.
var apiDocument = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not valid: %w", err)
	}
	admitNullInEmptySchemas(doc)
	return gorillamux.NewRouter(doc)
})

// admitNullInEmptySchemas makes the validator read an empty schema (the
// document's AnyValue) as OpenAPI 3.1 does, admitting every value, null
// included: kin-openapi validates schemas that use no JSON Schema 2020-12
// keyword with its own rules, under which a schema admits null only when
// its types name it. So each empty schema names every type, in memory.
func admitNullInEmptySchemas(doc *openapi3.T) {
	every := openapi3.Types{"null", "boolean", "object", "array", "number", "integer", "string"}
	_ = doc.WalkSchemas(func(_ string, ref *openapi3.SchemaRef) error {
		if ref.Value.IsEmpty() {
			ref.Value.Type = &every
		}
		return nil
	})
}

// exchange is one request as sent and the answer it got.
type exchange struct {
	method, url string
	header      http.Header
	body        []byte
	res         response
}

// conforms reports every way an exchange with the public port departs from
// the document. The ops listener (s.ops) and a test's own servers are not
// the API.
func (s *system) conforms(x exchange) {
	s.t.Helper()
	if !strings.HasPrefix(x.url, s.base+"/") {
		return
	}
	if err := checkExchange(x); err != nil {
		s.t.Errorf("%s %s = %d %.300s\ndoes not conform to docs/openapi.yaml: %v", x.method, x.url, x.res.Status, x.res.Body, err)
	}
}

func checkExchange(x exchange) error {
	router, err := apiDocument()
	if err != nil {
		return err
	}
	req, err := x.request()
	if err != nil {
		return err
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if x.res.Status == http.StatusNotFound || x.res.Status == http.StatusMethodNotAllowed {
			return nil // unknown to both
		}
		return fmt.Errorf("the document has no such operation (%w), yet the server answered %d", err, x.res.Status)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:                authenticate,
		IncludeResponseStatus:             true,
		RejectWhenRequestBodyNotSpecified: true,
		MultiError:                        true,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && x.res.Status < 400 {
		return fmt.Errorf("%s refuses this request, yet the server answered %d: %w", route.Operation.OperationID, x.res.Status, err)
	}
	if err := checkResponse(in, x.res); err != nil {
		return err
	}
	if x.res.Status < 400 {
		succeeded.Store(route.Operation.OperationID, true)
	}
	return nil
}

func checkResponse(in *openapi3filter.RequestValidationInput, res response) error {
	op := in.Route.Operation
	declared := op.Responses.Status(res.Status)
	if declared != nil && declared.Value != nil && len(declared.Value.Content) == 0 && len(res.Body) > 0 {
		return fmt.Errorf("%s declares %d without a body, yet the server sent %d bytes", op.OperationID, res.Status, len(res.Body))
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.Status, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(res.Body)), Options: in.Options,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("answer of %s: %w", op.OperationID, err)
	}
	return nil
}

// conformingTransport checks each exchange of a client against the
// document, as do does: the request as sent and the answer, read whole
// and handed on to the client unchanged.
type conformingTransport struct {
	s    *system
	next http.RoundTripper
}

func (ct conformingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	sent := req.Header.Clone()
	res, err := ct.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	ct.s.conforms(exchange{method: req.Method, url: req.URL.String(), header: sent, body: body,
		res: response{Status: res.StatusCode, Header: res.Header, Body: b}})
	return res, nil
}

// request rebuilds the request as sent (its body was consumed sending it).
func (x exchange) request() (*http.Request, error) {
	req, err := http.NewRequest(x.method, x.url, bytes.NewReader(x.body))
	if err != nil {
		return nil, err
	}
	req.Header = x.header.Clone()
	return req, nil
}

// authenticate holds a request to the credential a security scheme names:
// the document refuses a request without one, as the server does.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "apiKey":
		if strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case "session":
		if _, err := req.Cookie(in.SecurityScheme.Name); err == nil {
			return nil
		}
	}
	return in.NewError(errors.New("no " + in.SecuritySchemeName + " credential"))
}

// succeeded holds the id of every operation that answered a success which
// conformed to the document.
var succeeded sync.Map

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && wholeSuite() {
		if missing := unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: no end-to-end test saw these operations of docs/openapi.yaml succeed, so their answers are unchecked: %s\n",
				strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

// wholeSuite reports whether every test ran: a -run, -skip or -list
// selection leaves operations unexercised on purpose.
func wholeSuite() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

func unexercised() []string {
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		return []string{err.Error()}
	}
	var missing []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if _, ok := succeeded.Load(op.OperationID); !ok {
				missing = append(missing, op.OperationID)
			}
		}
	}
	sort.Strings(missing)
	return missing
}
