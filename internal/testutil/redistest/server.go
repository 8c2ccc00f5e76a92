package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"aias/internal/tools/loopback"

	"github.com/redis/go-redis/v9"
)

// Server is a private redis-server process a test may kill and restart,
// to prove that losing Redis loses no accepted work.
type Server struct {
	tb    testing.TB
	extra []string // more redis-server arguments
	conf  string   // a sentinel's configuration file (StartSentinel)
	port  int
	cmd   *exec.Cmd
	dir   string
}

// StartServer runs a fresh, empty, non-persistent redis-server on a free
// port, with extra arguments for redis-server, if any.
func StartServer(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	port, err := loopback.FreePort()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	// Files a test makes Redis write (CONFIG SET appendonly yes) land in a
	// directory of the test's own, never in the package under test.
	s := &Server{tb: tb, port: port, dir: tb.TempDir(), extra: extra}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// Port is the server's port.
func (s *Server) Port() int { return s.port }

// StartReplica runs a fresh server replicating primary and waits until its
// link to the primary is up.
func StartReplica(tb testing.TB, primary *Server) *Server {
	tb.Helper()
	r := StartServer(tb, "--replicaof", "127.0.0.1", strconv.Itoa(primary.port))
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer func() { _ = c.Close() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, _ := c.Info(context.Background(), "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			return r
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redistest: replica on port %d did not reach its primary", r.port)
		}
	}
}

// Cluster is a private Redis Cluster of three primaries (no replicas).
type Cluster struct {
	URL   string // redis-cluster://, as REDIS_URL
	Nodes []*Server
	addrs []string
}

// Client connects to the cluster, closed at the test's end.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.addrs})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// StartCluster runs a Redis Cluster of three primaries, the hash slots
// split evenly, and returns once every node says the cluster is up.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	ctx := context.Background()
	const slots = 16384
	c := &Cluster{}
	for i := range 3 {
		n := StartServer(tb, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
		c.Nodes = append(c.Nodes, n)
		c.addrs = append(c.addrs, fmt.Sprintf("127.0.0.1:%d", n.port))
		node := redis.NewClient(&redis.Options{Addr: c.addrs[i]})
		err := node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", i*slots/3, (i+1)*slots/3-1).Err()
		if err == nil && i > 0 {
			err = node.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(c.Nodes[0].port)).Err()
		}
		_ = node.Close()
		if err != nil {
			tb.Fatalf("redistest: cluster node %d: %v", i, err)
		}
	}
	for _, addr := range c.addrs {
		node := redis.NewClient(&redis.Options{Addr: addr})
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			info, _ := node.ClusterInfo(ctx).Result()
			if strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			if time.Now().After(deadline) {
				_ = node.Close()
				tb.Fatalf("redistest: cluster node %s is not up: %s", addr, info)
			}
		}
		_ = node.Close()
	}
	c.URL = "redis-cluster://" + strings.Join(c.addrs, ",")
	return c
}

// StartSentinel runs a redis-sentinel watching primary under the name
// master, with a quorum of one: SENTINEL FAILOVER promotes a replica at
// once. Start the primary's replicas first: the sentinel learns of them
// from the primary when it starts.
func StartSentinel(tb testing.TB, master string, primary *Server) *Server {
	tb.Helper()
	port, err := loopback.FreePort()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	s := &Server{tb: tb, port: port, dir: tb.TempDir()}
	s.conf = filepath.Join(s.dir, "sentinel.conf") // a sentinel rewrites its file: one of its own
	conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\nsentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 10000\n",
		master, primary.port)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// Start launches the server (empty: nothing is persisted) and waits for PING.
func (s *Server) Start() {
	s.tb.Helper()
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", "--dir", s.dir}
	if s.conf != "" {
		args = append([]string{s.conf, "--sentinel"}, args...)
	}
	s.cmd = exec.Command("redis-server", append(args, s.extra...)...)
	// A group of its own, so Stop also kills the children Redis forks to
	// write snapshots and AOF rewrites (a test that turns persistence on).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("redistest: start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port)})
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.tb.Fatalf("redistest: redis-server on port %d did not answer", s.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server at once (SIGKILL): whatever it held is gone. Its
// forked children go with it, and Stop returns once none is left, so no
// process writes into the test's directory while it is removed.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
	}
	s.cmd = nil
}
