package postgres_test

import (
	"context"
	"testing"

	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
)

// What Text gives back, Postgres stores as text, the odd bytes as U+FFFD.
func TestTextIsStorableWhateverTheBytes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	for in, want := range map[string]string{
		"plain":       "plain",
		"a\x00b":      "a\uFFFDb",
		"a\xffb":      "a\uFFFDb",
		"caf\xc3":     "caf\uFFFD",
		"déjà vu ✓":   "déjà vu ✓",
		"\x00\x00end": "\uFFFD\uFFFDend",
	} {
		var got string
		if err := db.GetContext(context.Background(), &got, `SELECT $1::text`, postgres.Text(in)); err != nil {
			t.Errorf("Text(%q) refused by Postgres: %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("Text(%q) stored as %q, want %q", in, got, want)
		}
	}
	if postgres.TextPtr(nil) != nil {
		t.Error("TextPtr(nil) is not nil")
	}
}
