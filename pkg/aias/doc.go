// Package aias is a Go client for AIAS's HTTP API (docs/openapi.yaml): the
// tenant API under /api/v1 — workflows, webhook endpoints, runs, artifacts,
// secrets, API keys, usage, diagnostics, audit and billing — and the public
// routes (signup, plans, the intake, health and the API document) — as an
// API key, or as a person signed in (SignIn, LogIn, SignUpPerson,
// AcceptInvite return a Client carrying the sign-in's cookie and CSRF
// token).
//
// One method per operation of the document, named after its operationId
// (createWorkflow is CreateWorkflow). Every method takes a context; paged
// lists come as iterators (iter.Seq2) that fetch the next page as they go,
// with a ...Page method for one page at a time.
//
//	c, err := aias.New("https://aias.example.com", aias.WithAPIKey(os.Getenv("AIAS_API_KEY")))
//	for run, err := range c.ListRuns(ctx, aias.RunFilter{Status: aias.RunFailed}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(run.ID, run.Error)
//	}
//
// Calls are bounded by a timeout (WithTimeout, 30s by default) and retried
// with exponential backoff and jitter when AIAS answers 429 or 503, waiting
// what Retry-After asks when it says (WithRetry). Network errors are
// retried only for methods that are safe to repeat (GET, PUT, DELETE).
//
// A refusal is an *Error carrying the problem document's stable Code, the
// status, the detail, the invalid fields and the request id:
//
//	var e *aias.Error
//	if errors.As(err, &e) && e.Code == aias.CodeNotFound { ... }
//
// VerifyCallback and CallbackVerifier check the signed callbacks and
// on_finish notifications AIAS sends to a tenant's own servers.
//
// The package depends on the standard library only.
package aias
