package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"aias/internal/signature"
)

// sender makes freshly signed deliveries, each with a unique delivery id.
type sender struct {
	url    string
	key    signature.Secret
	prefix string
	pad    string
	seq    atomic.Int64
}

func newSender(url, secret, prefix string, padBytes int) (*sender, error) {
	key, err := signature.KeyBytes(signature.StandardWebhooks, secret)
	if err != nil {
		return nil, err
	}
	return &sender{url: url, key: key, prefix: prefix, pad: strings.Repeat("x", padBytes)}, nil
}

var swh = signature.Settings{Scheme: signature.StandardWebhooks}

// next is one delivery: its id, body and headers.
func (s *sender) next() (string, []byte, http.Header, error) {
	id := fmt.Sprintf("%s-%d", s.prefix, s.seq.Add(1))
	body := fmt.Appendf(nil, `{"id":%q,"total":120,"pad":%q}`, id, s.pad)
	h, err := signature.Sign(swh, s.key, id, time.Now(), body)
	if err != nil {
		return "", nil, nil, err
	}
	h.Set("Content-Type", "application/json")
	return id, body, h, nil
}

// outcome is one answered (or unanswered) request.
type outcome struct {
	code    int
	latency time.Duration // from the scheduled send time
	sched   time.Time
	runID   string
}

// tally is what one block of load produced.
type tally struct {
	sent     int
	outcomes []outcome
	span     time.Duration
}

func (t tally) ledger(phase string) Ledger {
	l := Ledger{Phase: phase, Sent: t.sent}
	for _, o := range t.outcomes {
		switch {
		case o.code == http.StatusAccepted && o.runID != "":
			l.Accepted++
		case o.code == 0:
			l.Errors++
		default:
			l.Rejected++
		}
	}
	return l
}

func (t tally) accepted() (ids []string, lat []time.Duration) {
	for _, o := range t.outcomes {
		if o.code == http.StatusAccepted && o.runID != "" {
			ids = append(ids, o.runID)
			lat = append(lat, o.latency)
		}
	}
	return ids, lat
}

func runID(body []byte) string {
	var r struct {
		RunID string `json:"run_id"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	return r.RunID
}

// closedLoop keeps conns requests in flight for d: the most the server
// accepts per second when every answer immediately releases the next send.
func closedLoop(ctx context.Context, s *sender, conns int, d time.Duration) tally {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	var (
		mu  sync.Mutex
		all tally
		wg  sync.WaitGroup
	)
	began := time.Now()
	end := began.Add(d)
	for range conns {
		wg.Go(func() {
			var local []outcome
			sent := 0
			for time.Now().Before(end) && ctx.Err() == nil {
				sent++
				local = append(local, post(ctx, client, s))
			}
			mu.Lock()
			all.sent += sent
			all.outcomes = append(all.outcomes, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	all.span = time.Since(began)
	return all
}

func post(ctx context.Context, c *http.Client, s *sender) outcome {
	start := time.Now()
	o := outcome{sched: start}
	_, body, h, err := s.next()
	if err != nil {
		return o
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return o
	}
	req.Header = h
	res, err := c.Do(req)
	if err != nil {
		o.latency = time.Since(start)
		return o
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	_ = res.Body.Close()
	o.code, o.latency = res.StatusCode, time.Since(start)
	if o.code == http.StatusAccepted {
		o.runID = runID(b)
	}
	return o
}

// openLoop sends rate requests per second for d on vegeta's fixed schedule,
// whatever the server does. Latency counts from each request's scheduled
// time (began + seq/rate), so a stalled server is charged for the requests
// it made wait (no coordinated omission).
func openLoop(s *sender, rate int, d time.Duration) tally {
	var sent atomic.Int64
	targeter := func(t *vegeta.Target) error {
		_, body, h, err := s.next()
		if err != nil {
			return err
		}
		sent.Add(1)
		t.Method, t.URL, t.Body, t.Header = http.MethodPost, s.url, body, h
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.Workers(32), vegeta.MaxWorkers(4096), vegeta.KeepAlive(true),
		vegeta.Timeout(15*time.Second), vegeta.Connections(4096), vegeta.MaxBody(4096))
	interval := time.Second / time.Duration(rate)
	var results []*vegeta.Result
	for r := range atk.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, "bench") {
		results = append(results, r)
	}
	return fromResults(results, interval, int(sent.Load()))
}

// fromResults turns vegeta's results into outcomes timed from the schedule.
func fromResults(results []*vegeta.Result, interval time.Duration, sent int) tally {
	t := tally{sent: sent}
	if len(results) == 0 {
		return t
	}
	// The attack began no later than any result's time minus its offset.
	began := results[0].Timestamp.Add(-time.Duration(results[0].Seq) * interval)
	for _, r := range results {
		if b := r.Timestamp.Add(-time.Duration(r.Seq) * interval); b.Before(began) {
			began = b
		}
	}
	var last time.Time
	for _, r := range results {
		sched := began.Add(time.Duration(r.Seq) * interval)
		o := outcome{code: int(r.Code), sched: sched, latency: r.End().Sub(sched)}
		if r.Error != "" && r.Code == 0 {
			o.code = 0
		}
		if o.code == http.StatusAccepted {
			o.runID = runID(r.Body)
		}
		if r.End().After(last) {
			last = r.End()
		}
		t.outcomes = append(t.outcomes, o)
	}
	t.span = last.Sub(began)
	return t
}
