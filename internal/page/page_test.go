package page_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/page"
)

func sampleCursor() page.Cursor {
	return page.Cursor{
		CreatedAt: time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC),
		ID:        uuid.MustParse("0195a3c2-7f1e-7c3a-9b2d-4e5f6a7b8c9d"),
	}
}

// fieldPaths returns the paths of the field errors err carries.
func fieldPaths(err error) []string {
	e, ok := errs.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Path)
	}
	return out
}

func TestParseAppliesLimitBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit     int
		wantLimit int
		wantPaths []string // nil means no error
	}{
		{0, page.DefaultLimit, nil},
		{1, 1, nil},
		{50, 50, nil},
		{page.MaxLimit, page.MaxLimit, nil},
		{page.MaxLimit + 1, page.MaxLimit + 1, []string{"limit"}},
		{-1, -1, []string{"limit"}},
	}
	for _, tt := range tests {
		r, err := page.Parse(tt.limit, "")
		if r.Limit != tt.wantLimit {
			t.Errorf("Parse(%d, \"\").Limit = %d, want %d", tt.limit, r.Limit, tt.wantLimit)
		}
		if r.After != nil {
			t.Errorf("Parse(%d, \"\").After = %+v, want nil", tt.limit, r.After)
		}
		if tt.wantPaths == nil {
			if err != nil {
				t.Errorf("Parse(%d, \"\") error = %v, want nil", tt.limit, err)
			}
			continue
		}
		if got := errs.KindOf(err); got != errs.Invalid {
			t.Errorf("Parse(%d, \"\") error kind = %v, want %v (error %v)", tt.limit, got, errs.Invalid, err)
		}
		if diff := cmp.Diff(tt.wantPaths, fieldPaths(err)); diff != "" {
			t.Errorf("Parse(%d, \"\") field paths mismatch (-want +got):\n%s", tt.limit, diff)
		}
	}
}

func TestParseRejectsGarbageCursor(t *testing.T) {
	t.Parallel()
	valid := sampleCursor().Encode()
	tests := []struct {
		name, cursor string
	}{
		{"not base64", "!!!not-a-cursor!!!"},
		{"base64 of non-JSON", base64.RawURLEncoding.EncodeToString([]byte("hello"))},
		{"JSON without id", base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2025-01-01T00:00:00Z"}`))},
		{"nil id", base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2025-01-01T00:00:00Z","i":"00000000-0000-0000-0000-000000000000"}`))},
		{"bad time", base64.RawURLEncoding.EncodeToString([]byte(`{"t":"yesterday","i":"0195a3c2-7f1e-7c3a-9b2d-4e5f6a7b8c9d"}`))},
		{"std base64 padding", base64.URLEncoding.EncodeToString([]byte(`{"t":"2025-01-01T00:00:00Z","i":"0195a3c2-7f1e-7c3a-9b2d-4e5f6a7b8c9d"}`))},
		{"truncated", valid[:len(valid)-3]},
		{"too long", strings.Repeat("A", 201)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := page.Parse(10, tt.cursor)
			if err == nil {
				t.Fatalf("Parse(10, %q) error = nil, want a validation error", tt.cursor)
			}
			if got := errs.KindOf(err); got != errs.Invalid {
				t.Errorf("Parse(10, %q) error kind = %v, want %v", tt.cursor, got, errs.Invalid)
			}
			if diff := cmp.Diff([]string{"cursor"}, fieldPaths(err)); diff != "" {
				t.Errorf("Parse(10, %q) field paths mismatch (-want +got):\n%s", tt.cursor, diff)
			}
			if r.After != nil {
				t.Errorf("Parse(10, %q).After = %+v, want nil", tt.cursor, r.After)
			}
		})
	}
}

func TestParseReportsLimitAndCursorTogether(t *testing.T) {
	t.Parallel()
	_, err := page.Parse(-5, "garbage!")
	if diff := cmp.Diff([]string{"limit", "cursor"}, fieldPaths(err)); diff != "" {
		t.Errorf("Parse(-5, %q) field paths mismatch (-want +got):\n%s", "garbage!", diff)
	}
}

func TestParseAcceptsIssuedCursor(t *testing.T) {
	t.Parallel()
	c := sampleCursor()
	r, err := page.Parse(0, c.Encode())
	if err != nil {
		t.Fatalf("Parse(0, %q) error = %v, want nil", c.Encode(), err)
	}
	if r.After == nil {
		t.Fatalf("Parse(0, %q).After = nil, want %+v", c.Encode(), c)
	}
	if diff := cmp.Diff(c, *r.After); diff != "" {
		t.Errorf("Parse(0, %q).After mismatch (-want +got):\n%s", c.Encode(), diff)
	}
}

func TestCursorRoundTrips(t *testing.T) {
	t.Parallel()
	tests := []page.Cursor{
		sampleCursor(),
		{CreatedAt: time.Date(2024, 2, 29, 23, 59, 59, 0, time.FixedZone("", 5*3600+1800)), ID: uuid.New()},
		{CreatedAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), ID: uuid.New()},
	}
	for _, c := range tests {
		s := c.Encode()
		if strings.ContainsAny(s, "+/=") {
			t.Errorf("Cursor(%+v).Encode() = %q, want URL-safe unpadded base64", c, s)
		}
		got, err := page.Decode(s)
		if err != nil {
			t.Errorf("Decode(%q) error = %v, want nil", s, err)
			continue
		}
		if !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
			t.Errorf("Decode(%q) = %+v, want %+v", s, *got, c)
		}
	}
}

func TestNextOnlyWhenAnotherPageMayExist(t *testing.T) {
	t.Parallel()
	last := sampleCursor()
	tests := []struct {
		fetched, limit int
		want           string
	}{
		{0, 10, ""},
		{9, 10, ""},
		{10, 10, ""},
		{11, 10, last.Encode()},
	}
	for _, tt := range tests {
		if got := page.Next(tt.fetched, tt.limit, last); got != tt.want {
			t.Errorf("Next(%d, %d, %+v) = %q, want %q", tt.fetched, tt.limit, last, got, tt.want)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(sampleCursor().Encode())
	f.Add("")
	f.Add("e30")    // {}
	f.Add("bnVsbA") // null
	f.Add("!!")     // not base64
	f.Add(strings.Repeat("A", 201))
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"t":"0000-01-01T00:00:00+01:00","i":"0195a3c2-7f1e-7c3a-9b2d-4e5f6a7b8c9d"}`)))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := page.Decode(s)
		if err != nil {
			if c != nil {
				t.Errorf("Decode(%q) = %+v, %v; want a nil cursor with the error", s, c, err)
			}
			return
		}
		if c == nil || c.ID == uuid.Nil {
			t.Fatalf("Decode(%q) = %+v, nil; want a cursor with a non-nil id", s, c)
		}
		// Whatever the server accepts it must be able to issue again.
		again, err := page.Decode(c.Encode())
		if err != nil {
			t.Fatalf("Decode(Decode(%q).Encode() = %q) error = %v, want nil", s, c.Encode(), err)
		}
		if !again.CreatedAt.Equal(c.CreatedAt) || again.ID != c.ID {
			t.Errorf("Decode(%q) re-encoded = %+v, want %+v", s, *again, *c)
		}
	})
}

func TestCutKeepsThePageAndPointsPastItsLastRow(t *testing.T) {
	t.Parallel()
	key := func(i int) page.Cursor { return page.Cursor{ID: uuid.UUID{byte(i)}} }
	r := page.Request{Limit: 2}
	rows, next := page.Cut([]int{1, 2, 3}, r, key)
	if len(rows) != 2 || next == "" {
		t.Fatalf("Cut(3 rows, limit 2) = %v, %q; want 2 rows and a cursor", rows, next)
	}
	if c, err := page.Decode(next); err != nil || c.ID != key(2).ID {
		t.Errorf("next cursor = %+v, %v; want the second row's key", c, err)
	}
	if rows, next := page.Cut([]int{1, 2}, r, key); len(rows) != 2 || next != "" {
		t.Errorf("Cut(2 rows, limit 2) = %v, %q; want both rows and no cursor", rows, next)
	}
	if set, _, _ := r.Args(); set {
		t.Error("Args without a cursor reports one")
	}
}
