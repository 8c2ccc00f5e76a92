package queue_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"aias/internal/logging"
	"aias/internal/queue"
	"aias/internal/testutil/redistest"
)

func TestNewRunExecuteRoundTrips(t *testing.T) {
	t.Parallel()
	p := queue.RunExecute{TenantID: uuid.New(), RunID: uuid.New()}
	task, err := queue.NewRunExecute(context.Background(), p, 3)
	if err != nil {
		t.Fatalf("NewRunExecute(%+v) error = %v, want nil", p, err)
	}
	if got := task.Type(); got != "run:execute" {
		t.Errorf("NewRunExecute(%+v).Type() = %q, want %q", p, got, "run:execute")
	}
	got, err := queue.ParseRunExecute(task)
	if err != nil {
		t.Fatalf("ParseRunExecute(NewRunExecute(%+v)) error = %v, want nil", p, err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("ParseRunExecute(NewRunExecute(...)) mismatch (-want +got):\n%s", diff)
	}
}

func TestNewRunExecuteCarriesTheRequestID(t *testing.T) {
	t.Parallel()
	p := queue.RunExecute{TenantID: uuid.New(), RunID: uuid.New()}
	tests := []struct {
		name string
		ctx  context.Context
		want map[string]string
	}{
		{"with id", logging.WithRequestID(context.Background(), "req-42"), map[string]string{"request_id": "req-42"}},
		{"without id", context.Background(), map[string]string{}},
	}
	for _, tt := range tests {
		task, err := queue.NewRunExecute(tt.ctx, p, 3)
		if err != nil {
			t.Fatalf("NewRunExecute(ctx %s) error = %v, want nil", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, task.Headers()); diff != "" {
			t.Errorf("NewRunExecute(ctx %s).Headers() mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestParseRunExecuteRejectsBadPayloads(t *testing.T) {
	t.Parallel()
	id := uuid.New().String()
	tests := []struct {
		name, payload, wantErr string
	}{
		{"empty", ``, "decode run:execute payload"},
		{"not JSON", `{"run_id":`, "decode run:execute payload"},
		{"wrong type", `[]`, "decode run:execute payload"},
		{"bad uuid", `{"tenant_id":"nope","run_id":"` + id + `"}`, "decode run:execute payload"},
		{"no ids", `{}`, "run_id and tenant_id are required"},
		{"no run id", `{"tenant_id":"` + id + `"}`, "run_id and tenant_id are required"},
		{"no tenant id", `{"run_id":"` + id + `"}`, "run_id and tenant_id are required"},
		{"nil run id", `{"tenant_id":"` + id + `","run_id":"00000000-0000-0000-0000-000000000000"}`, "run_id and tenant_id are required"},
	}
	for _, tt := range tests {
		task := asynq.NewTask(queue.TypeRunExecute, []byte(tt.payload))
		_, err := queue.ParseRunExecute(task)
		if err == nil {
			t.Errorf("ParseRunExecute(%q) [%s] error = nil, want an error containing %q", tt.payload, tt.name, tt.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseRunExecute(%q) [%s] error = %q, want it to contain %q", tt.payload, tt.name, err, tt.wantErr)
		}
	}
}

func TestRedisOptParsesSingleNodeURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url      string
		wantAddr string
		wantDB   int
		wantPass string
		wantTLS  bool
	}{
		{"redis://127.0.0.1:6379/3", "127.0.0.1:6379", 3, "", false},
		{"redis://:secret@cache.internal:6380/0", "cache.internal:6380", 0, "secret", false},
		{"rediss://cache.internal:6380/1", "cache.internal:6380", 1, "", true},
	}
	for _, tt := range tests {
		o, err := queue.RedisOpt(tt.url)
		opt, ok := o.(asynq.RedisClientOpt)
		if err != nil || !ok {
			t.Errorf("RedisOpt(%q) = %T, %v; want single-server options", tt.url, o, err)
			continue
		}
		if opt.Addr != tt.wantAddr || opt.DB != tt.wantDB || opt.Password != tt.wantPass || (opt.TLSConfig != nil) != tt.wantTLS {
			t.Errorf("RedisOpt(%q) = {Addr %q DB %d Password %q TLS %v}, want {Addr %q DB %d Password %q TLS %v}",
				tt.url, opt.Addr, opt.DB, opt.Password, opt.TLSConfig != nil, tt.wantAddr, tt.wantDB, tt.wantPass, tt.wantTLS)
		}
		// Short timeouts, so a Redis outage costs the intake milliseconds.
		for name, d := range map[string]time.Duration{"DialTimeout": opt.DialTimeout, "ReadTimeout": opt.ReadTimeout, "WriteTimeout": opt.WriteTimeout} {
			if d <= 0 || d > 2*time.Second {
				t.Errorf("RedisOpt(%q).%s = %v, want in (0, 2s]", tt.url, name, d)
			}
		}
	}
}

func TestRedisOptParsesSentinelURLs(t *testing.T) {
	t.Parallel()
	o, err := queue.RedisOpt("redis-sentinel://app:data-pw@10.0.0.1:26379,10.0.0.2:26380/4?master=aias&sentinel_password=s-pw")
	opt, ok := o.(asynq.RedisFailoverClientOpt)
	if err != nil || !ok {
		t.Fatalf("RedisOpt(sentinel URL) = %T, %v; want failover options", o, err)
	}
	if opt.MasterName != "aias" || strings.Join(opt.SentinelAddrs, ",") != "10.0.0.1:26379,10.0.0.2:26380" || opt.DB != 4 ||
		opt.Username != "app" || opt.Password != "data-pw" || opt.SentinelPassword != "s-pw" {
		t.Errorf("RedisOpt(sentinel URL) = %+v, want master aias, both sentinels, DB 4, the primary's user and password, the sentinels' password", opt)
	}
	for name, d := range map[string]time.Duration{"DialTimeout": opt.DialTimeout, "ReadTimeout": opt.ReadTimeout, "WriteTimeout": opt.WriteTimeout} {
		if d <= 0 || d > 2*time.Second {
			t.Errorf("sentinel %s = %v, want in (0, 2s]", name, d)
		}
	}
}

func TestRedisOptParsesClusterURLs(t *testing.T) {
	t.Parallel()
	o, err := queue.RedisOpt("redis-cluster://app:pw@10.0.0.1:7000,10.0.0.2:7001")
	opt, ok := o.(asynq.RedisClusterClientOpt)
	if err != nil || !ok {
		t.Fatalf("RedisOpt(cluster URL) = %T, %v; want cluster options", o, err)
	}
	if strings.Join(opt.Addrs, ",") != "10.0.0.1:7000,10.0.0.2:7001" || opt.Username != "app" || opt.Password != "pw" ||
		opt.DialTimeout <= 0 || opt.ReadTimeout > 2*time.Second {
		t.Errorf("RedisOpt(cluster URL) = %+v, want both nodes, the user and password, short timeouts", opt)
	}
}

func TestRedisOptRejectsOtherURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"http://127.0.0.1:6379/0",
		"127.0.0.1:6379",
		"",
		"redis://127.0.0.1:6379/notanumber",
		"redis-sentinel://127.0.0.1:26379", // no master name
		"redis-sentinel://127.0.0.1/0?master=mymaster", // no port
		"redis-sentinel://127.0.0.1:26379/x?master=mymaster",
		"redis-cluster://127.0.0.1:7000/1", // a cluster has database 0 only
		"redis-cluster://127.0.0.1:7000?readonly=true",
		"redis-cluster://127.0.0.1",
		"redis-sentinel://127.0.0.1:26379/0?master=aias&sentinel_pasword=typo",
	} {
		if opt, err := queue.RedisOpt(u); err == nil {
			t.Errorf("RedisOpt(%q) = %+v, nil; want an error", u, opt)
		}
	}
}

func TestWorkersServeTheQueueEveryTaskIsEnqueuedTo(t *testing.T) {
	t.Parallel()
	c, opt := newClient(t)
	ctx, tenant, runID := context.Background(), uuid.New(), uuid.New()
	if err := c.EnqueueRun(ctx, tenant, runID, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueNotify(ctx, tenant, runID); err != nil {
		t.Fatal(err)
	}
	in := asynq.NewInspector(opt)
	defer func() { _ = in.Close() }()
	queues, err := in.Queues()
	if err != nil {
		t.Fatal(err)
	}
	// Every queue a task went to is served, and nothing else is: a served
	// queue that never holds a task costs a Redis round trip per fetch.
	slices.Sort(queues)
	if diff := cmp.Diff(queues, slices.Sorted(maps.Keys(queue.Weights))); diff != "" {
		t.Errorf("queues tasks went to vs queues workers serve (-enqueued +served):\n%s", diff)
	}
}

// A notification whose task asynq archived (its last delivery could not
// record the outcome: Postgres was away) is enqueued again, not taken as
// queued; a live task is left as it is.
func TestEnsureNotifyReplacesAnArchivedTaskAndLeavesALiveOne(t *testing.T) {
	t.Parallel()
	c, opt := newClient(t)
	in := asynq.NewInspector(opt)
	defer func() { _ = in.Close() }()
	ctx, tenant, runID := context.Background(), uuid.New(), uuid.New()
	if p, err := c.EnsureNotify(ctx, tenant, runID); err != nil || p != queue.Enqueued {
		t.Fatalf("first EnsureNotify = %v, %v; want Enqueued", p, err)
	}
	if p, err := c.EnsureNotify(ctx, tenant, runID); err != nil || p != queue.Present {
		t.Fatalf("EnsureNotify with the task pending = %v, %v; want Present", p, err)
	}
	id := queue.NotifyTaskID(runID)
	if err := in.ArchiveTask(queue.QueueDefault, id); err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueNotify(ctx, tenant, runID); err != nil {
		t.Fatalf("EnqueueNotify with the task archived: %v", err)
	}
	if got := taskState(in, id); got != "pending" {
		t.Fatalf("task after EnqueueNotify over an archived one = %s, want pending", got)
	}
	if err := in.ArchiveTask(queue.QueueDefault, id); err != nil {
		t.Fatal(err)
	}
	if p, err := c.EnsureNotify(ctx, tenant, runID); err != nil || p != queue.Archived {
		t.Errorf("EnsureNotify with the task archived = %v, %v; want Archived (replaced)", p, err)
	}
	if got := taskState(in, id); got != "pending" {
		t.Errorf("task after EnsureNotify over an archived one = %s, want pending", got)
	}
}

// taskState is the state of task id, or the error of looking it up.
func taskState(in *asynq.Inspector, id string) string {
	info, err := in.GetTaskInfo(queue.QueueDefault, id)
	if err != nil {
		return err.Error()
	}
	return info.State.String()
}

// newClient is a queue client on a Redis database of the test's own.
func newClient(t *testing.T) (*queue.Client, asynq.RedisConnOpt) {
	t.Helper()
	opt, err := queue.RedisOpt(redistest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	c := queue.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c, opt
}
