package step

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestRetryAfterIsReadFromSecondsOrADateAndCapped(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	retryable := errors.New("http 503 from x")
	cases := []struct {
		name, header string
		err          error
		want         time.Duration
		ok           bool
	}{
		{"seconds", "7", retryable, 7 * time.Second, true},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), retryable, 90 * time.Second, true},
		{"capped", "86400", retryable, MaxRetryAfter, true},
		{"a date in the past is now", now.Add(-time.Minute).Format(http.TimeFormat), retryable, 0, true},
		{"garbage is ignored", "soon", retryable, 0, false},
		{"absent", "", retryable, 0, false},
		{"permanent errors keep no wait", "5", Permanent(retryable), 0, false},
	}
	for _, c := range cases {
		got, ok := RetryAfterOf(withRetryAfter(c.err, c.header, now))
		if got != c.want || ok != c.ok {
			t.Errorf("%s: RetryAfterOf(withRetryAfter(%q)) = %v, %v; want %v, %v", c.name, c.header, got, ok, c.want, c.ok)
		}
	}
}
