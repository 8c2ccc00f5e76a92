package ingress

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"

	"aias/docs"
)

// The OpenAPI document is written once, as docs/openapi.yaml, and embedded
// from there (package docs); clients and generators read it from the server
// they call. JSON is what most tools fetch, so it is converted once, when the
// program starts, rather than per request. A conversion error is a broken
// document, which a test in this package catches before it ships.
var openAPIJSON, errOpenAPIJSON = yaml.YAMLToJSON(docs.OpenAPI)

// serveOpenAPIJSON is GET /api/openapi.json (public).
func serveOpenAPIJSON(c echo.Context) error {
	if errOpenAPIJSON != nil {
		return fmt.Errorf("convert docs/openapi.yaml to JSON: %w", errOpenAPIJSON)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIJSON)
}

// serveOpenAPIYAML is GET /api/openapi.yaml (public): the source, as written.
func serveOpenAPIYAML(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", docs.OpenAPI)
}
