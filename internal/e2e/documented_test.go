package e2e_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"aias/docs"
	"aias/pkg/aias"
)

// These tests exercise what the rest of the suite does not, so that every
// operation of docs/openapi.yaml is seen to answer as documented (s.do
// checks each exchange; TestMain fails a whole run that misses one).

func TestRunningServerServesItsOpenAPIDocumentWithoutAKey(t *testing.T) {
	t.Parallel()
	s := start(t, options{})

	ctx, public := context.Background(), s.client("")
	js, err := public.GetOpenAPIDocument(ctx)
	if err != nil {
		t.Fatalf("GetOpenAPIDocument: %v", err)
	}
	served, err := openapi3.NewLoader().LoadFromData(js)
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

	yml, err := public.GetOpenAPIDocumentYAML(ctx)
	if err != nil || string(yml) != string(docs.OpenAPI) {
		t.Errorf("GetOpenAPIDocumentYAML = %d bytes, %v; want docs/openapi.yaml byte for byte", len(yml), err)
	}
	if h, err := public.GetHealth(ctx); err != nil || h.Status != "ok" {
		t.Errorf("GetHealth = %+v, %v; want ok", h, err)
	}
}

func TestDeletedWorkflowEndpointAndSecretAreGone(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, orderWorkflow)
	ctx, api := context.Background(), s.client(acme.Key)
	ep, err := api.CreateEndpoint(ctx, aias.CreateEndpointRequest{WorkflowID: wf, Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.PutSecret(ctx, "SHOP_TOKEN", "s3cret-value"); err != nil {
		t.Fatal(err)
	}
	// The raw calls check that 204 has no body; the client's, what it makes of the answers.
	for _, path := range []string{"/api/v1/webhook-endpoints/" + ep.ID, "/api/v1/workflows/" + wf, "/api/v1/secrets/SHOP_TOKEN"} {
		if r := s.do("DELETE", path, acme.Key, "", nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Errorf("DELETE %s = %d %q, want 204 without a body", path, r.Status, r.Body)
		}
	}
	for name, del := range map[string]func() error{
		"DeleteEndpoint": func() error { return api.DeleteEndpoint(ctx, ep.ID) },
		"DeleteWorkflow": func() error { return api.DeleteWorkflow(ctx, wf) },
		"DeleteSecret":   func() error { return api.DeleteSecret(ctx, "SHOP_TOKEN") },
	} {
		if err := del(); aias.CodeOf(err) != aias.CodeNotFound {
			t.Errorf("%s again = %v, want not_found", name, err)
		}
	}
	if _, err := api.GetWorkflow(ctx, wf); aias.CodeOf(err) != aias.CodeNotFound {
		t.Errorf("GetWorkflow after its deletion = %v, want not_found", err)
	}
	if _, err := api.GetEndpoint(ctx, ep.ID); aias.CodeOf(err) != aias.CodeNotFound {
		t.Errorf("GetEndpoint after its deletion = %v, want not_found", err)
	}
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

	ctx, api := context.Background(), s.client(acme.Key)
	list, err := api.ListRunArtifacts(ctx, runID)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListRunArtifacts = %+v, %v; want one", list, err)
	}
	got, err := api.GetArtifact(ctx, list[0].ID)
	if err != nil || got != list[0] || got.RunID != runID {
		t.Errorf("GetArtifact = %+v, %v; want the run's %+v", got, err, list[0])
	}

	etag := `"` + got.SHA256 + `"`
	d, err := api.DownloadArtifact(ctx, got.ID, aias.DownloadOptions{IfNoneMatch: etag})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(d)
	_ = d.Close()
	if err != nil || !d.NotModified || len(b) != 0 || d.ETag != etag {
		t.Errorf("download with If-None-Match: its ETag = not modified %v, %d bytes, ETag %s, %v; want not modified without a body", d.NotModified, len(b), d.ETag, err)
	}
	d, err = api.DownloadArtifact(ctx, got.ID, aias.DownloadOptions{IfNoneMatch: `"stale"`})
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(d)
	_ = d.Close()
	if err != nil || d.NotModified || int64(len(b)) != got.SizeBytes {
		t.Errorf("download with a stale If-None-Match = %d bytes, %v; want the %d bytes", len(b), err, got.SizeBytes)
	}
}
