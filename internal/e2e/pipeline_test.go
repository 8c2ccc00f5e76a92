package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"aias/pkg/aias"
	"github.com/hibiken/asynq"
)

const orderWorkflow = `
name: order-received
max_attempts: 3
steps:
  - name: normalize
    type: transform
    with:
      output:
        id: "trigger.body.order.id"
        total: "trigger.body.order.total * 2"
        source: "trigger.headers['x-source']"
  - name: big_only
    type: condition
    with: { if: "steps.normalize.output.total > 100" }
  - name: note
    type: log
    with: { message: "order {{ steps.normalize.output.id }}" }
  - name: receipt
    type: artifact
    with:
      name: "receipt-{{ steps.normalize.output.id }}.json"
      content_type: application/json
      content: "steps.normalize.output"
`

func TestUserPathFromSignupToArtifactDownload(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")

	ctx, api := context.Background(), s.client(acme.Key)
	me, err := api.GetMe(ctx)
	if err != nil || me.TenantID != acme.ID || me.Role != aias.RoleOwner {
		t.Fatalf("GetMe = %+v, %v; want tenant %s as owner", me, err, acme.ID)
	}

	wf := s.createWorkflow(acme.Key, orderWorkflow)
	url := s.createEndpoint(acme.Key, wf)

	status, runID := s.post(url, `{"order":{"id":"A-1","total":60}}`, "X-Source", "shop")
	if status != http.StatusAccepted || runID == "" {
		t.Fatalf("POST webhook = %d (run %q), want 202 with a run id", status, runID)
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	var r aias.Run
	for !r.Status.Final() && time.Now().Before(deadline) {
		r = s.run(acme.Key, runID)
		seen[string(r.Status)] = true
		time.Sleep(5 * time.Millisecond) // poll, leaving the cores to the system under test
	}
	if r.Status != "succeeded" || r.Attempt != 1 || r.WorkflowID != wf || r.WorkflowVersion != 1 {
		t.Fatalf("run = %+v, want succeeded on attempt 1 of workflow %s v1", r, wf)
	}
	if r.StartedAt == nil || r.FinishedAt == nil || r.FinishedAt.Before(*r.StartedAt) {
		t.Errorf("run timestamps started=%v finished=%v, want both, in order", r.StartedAt, r.FinishedAt)
	}
	if seen["failed"] || seen["dead"] {
		t.Errorf("statuses observed %v include a failure", seen)
	}

	steps, err := api.ListRunSteps(ctx, runID)
	if err != nil || len(steps) != 4 {
		t.Fatalf("ListRunSteps = %d steps, %v; want 4", len(steps), err)
	}
	for i, want := range []string{"normalize", "big_only", "note", "receipt"} {
		st := steps[i]
		if st.Name != want || st.Status != "succeeded" || st.Attempt != 1 || st.FinishedAt == nil {
			t.Errorf("step %d = %+v, want %s succeeded on attempt 1", i, st, want)
		}
	}
	wantOut := `{"id":"A-1","source":"shop","total":120}`
	if got := canonical(t, steps[0].Output); got != wantOut {
		t.Errorf("normalize output = %s, want %s", got, wantOut)
	}
	if len(steps[2].Logs) != 1 || steps[2].Logs[0].Message != "order A-1" {
		t.Errorf("note logs = %v, want one line 'order A-1'", steps[2].Logs)
	}

	arts, err := api.ListRunArtifacts(ctx, runID)
	if err != nil || len(arts) != 1 {
		t.Fatalf("ListRunArtifacts = %d artifacts, %v; want 1", len(arts), err)
	}
	a := arts[0]
	sum := sha256.Sum256([]byte(wantOut))
	if a.Name != "receipt-A-1.json" || a.ContentType != "application/json" || a.SizeBytes != int64(len(wantOut)) || a.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("artifact = %+v, want receipt-A-1.json, application/json, %d bytes, sha256 of the content", a, len(wantOut))
	}
	dl, err := api.DownloadArtifact(ctx, a.ID, aias.DownloadOptions{})
	if err != nil {
		t.Fatalf("DownloadArtifact: %v", err)
	}
	defer func() { _ = dl.Close() }()
	body, err := io.ReadAll(dl)
	if err != nil || string(body) != wantOut || dl.ContentType != "application/json" || dl.Filename != a.Name {
		t.Errorf("download = %q (%s, %q), %v; want %q application/json named %s", body, dl.ContentType, dl.Filename, err, wantOut, a.Name)
	}
	if dl.ETag != `"`+a.SHA256+`"` {
		t.Errorf("download ETag = %s, want the sha256", dl.ETag)
	}
}

// canonical re-encodes JSON with sorted keys (jsonb reorders them).
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestConditionFalseSucceedsAndSkipsTheRest(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	_, runID := s.post(url, `{"order":{"id":"small","total":1}}`)
	s.waitRun(acme.Key, runID, "succeeded")
	steps, err := s.client(acme.Key).ListRunSteps(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range steps {
		got = append(got, fmt.Sprintf("{%s %s}", st.Name, st.Status))
	}
	if want := "{normalize succeeded} {big_only succeeded} {note skipped} {receipt skipped}"; strings.Join(got, " ") != want {
		t.Errorf("steps = %s, want %s", got, want)
	}
}

func TestWorkflowUpdateMakesANewVersionAndRunsPinIt(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	wf := s.createWorkflow(acme.Key, orderWorkflow)
	ctx, api := context.Background(), s.client(acme.Key)
	w, err := api.GetWorkflow(ctx, wf)
	if err != nil || w.Version != 1 || w.Definition.Name != "order-received" || len(w.Definition.Steps) != 4 {
		t.Fatalf("GetWorkflow = %+v, %v; want version 1 with its definition", w, err)
	}
	w, err = api.UpdateWorkflow(ctx, wf, aias.YAML([]byte(strings.Replace(orderWorkflow, "* 2", "* 3", 1))))
	if err != nil || w.Version != 2 {
		t.Errorf("UpdateWorkflow = version %d, %v; want 2", w.Version, err)
	}
	url := s.createEndpoint(acme.Key, wf)
	_, runID := s.post(url, `{"order":{"id":"x","total":50}}`)
	if v := s.waitRun(acme.Key, runID, "succeeded"); v.WorkflowVersion != 2 {
		t.Errorf("run pinned version %d, want 2", v.WorkflowVersion)
	}
	versions, err := api.ListWorkflowVersions(ctx, wf)
	if err != nil || len(versions) != 2 || versions[0].Version != 2 || versions[1].Version != 1 {
		t.Errorf("ListWorkflowVersions = %+v, %v; want 2 then 1", versions, err)
	}
}

// counter is a local HTTP target that counts calls per path and answers
// with the statuses queued for that path (then 200).
type counter struct {
	mu      sync.Mutex
	calls   map[string]int
	scripts map[string][]int
	keys    map[string]int // Idempotency-Key header values seen
	srv     *httptest.Server
}

func newCounter(t *testing.T, scripts map[string][]int) *counter {
	c := &counter{calls: map[string]int{}, scripts: scripts, keys: map[string]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.calls[r.URL.Path]++
		c.keys[r.Header.Get("Idempotency-Key")]++
		status := 200
		if q := c.scripts[r.URL.Path]; len(q) > 0 {
			status, c.scripts[r.URL.Path] = q[0], q[1:]
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"status":%d}`, status)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *counter) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[path]
}

func httpWorkflow(base string, maxAttempts int) string {
	return fmt.Sprintf(`
name: calls
max_attempts: %d
steps:
  - name: side_effect
    type: http
    with: { method: POST, url: "%[2]s/side-effect", body: "trigger.body" }
  - name: flaky
    type: http
    with: { method: POST, url: "%[2]s/flaky", body: "steps.side_effect.output.body" }
  - name: after
    type: http
    with: { method: POST, url: "%[2]s/after" }
`, maxAttempts, base)
}

func TestRetryResumesAfterTheLastSucceededStep(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	target := newCounter(t, map[string][]int{"/flaky": {503, 503}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, httpWorkflow(target.srv.URL, 5)))

	_, runID := s.post(url, `{"n":1}`)
	r := s.waitRun(acme.Key, runID, "succeeded", "failed", "dead")
	if r.Status != "succeeded" || r.Attempt != 3 {
		t.Fatalf("run = %s on attempt %d (error %v), want succeeded on attempt 3", r.Status, r.Attempt, r.Error)
	}
	for path, want := range map[string]int{"/side-effect": 1, "/flaky": 3, "/after": 1} {
		if got := target.count(path); got != want {
			t.Errorf("calls to %s = %d, want %d", path, got, want)
		}
	}
	steps, err := s.client(acme.Key).ListRunSteps(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range steps {
		got = append(got, fmt.Sprintf("{%s %d %s}", st.Name, st.Attempt, st.Status))
	}
	if got := strings.Join(got, " "); got != "{side_effect 1 succeeded} {flaky 3 succeeded} {after 3 succeeded}" {
		t.Errorf("steps = %s, want side_effect done on attempt 1 and the rest on 3", got)
	}
	target.mu.Lock()
	defer target.mu.Unlock()
	if n := target.keys[runID+":flaky"]; n != 3 {
		t.Errorf("Idempotency-Key %s:flaky seen %d times, want 3 (same key on every retry)", runID, n)
	}
}

func TestExhaustedRunIsDeadAndArchivedInTheQueue(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	target := newCounter(t, map[string][]int{"/flaky": {500, 500, 500, 500}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, httpWorkflow(target.srv.URL, 2)))

	_, runID := s.post(url, `{}`)
	r := s.waitRun(acme.Key, runID, "dead", "failed", "succeeded")
	if r.Status != "dead" || r.Attempt != 2 || r.Error == nil || !strings.Contains(*r.Error, "flaky") {
		t.Fatalf("run = %s attempt %d error %v, want dead after 2 attempts naming step flaky", r.Status, r.Attempt, r.Error)
	}
	if got := target.count("/flaky"); got != 2 {
		t.Errorf("calls to /flaky = %d, want 2", got)
	}
	if got := target.count("/after"); got != 0 {
		t.Errorf("calls to /after = %d, want 0", got)
	}
	opt, err := asynq.ParseRedisURI(s.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	// The run is marked dead before the handler returns; asynq archives after.
	var info *asynq.TaskInfo
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if info, err = insp.GetTaskInfo("default", runID); err == nil && info.State == asynq.TaskStateArchived {
			break
		}
	}
	if err != nil {
		t.Fatalf("task %s in asynq: %v", runID, err)
	}
	if info.State != asynq.TaskStateArchived || info.LastErr == "" {
		t.Errorf("task state = %v (last error %q), want archived with an error", info.State, info.LastErr)
	}
	dead, err := s.client(acme.Key).ListRunsPage(context.Background(), aias.RunFilter{Status: aias.RunDead})
	if err != nil || len(dead.Data) != 1 || dead.Data[0].ID != runID {
		t.Errorf("ListRuns(dead) = %+v, %v; want just %s", dead.Data, err, runID)
	}
}

func TestPermanentErrorFailsTheRunWithoutRetry(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	target := newCounter(t, map[string][]int{"/flaky": {404}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, httpWorkflow(target.srv.URL, 5)))
	_, runID := s.post(url, `{}`)
	r := s.waitRun(acme.Key, runID, "failed", "dead", "succeeded")
	if r.Status != "failed" || r.Attempt != 1 || r.Error == nil {
		t.Fatalf("run = %s attempt %d error %v, want failed on attempt 1 with an error", r.Status, r.Attempt, r.Error)
	}
	if got := target.count("/flaky"); got != 1 {
		t.Errorf("calls to /flaky = %d, want 1", got)
	}
}

func TestSameDeliveryPostedConcurrentlyMakesOneRun(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, orderWorkflow))
	const n = 20
	var (
		wg       sync.WaitGroup
		accepted atomic.Int32
		dups     atomic.Int32
		ids      sync.Map
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, id := s.post(url, `{"order":{"id":"A","total":99}}`, "Idempotency-Key", "delivery-1")
			switch status {
			case 202:
				accepted.Add(1)
			case 200:
				dups.Add(1)
			default:
				t.Errorf("status = %d, want 202 or 200", status)
			}
			ids.Store(id, true)
		}()
	}
	wg.Wait()
	if accepted.Load() != 1 || dups.Load() != n-1 {
		t.Errorf("accepted %d, duplicates %d; want 1 and %d", accepted.Load(), dups.Load(), n-1)
	}
	distinct := 0
	ids.Range(func(any, any) bool { distinct++; return true })
	if distinct != 1 {
		t.Errorf("distinct run ids = %d, want 1", distinct)
	}
	runs, err := s.client(acme.Key).ListRunsPage(context.Background(), aias.RunFilter{})
	if err != nil || len(runs.Data) != 1 {
		t.Errorf("runs stored = %d (%v), want 1", len(runs.Data), err)
	}
	// webhook-id (Standard Webhooks) is a delivery id too.
	st1, id1 := s.post(url, `{}`, "webhook-id", "msg_1")
	st2, id2 := s.post(url, `{}`, "webhook-id", "msg_1")
	if st1 != 202 || st2 != 200 || id1 != id2 {
		t.Errorf("webhook-id repeat = %d %s then %d %s, want 202 then 200 with the same run", st1, id1, st2, id2)
	}
}

func TestListsPageWithACursor(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	acme := s.signup("acme")
	for i := range 3 {
		s.createWorkflow(acme.Key, strings.Replace(orderWorkflow, "order-received", fmt.Sprint("wf-", i), 1))
	}
	ctx, api := context.Background(), s.client(acme.Key)
	first, err := api.ListWorkflowsPage(ctx, aias.ListOptions{Limit: 2})
	if err != nil || len(first.Data) != 2 || first.NextCursor == "" {
		t.Fatalf("first page = %+v, %v; want 2 workflows and a cursor", first, err)
	}
	second, err := api.ListWorkflowsPage(ctx, aias.ListOptions{Limit: 2, Cursor: first.NextCursor})
	if err != nil || len(second.Data) != 1 || second.NextCursor != "" || second.Data[0].Name != "wf-0" {
		t.Errorf("second page = %+v, %v; want the oldest workflow and no cursor", second, err)
	}
	var names []string
	for w, err := range api.ListWorkflows(ctx, aias.ListOptions{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, w.Name)
	}
	if strings.Join(names, ",") != "wf-2,wf-1,wf-0" {
		t.Errorf("ListWorkflows over pages of 2 = %v, want wf-2, wf-1, wf-0", names)
	}
}
