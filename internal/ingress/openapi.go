package ingress

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"

	"aias/docs"
)

// The OpenAPI document is written once, as docs/openapi.yaml, and embedded
// from there (package docs); clients and generators read it from the server
// they call. JSON is what most tools fetch, so it is converted once, at the
// first request for it, rather than per request — and not at start-up: the
// conversion allocates about 4 MB, which every worker and scheduler (the same
// binary) would otherwise carry as idle heap. A conversion error is a broken
// document, which a test in this package catches before it ships.
var openAPIJSON = sync.OnceValues(func() ([]byte, error) { return yaml.YAMLToJSON(docs.OpenAPI) })

// serveOpenAPIJSON is GET /api/openapi.json (public).
func serveOpenAPIJSON(c echo.Context) error {
	spec, err := openAPIJSON()
	if err != nil {
		return fmt.Errorf("convert docs/openapi.yaml to JSON: %w", err)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, spec)
}

// serveOpenAPIYAML is GET /api/openapi.yaml (public): the source, as written.
func serveOpenAPIYAML(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", docs.OpenAPI)
}
