package ingress

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"aias/internal/errs"
)

// slowBody is a body whose bytes have not arrived: it fails its first read.
type slowBody struct{}

func (slowBody) Read([]byte) (int, error) {
	return 0, errors.New("connection closed before the body arrived")
}

func bodyContext(body io.Reader, contentLength int64) echo.Context {
	req := httptest.NewRequest(http.MethodPost, "/", body)
	req.ContentLength = contentLength
	return echo.New().NewContext(req, httptest.NewRecorder())
}

// A declared length is a promise, not bytes: a client that declares 20 MiB
// and sends nothing must not make the ingress allocate 20 MiB.
func TestADeclaredBodyLengthCostsNoMemoryBeforeItsBytesArrive(t *testing.T) {
	c := bodyContext(slowBody{}, 20<<20)
	_, _ = readBody(c, 25<<20) // warm up
	before := heapAlloc()
	_, err := readBody(c, 25<<20)
	allocated := heapAlloc() - before
	if err == nil {
		t.Fatal("readBody of a body that never came = nil error")
	}
	if allocated > 2*maxPresized {
		t.Errorf("reading a 20 MiB declared body that never came allocated %d bytes, want at most %d", allocated, 2*maxPresized)
	}
}

func TestBodiesAreReadWholeOrRefusedAtTheLimit(t *testing.T) {
	for _, c := range []struct {
		name     string
		body     string
		declared int64 // -1: chunked, no length
		limit    int64
		wantErr  errs.Kind
	}{
		{"declared, under the limit", strings.Repeat("a", 5000), 5000, 10000, 0},
		{"chunked, under the limit", strings.Repeat("b", 70000), -1, 100000, 0},
		{"empty", "", 0, 10, 0},
		{"declared over the limit", strings.Repeat("c", 20), 20, 10, errs.TooLarge},
		{"chunked over the limit", strings.Repeat("d", 20), -1, 10, errs.TooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readBody(bodyContext(strings.NewReader(c.body), c.declared), c.limit)
			if c.wantErr != 0 {
				if !errs.Is(err, c.wantErr) {
					t.Fatalf("readBody = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || string(got) != c.body {
				t.Fatalf("readBody = %d bytes, %v; want the %d bytes sent", len(got), err, len(c.body))
			}
		})
	}
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// A page size is 1 to 200, or absent (the default): a client that asks for
// 0 or for something that is not a number gets 400, not the default.
func TestAPageSizeOutsideItsRangeIsRefused(t *testing.T) {
	t.Parallel()
	for query, ok := range map[string]bool{"": true, "?limit=1": true, "?limit=200": true,
		"?limit=0": false, "?limit=201": false, "?limit=-1": false, "?limit=ten": false} {
		req := httptest.NewRequest(http.MethodGet, "/"+query, nil)
		_, err := pageRequest(echo.New().NewContext(req, httptest.NewRecorder()))
		if (err == nil) != ok {
			t.Errorf("limit in %q: err = %v, want accepted = %v", query, err, ok)
		}
		if err != nil && !errs.Is(err, errs.Invalid) {
			t.Errorf("limit in %q: err = %v, want a validation error", query, err)
		}
	}
}
