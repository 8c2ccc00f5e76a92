package ingress

import (
	"context"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"aias/internal/artifact"
	"aias/internal/postgres"
)

// downloadArtifact streams the bytes with the stored content type and the
// sha256 as a strong ETag (If-None-Match answers 304).
func (s *Server) downloadArtifact(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		a, err := artifact.Get(ctx, q, id)
		if err != nil {
			return err
		}
		etag := `"` + a.SHA256 + `"`
		h := c.Response().Header()
		h.Set("ETag", etag)
		if c.Request().Header.Get("If-None-Match") == etag {
			return c.NoContent(http.StatusNotModified)
		}
		h.Set(echo.HeaderContentType, a.ContentType)
		h.Set(echo.HeaderContentLength, strconv.FormatInt(a.SizeBytes, 10))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
		c.Response().WriteHeader(http.StatusOK)
		return artifact.WriteContent(ctx, q, a, c.Response())
	})
}
