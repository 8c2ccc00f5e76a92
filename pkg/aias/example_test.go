package aias_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"aias/pkg/aias"
)

// Save a workflow, give it an endpoint, and read its failed runs.
func Example() {
	ctx := context.Background()
	c, err := aias.New("https://aias.example.com", aias.WithAPIKey(os.Getenv("AIAS_API_KEY")), aias.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	w, _, err := c.ApplyWorkflow(ctx, "order-received", aias.YAML([]byte(`
name: order-received
steps:
  - { name: normalize, type: transform, with: { output: { id: "trigger.body.order.id" } } }
`)))
	if err != nil {
		log.Fatal(err)
	}
	ep, err := c.CreateEndpoint(ctx, aias.CreateEndpointRequest{WorkflowID: w.ID, Name: "shop",
		Verification: &aias.VerificationInput{Scheme: aias.SchemeStandardWebhooks}})
	var e *aias.Error
	if errors.As(err, &e) && e.Code == aias.CodePlanLimit {
		log.Fatalf("the plan allows no more endpoints: %s", e.Detail)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deliver to", ep.URL, "signed with", ep.SigningSecret)
	for run, err := range c.ListRuns(ctx, aias.RunFilter{WorkflowID: w.ID, Status: aias.RunFailed}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(run.ID, *run.Error)
	}
}

// Stream an artifact to a file; the client checks its SHA-256 on the way.
func ExampleClient_DownloadArtifact() {
	ctx := context.Background()
	c, _ := aias.New("https://aias.example.com", aias.WithAPIKey(os.Getenv("AIAS_API_KEY")))
	d, err := c.DownloadArtifact(ctx, "0b9d6a4e-3f43-4a55-9d3e-1a2b3c4d5e6f", aias.DownloadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	f, err := os.Create(d.Filename)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, d); err != nil { // aias.ErrChecksum if the bytes were changed
		log.Fatal(err)
	}
}

// A receiver of AIAS's signed callbacks and on_finish notifications.
func ExampleVerifyCallback() {
	secret := os.Getenv("AIAS_CALLBACK_SECRET") // whsec_…, from POST /api/v1/callback-secret
	http.HandleFunc("/aias/finished", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read", http.StatusBadRequest)
			return
		}
		if err := aias.VerifyCallback(secret, r.Header, body); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		fmt.Printf("run finished: %s\n", body) // deduplicate on r.Header.Get("webhook-id")
	})
}

// The same receiver as middleware, holding two secrets while it moves to
// a new one, and reading the outcome.
func ExampleCallbackVerifier_Handler() {
	v := aias.CallbackVerifier{Secrets: []string{os.Getenv("AIAS_CALLBACK_SECRET"), os.Getenv("AIAS_CALLBACK_SECRET_OLD")}}
	http.Handle("/aias/finished", v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // verified
		fmt.Printf("%s\n", body)
	})))
}
