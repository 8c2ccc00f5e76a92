package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/errs"
	"aias/internal/page"
)

// maxAPIBody caps management API request bodies.
const maxAPIBody = 1 << 20

// readBody reads at most limit bytes, answering 413 beyond. A declared
// Content-Length over the limit is refused before reading anything. A body
// not read in full within the body timeout (bodyDeadline) is cut: 408
// body_timeout, whatever the request deadline leaves.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	r := c.Request()
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	restore := bodyTimer(c)
	// Sized from Content-Length, so a typical body is read into one
	// allocation instead of a doubling series; capped, so a declared length
	// costs no memory before its bytes arrive.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), maxPresized)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Response(), r.Body, limit))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The rest of the body is not waited for: the connection closes
		// after the answer (else the server would read on, for the request
		// deadline, before answering).
		c.Response().Header().Set(echo.HeaderConnection, "close")
		return nil, errs.Wrap(err, errs.TimedOut, "body_timeout", "the request body did not arrive in time")
	}
	restore()
	b := buf.Bytes()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, errs.Wrap(err, errs.Invalid, "bad_request", "could not read the request body")
	}
	return b, nil
}

type bodyTimeoutKey struct{}

// bodyDeadline gives each request's body d to arrive once a handler starts
// reading it (readBody); zero: only the request deadline.
func bodyDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if d > 0 {
				r := c.Request()
				c.SetRequest(r.WithContext(context.WithValue(r.Context(), bodyTimeoutKey{}, d)))
			}
			return next(c)
		}
	}
}

// bodyTimer sets the connection's read deadline for the body and returns
// what puts it back: the server reads on from the connection while the
// handler works (to see the client leave), and a deadline passing then
// would cancel the request.
func bodyTimer(c echo.Context) (restore func()) {
	d, ok := c.Request().Context().Value(bodyTimeoutKey{}).(time.Duration)
	if !ok {
		return func() {}
	}
	rc := http.NewResponseController(c.Response())
	if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return func() {} // not a net/http connection (a test's recorder): the request deadline alone
	}
	return func() {
		until, _ := c.Request().Context().Deadline() // zero: none
		_ = rc.SetReadDeadline(until)
	}
}

// maxPresized bounds the buffer readBody allocates before reading.
const maxPresized = 64 << 10

func tooLarge(limit int64) error {
	return errs.E(errs.TooLarge, "payload_too_large", fmt.Sprintf("the body exceeds %d bytes", limit))
}

// mediaType is the request's content type without parameters, lower-cased.
func mediaType(c echo.Context) string {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil {
		return ""
	}
	return mt
}

// bindJSON decodes a JSON request body strictly into v: JSON only, unknown
// fields refused, one value only.
func bindJSON(c echo.Context, v any) error {
	if mt := mediaType(c); mt != "application/json" {
		return errs.E(errs.Unsupported, "unsupported_media_type", "send Content-Type: application/json")
	}
	b, err := readBody(c, maxAPIBody)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.Wrap(err, errs.Invalid, "invalid_json", "the body is not valid JSON for this request: "+jsonErrorDetail(err))
	}
	if dec.More() {
		return errs.E(errs.Invalid, "invalid_json", "the body holds more than one JSON value")
	}
	return nil
}

func jsonErrorDetail(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type.String())
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return err.Error()
}

// pathID parses a path parameter as a UUID; anything else is simply not found.
func pathID(c echo.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, errs.NotFoundf("not found")
	}
	return id, nil
}

// pageRequest reads ?limit=&cursor=.
func pageRequest(c echo.Context) (page.Request, error) {
	limit := 0
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n == 0 { // 0 would mean "the default" to page.Parse; a client that sends it means none
			return page.Request{}, errs.Validation("invalid page request", errs.FieldError{Path: "limit", Message: "must be between 1 and 200"})
		}
		limit = n
	}
	return page.Parse(limit, c.QueryParam("cursor"))
}

// list is the envelope of every list response.
type list[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func newList[T any](data []T, next string) list[T] {
	if data == nil {
		data = []T{}
	}
	return list[T]{Data: data, NextCursor: next}
}
