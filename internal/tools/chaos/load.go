package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load is a sender: it posts signed deliveries to one endpoint, retries a
// delivery that got no answer (or a 503) with the same delivery id, and
// remembers every run a 2xx acknowledged.
type Load struct {
	ep     Endpoint
	prefix string
	seq    atomic.Int64
	wg     sync.WaitGroup
	sem    chan struct{}
	http   *http.Client

	mu         sync.Mutex
	accepted   map[string]string // delivery id → run id of its first 2xx
	conflicts  int               // a 2xx naming another run for a delivery id already acknowledged
	statuses   map[int]int
	bad        []string      // 5xx other than 503, 503 without Retry-After
	max503     time.Duration // slowest 503 answer
	unanswered int           // attempts that got no answer (retried)
	gaveUp     int           // deliveries never answered before the deadline
	answers    []answer      // every answered attempt, for latency percentiles
}

// answer is one answered attempt: when it was answered and how long it took.
type answer struct {
	at     time.Time
	took   time.Duration
	status int
}

func newLoad(ep Endpoint, prefix string) *Load {
	return &Load{ep: ep, prefix: prefix, sem: make(chan struct{}, 256),
		http:     &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		accepted: map[string]string{}, statuses: map[int]int{}}
}

// Steady posts rate deliveries per second until ctx is done.
func (l *Load) Steady(ctx context.Context, rate int) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			l.Go(fmt.Sprintf("%s-%d", l.prefix, l.seq.Add(1)))
		}
	}
}

// Go posts one delivery in the background (bounded concurrency).
func (l *Load) Go(id string) {
	l.wg.Add(1)
	l.sem <- struct{}{}
	go func() {
		defer l.wg.Done()
		defer func() { <-l.sem }()
		l.Post(id)
	}()
}

// Wait waits for every delivery in flight to be answered (or given up).
func (l *Load) Wait() { l.wg.Wait() }

// Post delivers one id until it gets an answer other than 503 or a lost
// connection, for at most two minutes.
func (l *Load) Post(id string) {
	body, _ := json.Marshal(map[string]any{"delivery": id, "at": time.Now().UnixNano()})
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		status, runID, retryAfter, took, err := l.once(id, body)
		if err != nil {
			l.mu.Lock()
			l.unanswered++
			l.mu.Unlock()
			time.Sleep(200 * time.Millisecond)
			continue
		}
		l.note(id, status, runID, retryAfter, took)
		if status != http.StatusServiceUnavailable {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	l.mu.Lock()
	l.gaveUp++
	l.mu.Unlock()
}

func (l *Load) once(id string, body []byte) (status int, runID, retryAfter string, took time.Duration, err error) {
	h, err := l.ep.sign(id, body)
	if err != nil {
		return 0, "", "", 0, err
	}
	req, err := http.NewRequest(http.MethodPost, l.ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", "", 0, err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	res, err := l.http.Do(req)
	if err != nil {
		return 0, "", "", 0, err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", "", 0, err
	}
	var out struct {
		RunID string `json:"run_id"`
	}
	if res.StatusCode < 300 {
		_ = json.Unmarshal(b, &out)
	}
	return res.StatusCode, out.RunID, res.Header.Get("Retry-After"), time.Since(t0), nil
}

func (l *Load) note(id string, status int, runID, retryAfter string, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[status]++
	l.answers = append(l.answers, answer{at: time.Now(), took: took, status: status})
	switch {
	case status < 300:
		if first, ok := l.accepted[id]; ok && first != runID {
			l.conflicts++
		} else if !ok {
			l.accepted[id] = runID
		}
	case status == http.StatusServiceUnavailable:
		l.max503 = max(l.max503, took)
		if retryAfter == "" {
			l.bad = append(l.bad, fmt.Sprintf("%s: 503 without Retry-After", id))
		}
	case status >= 500:
		l.bad = append(l.bad, fmt.Sprintf("%s: %d", id, status))
	default:
		l.bad = append(l.bad, fmt.Sprintf("%s: unexpected %d", id, status))
	}
}

// Latency is the p99 and the slowest time to an answer of the attempts
// answered between from and to, with their number.
func (l *Load) Latency(from, to time.Time) (p99, slowest time.Duration, n int) {
	l.mu.Lock()
	var ts []time.Duration
	for _, a := range l.answers {
		if !a.at.Before(from) && !a.at.After(to) {
			ts = append(ts, a.took)
		}
	}
	l.mu.Unlock()
	if len(ts) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ts)
	return ts[(len(ts)*99)/100], ts[len(ts)-1], len(ts)
}

// Status counts the answers of one status so far.
func (l *Load) Status(code int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statuses[code]
}

// Accepted returns the run ids of every acknowledged delivery.
func (l *Load) Accepted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.accepted))
	for _, id := range l.accepted {
		out = append(out, id)
	}
	return out
}

// Count is the number of deliveries acknowledged so far.
func (l *Load) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}

// problems lists what the sender saw that the design does not prescribe.
func (l *Load) problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.bad...)
	if len(out) > 5 {
		out = append(out[:5], fmt.Sprintf("… %d more", len(l.bad)-5))
	}
	if l.conflicts > 0 {
		out = append(out, fmt.Sprintf("%d acknowledgements named a different run for the same delivery id", l.conflicts))
	}
	if l.gaveUp > 0 {
		out = append(out, fmt.Sprintf("%d deliveries never answered within 2 minutes", l.gaveUp))
	}
	return out
}
