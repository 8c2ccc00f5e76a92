package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"aias/pkg/aias"
)

// listen is `aias listen --forward URL [--endpoint ID]`: each delivery to
// an endpoint (every endpoint without --endpoint), as AIAS records it, is
// shown and sent on to a local server, whose answer is shown too. It polls
// the endpoint's runs: a delivery shows within one interval of its run
// being committed (docs/cli.md).
func (e env) listen(ctx context.Context, args []string) error {
	f := e.flags("listen")
	forward := f.String("forward", "", "the local URL each delivery is sent to, e.g. http://localhost:3000/hook")
	endpoint := f.String("endpoint", "", "only deliveries to this endpoint (id; default: every endpoint)")
	interval := f.Duration("interval", time.Second, "how often to poll AIAS")
	secret := f.String("sign", "", "sign forwarded requests as AIAS signs callbacks, with this whsec_ secret (see aias.VerifyCallback)")
	if _, err := f.parse(args, 0, "listen --forward URL [--endpoint ID]"); err != nil {
		return err
	}
	target, err := url.Parse(*forward)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return usageErr("usage: aias listen --forward http://localhost:3000/hook [--endpoint ID]")
	}
	if *interval < 100*time.Millisecond {
		return usageErr("--interval must be at least 100ms")
	}
	if *secret != "" {
		if _, err := aias.SignCallback(*secret, "x", time.Now(), nil); err != nil {
			return usageErr("--sign: %v", err)
		}
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	if *endpoint != "" {
		if _, err := c.GetEndpoint(ctx, *endpoint); err != nil {
			return err
		}
	}
	w, err := newRunWatch(ctx, c, aias.RunFilter{EndpointID: *endpoint})
	if err != nil {
		return err
	}
	fw := forwarder{target: target, secret: *secret, http: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	which := "every endpoint"
	if *endpoint != "" {
		which = "endpoint " + *endpoint
	}
	fmt.Fprintf(e.errw, "Forwarding deliveries to %s → %s (polling every %s). Ctrl-C stops.\n", which, target, *interval)
	var pending []string // new deliveries not forwarded yet, oldest first
	return every(ctx, *interval, e.transient, func() error {
		events, err := w.poll(ctx)
		for _, ev := range events {
			if ev.new && ev.run.Trigger.Kind == aias.TriggerWebhook {
				pending = append(pending, ev.run.ID)
			}
		}
		pending = e.forwardPending(ctx, c, fw, pending, *f.json)
		return err
	})
}

// forwardPending reads each pending delivery's run whole (the list leaves
// out the trigger's headers and body) and forwards it, and returns those
// to try again at the next poll: a run AIAS could not answer for is kept,
// not dropped, so a passing failure loses no delivery.
func (e env) forwardPending(ctx context.Context, c *aias.Client, fw forwarder, pending []string, asJSON bool) []string {
	var left []string
	for _, id := range pending {
		r, err := c.GetRun(ctx, id)
		switch {
		case err == nil:
			e.printForward(r, fw.send(ctx, r), asJSON)
		case ctx.Err() != nil || exitCode(err) == exitUnavailable || aias.StatusOf(err) >= http.StatusInternalServerError:
			fmt.Fprintf(e.errw, "run %s: %v (will try again)\n", id, err)
			left = append(left, id)
		default:
			fmt.Fprintf(e.errw, "run %s: %v\n", id, err)
		}
	}
	return left
}

// forwarder sends a recorded delivery on to the local server.
type forwarder struct {
	target *url.URL
	secret string
	http   *http.Client
}

// forwarded is what the local server made of a delivery.
type forwarded struct {
	Status   int
	Body     string
	Duration time.Duration
	Err      error
}

// hopHeaders are not the sender's to pass on: the connection's own, and
// the ones forwarding sets itself.
var hopHeaders = map[string]bool{"Host": true, "Content-Length": true, "Connection": true, "Transfer-Encoding": true,
	"Accept-Encoding": true, "Keep-Alive": true, "Upgrade": true, "Te": true, "Trailer": true}

func (f forwarder) send(ctx context.Context, r aias.Run) forwarded {
	body := deliveryBody(r.Trigger)
	u := *f.target
	if len(r.Trigger.Query) > 0 {
		q := u.Query()
		for k, v := range r.Trigger.Query {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return forwarded{Err: err}
	}
	for k, v := range r.Trigger.Headers {
		if !hopHeaders[http.CanonicalHeaderKey(k)] {
			req.Header.Set(k, v)
		}
	}
	if r.Trigger.ContentType != "" {
		req.Header.Set("Content-Type", r.Trigger.ContentType)
	}
	req.Header.Set("X-AIAS-Run-ID", r.ID)
	req.Header.Set("X-AIAS-Endpoint-ID", r.Trigger.EndpointID)
	if r.Trigger.DeliveryID != "" {
		req.Header.Set("X-AIAS-Delivery-ID", r.Trigger.DeliveryID)
	}
	if f.secret != "" {
		now := time.Now()
		sig, _ := aias.SignCallback(f.secret, r.ID, now, body)
		req.Header.Set("webhook-id", r.ID)
		req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
		req.Header.Set("webhook-signature", sig)
	}
	start := time.Now()
	res, err := f.http.Do(req) //nolint:gosec // G704: the developer names the local URL
	if err != nil {
		return forwarded{Err: err, Duration: time.Since(start)}
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	return forwarded{Status: res.StatusCode, Body: string(b), Duration: time.Since(start)}
}

// deliveryBody is the delivery's body as recorded: JSON bodies come back
// as JSON (compacted), others as the JSON string of their text.
func deliveryBody(t aias.Trigger) []byte {
	if len(t.Body) == 0 {
		return nil
	}
	if t.Body[0] == '"' && !strings.Contains(strings.ToLower(t.ContentType), "json") {
		var s string
		if json.Unmarshal(t.Body, &s) == nil {
			return []byte(s)
		}
	}
	return t.Body
}

// listenLine is one forwarded delivery, for --json.
type listenLine struct {
	Time       time.Time `json:"time"`
	RunID      string    `json:"run_id"`
	EndpointID string    `json:"endpoint_id"`
	DeliveryID string    `json:"delivery_id,omitempty"`
	Bytes      int       `json:"bytes"`
	Status     int       `json:"status,omitempty"`
	Answer     string    `json:"answer,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

func (e env) printForward(r aias.Run, fw forwarded, asJSON bool) {
	n := len(deliveryBody(r.Trigger))
	if asJSON {
		l := listenLine{Time: time.Now().UTC(), RunID: r.ID, EndpointID: r.Trigger.EndpointID, DeliveryID: r.Trigger.DeliveryID,
			Bytes: n, Status: fw.Status, Answer: fw.Body, DurationMS: fw.Duration.Milliseconds()}
		if fw.Err != nil {
			l.Error = fw.Err.Error()
		}
		_ = e.printJSONLine(l)
		return
	}
	fmt.Fprintf(e.out, "%s  → POST %d bytes (%s) from endpoint %s, run %s\n", time.Now().Format("15:04:05"), n,
		orDash(&r.Trigger.ContentType), short(r.Trigger.EndpointID), r.ID)
	if fw.Err != nil {
		fmt.Fprintf(e.out, "          ← failed: %v\n", fw.Err)
		return
	}
	fmt.Fprintf(e.out, "          ← %d %s in %s %s\n", fw.Status, http.StatusText(fw.Status), fw.Duration.Round(time.Millisecond), clip(fw.Body, 200))
}
