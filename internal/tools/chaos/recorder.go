package chaos

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder is the target of the workflows' http steps. It counts every call
// by its Idempotency-Key, so a side effect that happened twice is visible.
//
//	/ok/{ms}     answers 200 after ms milliseconds
//	/fail        answers 500 (a poison step)
//	/hang-once   the first call of a key never answers; later calls answer 200
//	/seq         per key: 500, then 429 with Retry-After: 7, then 200
//	/redir       a redirect to /redirected/ (which must never be called)
//	/big         a 10 MiB body
//	/drip        one byte per second
type Recorder struct {
	srv  *http.Server
	base string
	open atomic.Int64

	mu    sync.Mutex
	calls map[string][]time.Time     // path-kind + " " + key → call times
	held  map[string][]time.Duration // kind → how long each hanging call was held before the client gave up
}

// NewRecorder serves on a free loopback port.
func NewRecorder() (*Recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Recorder{base: "http://" + ln.Addr().String(), calls: map[string][]time.Time{}, held: map[string][]time.Duration{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Close stops the server.
func (r *Recorder) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	_ = r.srv.Close()
}

// Reset forgets every call (between scenarios).
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = map[string][]time.Time{}
	r.held = map[string][]time.Duration{}
}

func (r *Recorder) record(kind, key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := kind + " " + key
	r.calls[k] = append(r.calls[k], time.Now())
	return len(r.calls[k])
}

func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.open.Add(1)
	defer r.open.Add(-1)
	// read the body first: only then does net/http watch the connection and
	// cancel the request's context when the client goes away
	_, _ = io.Copy(io.Discard, req.Body)
	key := req.Header.Get("Idempotency-Key")
	kind, arg, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	n := r.record(kind, key)
	switch kind {
	case "ok":
		ms, _ := strconv.Atoi(arg)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-req.Context().Done():
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"ok":true}`))
	case "fail":
		http.Error(w, "poison", http.StatusInternalServerError)
	case "hang-once":
		if n == 1 {
			t0 := time.Now()
			<-req.Context().Done()
			r.hold(kind, time.Since(t0))
			return
		}
		w.WriteHeader(http.StatusOK)
	case "seq":
		r.sequence(w, n)
	case "redir":
		http.Redirect(w, req, r.base+"/redirected/", http.StatusFound)
	case "redirected":
		w.WriteHeader(http.StatusOK)
	case "big":
		w.Header().Set("Content-Type", "text/plain")
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 160 { // 10 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case "drip":
		r.drip(w, req)
	default:
		http.NotFound(w, req)
	}
}

func (r *Recorder) hold(kind string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held[kind] = append(r.held[kind], d)
}

// drip sends one byte per second until the client gives up.
func (r *Recorder) drip(w http.ResponseWriter, req *http.Request) {
	t0 := time.Now()
	defer func() { r.hold("drip", time.Since(t0)) }()
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	for range 600 {
		if _, err := w.Write([]byte("x")); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		select {
		case <-req.Context().Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// sequence answers a key's nth call of scenario 10: 500, then 429 with
// Retry-After: 7, then 200.
func (r *Recorder) sequence(w http.ResponseWriter, n int) {
	switch n {
	case 1:
		http.Error(w, "boom", http.StatusInternalServerError)
	case 2:
		w.Header().Set("Retry-After", "7")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// Stats is what the recorder saw of one kind of call.
type Stats struct {
	Keys       int // distinct Idempotency-Keys
	Calls      int
	Duplicates int // calls with a key already seen
}

// Stats counts the calls of one kind.
func (r *Recorder) Stats(kind string) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s Stats
	for k, times := range r.calls {
		if !strings.HasPrefix(k, kind+" ") {
			continue
		}
		s.Keys++
		s.Calls += len(times)
		s.Duplicates += len(times) - 1
	}
	return s
}

// Calls returns the call times of one key of one kind.
func (r *Recorder) Calls(kind, key string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.calls[kind+" "+key]...)
}

// Held returns how long each hanging call of a kind was held open.
func (r *Recorder) Held(kind string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.held[kind]...)
}

// Open is the number of calls being answered right now.
func (r *Recorder) Open() int64 { return r.open.Load() }
