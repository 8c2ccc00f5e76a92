package aias

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// maxPage is the largest page AIAS serves.
const maxPage = 200

// ListOptions pages a list.
type ListOptions struct {
	// Limit is the page size, 1..200 (0: the server's 50).
	Limit int
	// Cursor starts after an earlier page (its NextCursor).
	Cursor string
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// page reads one page of a paged list.
func page[T any](ctx context.Context, c *Client, path string, q url.Values) (Page[T], error) {
	var p Page[T]
	err := c.call(ctx, request{method: http.MethodGet, path: path, query: q}, &p)
	return p, err
}

// all walks a paged list from cursor: each item, then the next page when
// the consumer wants more. An error is yielded once, last.
func all[T any](ctx context.Context, cursor string, fetch func(context.Context, string) (Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			p, err := fetch(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Data {
				if !yield(item, nil) {
					return
				}
			}
			if p.NextCursor == "" {
				return
			}
			cursor = p.NextCursor
		}
	}
}
