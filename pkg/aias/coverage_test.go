package aias

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"aias/docs"
)

// The client is written by hand (docs/client.md says why); these tests
// hold it to docs/openapi.yaml, so neither can change without the other:
//
//   - every operation of the document has a method, and calling that method
//     sends a request the document routes to that very operation;
//   - every method of Client is an operation's, or a convenience named below;
//   - every schema has a Go type with exactly its JSON fields;
//   - the problem codes and the enums are the document's.

// operations maps each operationId to a call of the method that covers it.
var operations = map[string]func(context.Context, *Client) error{
	"deliverWebhook": func(ctx context.Context, c *Client) error {
		_, err := c.DeliverWebhook(ctx, c.BaseURL()+"/api/webhooks/"+uuid1+"/tok", "application/json", []byte(`{}`), nil)
		return err
	},
	"receiveStripeEvent": func(ctx context.Context, c *Client) error {
		_, err := c.ReceiveStripeEvent(ctx, []byte(`{}`), "t=1,v1=00")
		return err
	},
	"signUp": func(ctx context.Context, c *Client) error {
		_, err := c.SignUp(ctx, SignupRequest{Email: "a@example.com", TenantName: "a"})
		return err
	},
	"listPlans": func(ctx context.Context, c *Client) error { _, err := c.ListPlans(ctx); return err },
	"getMe":     func(ctx context.Context, c *Client) error { _, err := c.GetMe(ctx); return err },
	"getUsage":  func(ctx context.Context, c *Client) error { _, err := c.GetUsage(ctx); return err },
	"getHealth": func(ctx context.Context, c *Client) error { _, err := c.GetHealth(ctx); return err },
	"getOpenAPIDocument": func(ctx context.Context, c *Client) error {
		_, err := c.GetOpenAPIDocument(ctx)
		return err
	},
	"getOpenAPIDocumentYAML": func(ctx context.Context, c *Client) error {
		_, err := c.GetOpenAPIDocumentYAML(ctx)
		return err
	},
	"createWorkflow": func(ctx context.Context, c *Client) error {
		_, err := c.CreateWorkflow(ctx, YAML([]byte("name: a\nsteps: []\n")))
		return err
	},
	"listWorkflows": func(ctx context.Context, c *Client) error { return first(c.ListWorkflows(ctx, ListOptions{})) },
	"getWorkflow":   func(ctx context.Context, c *Client) error { _, err := c.GetWorkflow(ctx, uuid1); return err },
	"updateWorkflow": func(ctx context.Context, c *Client) error {
		_, err := c.UpdateWorkflow(ctx, uuid1, JSON([]byte(`{"name":"a","steps":[]}`)))
		return err
	},
	"deleteWorkflow": func(ctx context.Context, c *Client) error { return c.DeleteWorkflow(ctx, uuid1) },
	"listWorkflowVersions": func(ctx context.Context, c *Client) error {
		_, err := c.ListWorkflowVersions(ctx, uuid1)
		return err
	},
	"triggerWorkflow": func(ctx context.Context, c *Client) error {
		_, err := c.TriggerWorkflow(ctx, uuid1, map[string]int{"n": 1})
		return err
	},
	"createEndpoint": func(ctx context.Context, c *Client) error {
		_, err := c.CreateEndpoint(ctx, CreateEndpointRequest{WorkflowID: uuid1, Name: "e"})
		return err
	},
	"listEndpoints": func(ctx context.Context, c *Client) error { return first(c.ListEndpoints(ctx, ListOptions{})) },
	"getEndpoint":   func(ctx context.Context, c *Client) error { _, err := c.GetEndpoint(ctx, uuid1); return err },
	"updateEndpoint": func(ctx context.Context, c *Client) error {
		_, err := c.UpdateEndpoint(ctx, uuid1, UpdateEndpointRequest{Enabled: Ptr(false)})
		return err
	},
	"deleteEndpoint": func(ctx context.Context, c *Client) error { return c.DeleteEndpoint(ctx, uuid1) },
	"rotateEndpoint": func(ctx context.Context, c *Client) error {
		_, err := c.RotateEndpoint(ctx, uuid1, RotateEndpointRequest{Grace: Ptr(Duration(0))})
		return err
	},
	"listEndpointRejections": func(ctx context.Context, c *Client) error {
		return first(c.ListEndpointRejections(ctx, uuid1, ListOptions{}))
	},
	"listRuns": func(ctx context.Context, c *Client) error {
		return first(c.ListRuns(ctx, RunFilter{Status: RunFailed, WorkflowID: uuid1, EndpointID: uuid1, ExpandSteps: true}))
	},
	"replayRuns": func(ctx context.Context, c *Client) error {
		_, err := c.ReplayRuns(ctx, BulkReplayRequest{Status: []RunStatus{RunFailed}})
		return err
	},
	"redriveRuns": func(ctx context.Context, c *Client) error {
		_, err := c.RedriveRuns(ctx, BulkRedriveRequest{})
		return err
	},
	"getRun":           func(ctx context.Context, c *Client) error { _, err := c.GetRun(ctx, uuid1); return err },
	"listRunSteps":     func(ctx context.Context, c *Client) error { _, err := c.ListRunSteps(ctx, uuid1); return err },
	"listRunArtifacts": func(ctx context.Context, c *Client) error { _, err := c.ListRunArtifacts(ctx, uuid1); return err },
	"replayRun": func(ctx context.Context, c *Client) error {
		_, err := c.ReplayRun(ctx, uuid1, RunControlRequest{Version: VersionCurrent})
		return err
	},
	"redriveRun": func(ctx context.Context, c *Client) error {
		_, err := c.RedriveRun(ctx, uuid1, RunControlRequest{})
		return err
	},
	"cancelRun":   func(ctx context.Context, c *Client) error { _, err := c.CancelRun(ctx, uuid1); return err },
	"getArtifact": func(ctx context.Context, c *Client) error { _, err := c.GetArtifact(ctx, uuid1); return err },
	"downloadArtifact": func(ctx context.Context, c *Client) error {
		d, err := c.DownloadArtifact(ctx, uuid1, DownloadOptions{})
		if err != nil {
			return err
		}
		defer func() { _ = d.Close() }()
		_, err = io.Copy(io.Discard, d)
		return err
	},
	"createAPIKey": func(ctx context.Context, c *Client) error {
		_, err := c.CreateAPIKey(ctx, CreateAPIKeyRequest{Name: "k", Role: RoleViewer})
		return err
	},
	"listAPIKeys":  func(ctx context.Context, c *Client) error { return first(c.ListAPIKeys(ctx, ListOptions{})) },
	"revokeAPIKey": func(ctx context.Context, c *Client) error { return c.RevokeAPIKey(ctx, uuid1) },
	"listSecrets":  func(ctx context.Context, c *Client) error { _, err := c.ListSecrets(ctx); return err },
	"putSecret":    func(ctx context.Context, c *Client) error { _, err := c.PutSecret(ctx, "TOKEN", "v"); return err },
	"deleteSecret": func(ctx context.Context, c *Client) error { return c.DeleteSecret(ctx, "TOKEN") },
	"rotateCallbackSecret": func(ctx context.Context, c *Client) error {
		_, err := c.RotateCallbackSecret(ctx, RotateCallbackSecretRequest{})
		return err
	},
	"getCallbackSecret": func(ctx context.Context, c *Client) error { _, err := c.GetCallbackSecret(ctx); return err },
	"listAuditEntries":  func(ctx context.Context, c *Client) error { return first(c.ListAuditEntries(ctx, ListOptions{})) },
	"getDiagnostics":    func(ctx context.Context, c *Client) error { _, err := c.GetDiagnostics(ctx); return err },
	"getSubscription":   func(ctx context.Context, c *Client) error { _, err := c.GetSubscription(ctx); return err },
	"createCheckoutSession": func(ctx context.Context, c *Client) error {
		_, err := c.CreateCheckoutSession(ctx, CheckoutRequest{Plan: "pro"})
		return err
	},
	"createPortalSession": func(ctx context.Context, c *Client) error { _, err := c.CreatePortalSession(ctx); return err },
	"validateWorkflow": func(ctx context.Context, c *Client) error {
		_, err := c.ValidateWorkflow(ctx, YAML([]byte("name: a\nsteps: []\n")))
		return err
	},
	"testWorkflow": func(ctx context.Context, c *Client) error {
		_, err := c.TestWorkflow(ctx, WorkflowTestRequest{Definition: "name: a\nsteps: []\n"})
		return err
	},
	"diffWorkflowVersions": func(ctx context.Context, c *Client) error {
		_, err := c.DiffWorkflowVersions(ctx, uuid1, 1, 2)
		return err
	},
	"sendTestDelivery": func(ctx context.Context, c *Client) error {
		_, err := c.SendTestDelivery(ctx, uuid1, TestDeliveryRequest{})
		return err
	},
	"signUpPerson": func(ctx context.Context, c *Client) error {
		_, _, err := c.SignUpPerson(ctx, PersonSignupRequest{Email: "a@example.com", Password: "p", TenantName: "a"})
		return err
	},
	"logIn": func(ctx context.Context, c *Client) error {
		_, _, err := c.LogIn(ctx, LoginRequest{Email: "a@example.com", Password: "p"})
		return err
	},
	"acceptInvite": func(ctx context.Context, c *Client) error {
		_, _, err := c.AcceptInvite(ctx, TokenPassword{Token: "t", Password: "p"})
		return err
	},
	"logOut":           func(ctx context.Context, c *Client) error { return c.LogOut(ctx) },
	"logOutEverywhere": func(ctx context.Context, c *Client) error { _, err := c.LogOutEverywhere(ctx); return err },
	"listSessions":     func(ctx context.Context, c *Client) error { _, err := c.ListSessions(ctx); return err },
	"revokeSession":    func(ctx context.Context, c *Client) error { return c.RevokeSession(ctx, uuid1) },
	"invite": func(ctx context.Context, c *Client) error {
		_, err := c.Invite(ctx, InviteRequest{Email: "b@example.com", Role: RoleViewer})
		return err
	},
	"listInvites":  func(ctx context.Context, c *Client) error { _, err := c.ListInvites(ctx); return err },
	"revokeInvite": func(ctx context.Context, c *Client) error { return c.RevokeInvite(ctx, uuid1) },
	"requestPasswordReset": func(ctx context.Context, c *Client) error {
		return c.RequestPasswordReset(ctx, "a@example.com")
	},
	"completePasswordReset": func(ctx context.Context, c *Client) error {
		return c.CompletePasswordReset(ctx, TokenPassword{Token: "t", Password: "p"})
	},
	"listMembers": func(ctx context.Context, c *Client) error { _, err := c.ListMembers(ctx); return err },
	"changeMemberRole": func(ctx context.Context, c *Client) error {
		_, err := c.ChangeMemberRole(ctx, uuid1, RoleMember)
		return err
	},
	"removeMember": func(ctx context.Context, c *Client) error { return c.RemoveMember(ctx, uuid1) },
}

// conveniences are the methods of Client that are no operation of their own.
var conveniences = []string{
	"BaseURL", "ApplyWorkflow", "FindWorkflow", "ReplayAll", "RedriveAll",
	"ListWorkflowsPage", "ListEndpointsPage", "ListEndpointRejectionsPage", "ListRunsPage", "ListAPIKeysPage", "ListAuditEntriesPage",
}

const uuid1 = "0b9d6a4e-3f43-4a55-9d3e-1a2b3c4d5e6f"

func first[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		return err
	}
	return nil
}

func loadDocument(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatalf("load docs/openapi.yaml: %v", err)
	}
	return doc
}

func TestEveryOperationOfTheDocumentHasAMethodAndEveryMethodAnOperation(t *testing.T) {
	t.Parallel()
	doc := loadDocument(t)
	var inDoc []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			inDoc = append(inDoc, op.OperationID)
			if _, ok := operations[op.OperationID]; !ok {
				t.Errorf("operation %s of docs/openapi.yaml has no method in the client", op.OperationID)
			}
		}
	}
	for id := range operations {
		if !slices.Contains(inDoc, id) {
			t.Errorf("the client's table names %s, which docs/openapi.yaml does not have", id)
		}
	}
	ct := reflect.TypeFor[*Client]()
	for i := range ct.NumMethod() {
		name := ct.Method(i).Name
		if !slices.Contains(conveniences, name) && !hasOperation(name) {
			t.Errorf("Client.%s is neither an operation's method nor a listed convenience", name)
		}
	}
}

// hasOperation matches a method name to an operationId case-insensitively
// (createAPIKey is CreateAPIKey).
func hasOperation(method string) bool {
	for id := range operations {
		if strings.EqualFold(id, method) {
			return true
		}
	}
	return false
}

// Each method, called against a server that records what it gets, sends a
// request the document routes to the operation the method is for.
func TestEachMethodSendsItsOperationsRequest(t *testing.T) {
	t.Parallel()
	doc := loadDocument(t)
	doc.Servers = nil // route any host
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "s"}) // what the sign-in routes answer
		_, _ = io.WriteString(w, `{"data":[]}`)
	}))
	defer srv.Close()
	c, err := New(srv.URL, WithAPIKey("aias_test"), WithRetry(NoRetry))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(operations))
	for id := range operations {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		mu.Lock()
		got = nil
		mu.Unlock()
		if err := operations[id](context.Background(), c); err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		mu.Lock()
		reqs := got
		mu.Unlock()
		if len(reqs) != 1 {
			t.Errorf("%s sent %d requests, want 1", id, len(reqs))
			continue
		}
		req := reqs[0]
		req.URL.Scheme, req.URL.Host = "http", req.Host
		route, _, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s sent %s %s, which the document has no operation for: %v", id, req.Method, req.URL.Path, err)
			continue
		}
		if route.Operation.OperationID != id {
			t.Errorf("%s sent %s %s, which is the document's %s", id, req.Method, req.URL.Path, route.Operation.OperationID)
		}
		public := route.Operation.Security != nil && len(*route.Operation.Security) == 0
		if hasKey := req.Header.Get("Authorization") != ""; hasKey == public {
			t.Errorf("%s sent Authorization %v, want it sent only to operations that take a key (public: %v)", id, hasKey, public)
		}
	}
}

// schemas maps each schema of the document to the Go type that is its
// JSON form (nil: a plain string, or a schema no type needs on its own).
var schemas = map[string]reflect.Type{
	"Problem": reflect.TypeFor[problem](), "FieldError": reflect.TypeFor[FieldError](),
	"SignupRequest": reflect.TypeFor[SignupRequest](), "Signup": reflect.TypeFor[Signup](), "Me": reflect.TypeFor[Me](),
	"Usage": reflect.TypeFor[Usage](), "Plan": reflect.TypeFor[Plan](), "PlanLimits": reflect.TypeFor[PlanLimits](),
	"PlanFeatures": reflect.TypeFor[PlanFeatures](), "PlanList": reflect.TypeFor[list[Plan]](),
	"WorkflowDefinition": reflect.TypeFor[WorkflowDefinition](), "WorkflowStep": reflect.TypeFor[WorkflowStep](),
	"SwitchCase": reflect.TypeFor[SwitchCase](), "RetryPolicy": reflect.TypeFor[WorkflowRetry](),
	"OnFinish": reflect.TypeFor[OnFinish](), "Schedule": reflect.TypeFor[Schedule](), "Workflow": reflect.TypeFor[Workflow](),
	"WorkflowList": reflect.TypeFor[Page[Workflow]](), "WorkflowVersion": reflect.TypeFor[WorkflowVersion](),
	"WorkflowVersionList":  reflect.TypeFor[list[WorkflowVersion]](),
	"VerificationSettings": reflect.TypeFor[VerificationSettings](), "VerificationInput": reflect.TypeFor[VerificationInput](),
	"SigningSecret": reflect.TypeFor[SigningSecret](), "Endpoint": reflect.TypeFor[Endpoint](),
	"IssuedEndpoint": reflect.TypeFor[IssuedEndpoint](), "EndpointList": reflect.TypeFor[Page[Endpoint]](),
	"CreateEndpointRequest": reflect.TypeFor[CreateEndpointRequest](), "UpdateEndpointRequest": reflect.TypeFor[UpdateEndpointRequest](),
	"RotateEndpointRequest": reflect.TypeFor[RotateEndpointRequest](), "Rejection": reflect.TypeFor[Rejection](),
	"RejectionList": reflect.TypeFor[Page[Rejection]](), "RunAccepted": reflect.TypeFor[RunAccepted](),
	"SlackChallenge": nil, // with RunAccepted, the intake's answer: Delivery (below)
	"Trigger":        reflect.TypeFor[Trigger](), "Run": reflect.TypeFor[Run](), "RunList": reflect.TypeFor[Page[Run]](),
	"RunStep": reflect.TypeFor[RunStep](), "LogLine": reflect.TypeFor[LogLine](), "RunStepList": reflect.TypeFor[list[RunStep]](),
	"RunControlRequest": reflect.TypeFor[RunControlRequest](), "CanceledRun": reflect.TypeFor[CanceledRun](),
	"BulkReplayRequest": reflect.TypeFor[BulkReplayRequest](), "BulkRedriveRequest": reflect.TypeFor[BulkRedriveRequest](),
	"BulkResult": reflect.TypeFor[BulkResult](), "Artifact": reflect.TypeFor[Artifact](), "ArtifactList": reflect.TypeFor[list[Artifact]](),
	"APIKey": reflect.TypeFor[APIKey](), "CreatedAPIKey": reflect.TypeFor[CreatedAPIKey](), "APIKeyList": reflect.TypeFor[Page[APIKey]](),
	"CreateAPIKeyRequest": reflect.TypeFor[CreateAPIKeyRequest](), "PutSecretRequest": reflect.TypeFor[putSecretRequest](),
	"Secret": reflect.TypeFor[Secret](), "SecretList": reflect.TypeFor[list[Secret]](),
	"RotateCallbackSecretRequest": reflect.TypeFor[RotateCallbackSecretRequest](), "CallbackSecret": reflect.TypeFor[CallbackSecret](),
	"IssuedCallbackSecret": reflect.TypeFor[IssuedCallbackSecret](), "AuditEntry": reflect.TypeFor[AuditEntry](),
	"AuditEntryList": reflect.TypeFor[Page[AuditEntry]](), "Diagnostics": reflect.TypeFor[Diagnostics](),
	"CheckoutRequest": reflect.TypeFor[CheckoutRequest](), "SessionURL": reflect.TypeFor[SessionURL](),
	"Subscription": reflect.TypeFor[Subscription](), "SubscriptionState": reflect.TypeFor[subscriptionState](),
	"StripeReceipt": reflect.TypeFor[StripeReceipt](), "Health": reflect.TypeFor[Health](),
	"WorkflowValidation": reflect.TypeFor[WorkflowValidation](), "SideEffect": reflect.TypeFor[SideEffect](),
	"WorkflowTestRequest": reflect.TypeFor[WorkflowTestRequest](), "WorkflowTestResult": reflect.TypeFor[WorkflowTestResult](),
	"WorkflowTestStep": reflect.TypeFor[WorkflowTestStep](), "WorkflowDiff": reflect.TypeFor[WorkflowDiff](),
	"TestDeliveryRequest": reflect.TypeFor[TestDeliveryRequest](), "TestDeliveryOutcome": reflect.TypeFor[TestDeliveryOutcome](),
	"PersonSignupRequest": reflect.TypeFor[PersonSignupRequest](), "LoginRequest": reflect.TypeFor[LoginRequest](),
	"SignedIn": reflect.TypeFor[SignedIn](), "Session": reflect.TypeFor[Session](), "SessionList": reflect.TypeFor[Page[Session]](),
	"InviteRequest": reflect.TypeFor[InviteRequest](), "Invitation": reflect.TypeFor[Invitation](),
	"CreatedInvitation": reflect.TypeFor[CreatedInvitation](), "InvitationList": reflect.TypeFor[Page[Invitation]](),
	"TokenPassword": reflect.TypeFor[TokenPassword](), "Member": reflect.TypeFor[Member](), "MemberList": reflect.TypeFor[Page[Member]](),
	// Words, not objects: Go string types or plain strings.
	"ProblemCode": nil, "Role": nil, "RunStatus": nil, "Duration": nil, "AnyValue": nil, "SecretName": nil,
	"NextCursor": nil, "VerificationScheme": nil, "RejectionReason": nil, "TriggerKind": nil, "StepStatus": nil,
}

func TestEveryObjectSchemaHasAGoTypeWithExactlyItsFields(t *testing.T) {
	t.Parallel()
	doc := loadDocument(t)
	for name, ref := range doc.Components.Schemas {
		typ, ok := schemas[name]
		if !ok {
			t.Errorf("schema %s has no entry in the client's table", name)
			continue
		}
		if typ == nil {
			continue
		}
		checkFields(t, name, ref.Value, typ)
	}
	for name := range schemas {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("the client's table names schema %s, which docs/openapi.yaml does not have", name)
		}
	}
	// The intake answers a run or Slack's challenge: Delivery has the fields of both.
	union := &openapi3.Schema{Properties: openapi3.Schemas{}}
	for _, name := range []string{"RunAccepted", "SlackChallenge"} {
		for p, s := range doc.Components.Schemas[name].Value.Properties {
			union.Properties[p] = s
		}
	}
	checkFields(t, "RunAccepted|SlackChallenge", union, reflect.TypeFor[Delivery]())
	// Diagnostics' nested objects.
	diag := doc.Components.Schemas["Diagnostics"].Value.Properties
	checkFields(t, "Diagnostics.runs", diag["runs"].Value, reflect.TypeFor[DiagnosticsRuns]())
	checkFields(t, "Diagnostics.recent_failures", diag["recent_failures"].Value.Items.Value, reflect.TypeFor[FailureGroup]())
	checkFields(t, "Diagnostics.rejections", diag["rejections"].Value.Items.Value, reflect.TypeFor[RejectionCount]())
	checkFields(t, "on_finish body", &openapi3.Schema{Properties: onFinishBody()}, reflect.TypeFor[RunFinished]())
	// The bodies the document states inline.
	body := func(op *openapi3.Operation) *openapi3.Schema {
		return op.RequestBody.Value.Content["application/json"].Schema.Value
	}
	answer := func(op *openapi3.Operation) *openapi3.Schema {
		return op.Responses.Status(http.StatusOK).Value.Content["application/json"].Schema.Value
	}
	checkFields(t, "requestPasswordReset body", body(doc.Paths.Find("/api/v1/password-resets").Post), reflect.TypeFor[passwordResetRequest]())
	checkFields(t, "changeMemberRole body", body(doc.Paths.Find("/api/v1/members/{id}").Patch), reflect.TypeFor[memberRoleRequest]())
	checkFields(t, "logOutEverywhere answer", answer(doc.Paths.Find("/api/v1/session/logout-everywhere").Post), reflect.TypeFor[endedSignIns]())
}

// onFinishBody is the on_finish notification's body (docs/workflows.md),
// which the document does not describe: AIAS sends it, it does not serve it.
func onFinishBody() openapi3.Schemas {
	s := openapi3.Schemas{}
	for _, p := range []string{"run_id", "workflow_id", "workflow_version", "status", "error", "attempt", "created_at", "started_at", "finished_at"} {
		s[p] = openapi3.NewSchemaRef("", openapi3.NewStringSchema())
	}
	return s
}

func checkFields(t *testing.T, name string, s *openapi3.Schema, typ reflect.Type) {
	t.Helper()
	fields := jsonFields(typ)
	for p := range s.Properties {
		if _, ok := fields[p]; !ok {
			t.Errorf("schema %s has property %q; %s has no such JSON field", name, p, typ)
		}
	}
	for f, omitempty := range fields {
		if _, ok := s.Properties[f]; !ok {
			t.Errorf("%s has JSON field %q; schema %s has no such property", typ, f, name)
		}
		if omitempty && strings.HasSuffix(name, "Request") && slices.Contains(s.Required, f) {
			t.Errorf("%s.%s is omitted when empty, yet schema %s requires it", typ, f, name)
		}
	}
}

// jsonFields are a struct's JSON field names (embedded structs flattened),
// each with whether it is omitted when empty.
func jsonFields(typ reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() && name == "" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = strings.Contains(opts, "omitempty")
	}
	return out
}

func TestCodesAndEnumsAreTheDocuments(t *testing.T) {
	t.Parallel()
	doc := loadDocument(t)
	enums := map[string][]string{
		"ProblemCode":        strs(Codes),
		"RunStatus":          strs([]RunStatus{RunHeld, RunQueued, RunDelayed, RunRunning, RunSucceeded, RunFailed, RunDead, RunCanceled}),
		"Role":               strs([]Role{RoleViewer, RoleMember, RoleAdmin, RoleOwner}),
		"TriggerKind":        strs([]TriggerKind{TriggerWebhook, TriggerManual, TriggerReplay, TriggerSchedule}),
		"VerificationScheme": strs([]VerificationScheme{SchemeToken, SchemeStandardWebhooks, SchemeStripe, SchemeGitHub, SchemeSlack, SchemeShopify, SchemeHMAC}),
	}
	for name, consts := range enums {
		var want []string
		for _, v := range doc.Components.Schemas[name].Value.Enum {
			want = append(want, v.(string))
		}
		if !slices.Equal(consts, want) {
			t.Errorf("%s: the client's constants %v, the document's enum %v", name, consts, want)
		}
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
