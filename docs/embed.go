// Package docs embeds the OpenAPI document, so the server that answers the
// API also serves its description, and both come from one file.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml: the HTTP API's OpenAPI 3.1 document.
//
//go:embed openapi.yaml
var OpenAPI []byte
