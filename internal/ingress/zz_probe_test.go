package ingress

import (
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"aias/internal/telemetry"
)

func TestZZProbe(t *testing.T) {
	s := New(nil, nil, nil, telemetry.New(), zerolog.Nop(), Options{})
	for _, r := range s.Routes() {
		t.Log(r.Method, r.Path)
	}
	for _, mp := range [][2]string{{"GET", "/api/v1/nope"}, {"DELETE", "/api/v1/runs"}, {"GET", "/api/v1/runs"}, {"GET", "/nope"}, {"POST", "/healthz"}, {"GET", "/api/v1"}, {"PATCH", "/api/v1/workflows/x"}} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(mp[0], mp[1], nil))
		t.Log(mp, rec.Code, rec.Body.String())
	}
}
