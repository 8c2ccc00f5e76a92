package e2e_test

import (
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"aias/docs"
)

// These tests exercise what the rest of the suite does not, so that every
// operation of docs/openapi.yaml is seen to answer as documented (s.do
// checks each exchange; TestMain fails a whole run that misses one).

func TestRunningServerServesItsOpenAPIDocumentWithoutAKey(t *testing.T) {
	t.Parallel()
	s := start(t, options{})

	r := s.do("GET", "/api/openapi.json", "", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/openapi.json = %d %s, want 200", r.Status, r.Body)
	}
	served, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil {
		t.Fatalf("load the served document: %v", err)
	}
	embedded, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if served.Info.Title != "AIAS" || served.Paths.Len() != embedded.Paths.Len() {
		t.Errorf("served document %q has %d paths, want AIAS with docs/openapi.yaml's %d", served.Info.Title, served.Paths.Len(), embedded.Paths.Len())
	}

	r = s.do("GET", "/api/openapi.yaml", "", "", nil)
	if r.Status != http.StatusOK || string(r.Body) != string(docs.OpenAPI) {
		t.Errorf("GET /api/openapi.yaml = %d (%d bytes), want 200 with docs/openapi.yaml byte for byte", r.Status, len(r.Body))
	}
}

func TestDeletedWorkflowEndpointAndSecretAreGone(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, orderWorkflow)
	var ep struct {
		ID string `json:"id"`
	}
	s.mustJSON("POST", "/api/v1/webhook-endpoints", acme.Key, map[string]any{"workflow_id": wf, "name": "shop"}, 201, &ep)
	s.mustJSON("PUT", "/api/v1/secrets/SHOP_TOKEN", acme.Key, map[string]string{"value": "s3cret-value"}, 200, nil)

	for _, path := range []string{"/api/v1/webhook-endpoints/" + ep.ID, "/api/v1/workflows/" + wf, "/api/v1/secrets/SHOP_TOKEN"} {
		if r := s.do("DELETE", path, acme.Key, "", nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Errorf("DELETE %s = %d %q, want 204 without a body", path, r.Status, r.Body)
		}
		if r := s.do("DELETE", path, acme.Key, "", nil); r.Status != http.StatusNotFound {
			t.Errorf("DELETE %s again = %d %s, want 404", path, r.Status, r.Body)
		}
	}
	s.mustJSON("GET", "/api/v1/workflows/"+wf, acme.Key, nil, 404, nil)
	s.mustJSON("GET", "/api/v1/webhook-endpoints/"+ep.ID, acme.Key, nil, 404, nil)
}

func TestArtifactMetadataAndAConditionalDownload(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	status, runID := s.post(url, `{"order":{"id":"A-7","total":80}}`)
	if status != http.StatusAccepted {
		t.Fatalf("POST webhook = %d, want 202", status)
	}
	s.waitRun(acme.Key, runID, "succeeded")

	type artifact struct {
		ID     string `json:"id"`
		RunID  string `json:"run_id"`
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
	}
	var list struct {
		Data []artifact `json:"data"`
	}
	s.mustJSON("GET", "/api/v1/runs/"+runID+"/artifacts", acme.Key, nil, 200, &list)
	if len(list.Data) != 1 {
		t.Fatalf("artifacts = %+v, want one", list.Data)
	}
	var got artifact
	s.mustJSON("GET", "/api/v1/artifacts/"+list.Data[0].ID, acme.Key, nil, 200, &got)
	if got != list.Data[0] || got.RunID != runID {
		t.Errorf("GET artifact = %+v, want the run's %+v", got, list.Data[0])
	}

	etag := `"` + got.SHA256 + `"`
	r := s.do("GET", "/api/v1/artifacts/"+got.ID+"/download", acme.Key, "", nil, "If-None-Match", etag)
	if r.Status != http.StatusNotModified || len(r.Body) != 0 || r.Header.Get("ETag") != etag {
		t.Errorf("download with If-None-Match: its ETag = %d %q (ETag %s), want 304 without a body", r.Status, r.Body, r.Header.Get("ETag"))
	}
	r = s.do("GET", "/api/v1/artifacts/"+got.ID+"/download", acme.Key, "", nil, "If-None-Match", `"stale"`)
	if r.Status != http.StatusOK || len(r.Body) == 0 {
		t.Errorf("download with a stale If-None-Match = %d (%d bytes), want 200 with the bytes", r.Status, len(r.Body))
	}
}
