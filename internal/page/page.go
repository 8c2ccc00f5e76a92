// Package page implements the cursor pagination every list endpoint uses.
//
// A cursor is the opaque, URL-safe encoding of the sort key (created_at, id)
// of the last row a client saw; lists are ordered newest first and the next
// page continues strictly after the cursor, so inserts never shift pages.
package page

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
)

// Limits of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Cursor is a position in a list sorted by (created_at DESC, id DESC).
type Cursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"i"`
}

// Request is a validated page request.
type Request struct {
	Limit int
	After *Cursor
}

// Parse validates a limit and a cursor as received from a client.
func Parse(limit int, cursor string) (Request, error) {
	r := Request{Limit: limit}
	if r.Limit == 0 {
		r.Limit = DefaultLimit
	}
	var fields []errs.FieldError
	if r.Limit < 1 || r.Limit > MaxLimit {
		fields = append(fields, errs.FieldError{Path: "limit", Message: "must be between 1 and 200"})
	}
	if cursor != "" {
		c, err := Decode(cursor)
		if err != nil {
			fields = append(fields, errs.FieldError{Path: "cursor", Message: "is not a cursor this server issued"})
		}
		r.After = c
	}
	if len(fields) > 0 {
		return r, errs.Validation("invalid page request", fields...)
	}
	return r, nil
}

// Encode renders c for a client.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode parses a cursor produced by Encode.
func Decode(s string) (*Cursor, error) {
	if len(s) > 200 {
		return nil, errs.E(errs.Invalid, "invalid_cursor", "cursor too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.ID == uuid.Nil {
		return nil, errs.E(errs.Invalid, "invalid_cursor", "malformed cursor")
	}
	return &c, nil
}

// Next returns the cursor after the last of n fetched rows, if a further page
// may exist. Callers fetch Limit+1 rows and pass the Limit-th row's key.
func Next(fetched, limit int, last Cursor) string {
	if fetched <= limit {
		return ""
	}
	return last.Encode()
}

// Args are the keyset parameters of a list query: whether a cursor is set,
// and its time and id (zero when not set).
func (r Request) Args() (bool, time.Time, uuid.UUID) {
	if r.After == nil {
		return false, time.Time{}, uuid.Nil
	}
	return true, r.After.CreatedAt, r.After.ID
}

// Fetch is how many rows a list query asks for: one more than the page, so
// a further page is known to exist without counting.
func (r Request) Fetch() int { return r.Limit + 1 }

// Cut trims fetched rows to the page and returns the cursor of the next page
// ("" when there is none); key gives a row's sort key.
func Cut[T any](rows []T, r Request, key func(T) Cursor) ([]T, string) {
	if len(rows) == 0 {
		return rows, ""
	}
	n := min(len(rows), r.Limit)
	return rows[:n], Next(len(rows), r.Limit, key(rows[n-1]))
}
