package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"aias/internal/account"
	"aias/internal/errs"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
)

func TestUserResetLinkPrintsALinkThatWorksOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := tenant.Create(ctx, db.DB, "locked-out@example.com", "ops"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": db.AppURL, "AIAS_MIGRATE_DATABASE_URL": db.OwnerURL,
		"AIAS_PUBLIC_URL": "https://aias.example.com"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(ctx, []string{"user", "reset-link", "-email", "Locked-Out@example.com"}, getenv, &out); err != nil {
		t.Fatalf("user reset-link: %v", err)
	}
	link := field(out.String(), "reset_link:")
	tok, ok := strings.CutPrefix(link, "https://aias.example.com/reset?token=")
	if !ok {
		t.Fatalf("printed %q, want a link to /reset on the public URL", out.String())
	}
	accounts := account.New(db.DB, account.Options{Params: account.Params{Memory: 1024, Time: 1, Threads: 1}})
	if err := accounts.ResetPassword(ctx, tok, "harbor-lights-27-quince"); err != nil {
		t.Fatalf("ResetPassword(printed link) = %v", err)
	}
	if err := accounts.ResetPassword(ctx, tok, "harbor-lights-27-quince"); errs.CodeOf(err) != "reset_invalid" {
		t.Errorf("ResetPassword(printed link, again) = %v, want reset_invalid", err)
	}
	if _, err := accounts.Login(ctx, account.Credentials{Email: "locked-out@example.com", Password: "harbor-lights-27-quince"}); err != nil {
		t.Errorf("Login with the new password = %v", err)
	}
}

func TestUserResetLinkNamesAnUnknownEmail(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"DATABASE_URL": db.AppURL, "AIAS_MIGRATE_DATABASE_URL": db.OwnerURL}
	var out bytes.Buffer
	err := run(context.Background(), []string{"user", "reset-link", "-email", "ghost@example.com"}, func(k string) string { return env[k] }, &out)
	if err == nil || !strings.Contains(err.Error(), "ghost@example.com") || out.Len() != 0 {
		t.Errorf("user reset-link(unknown) = %v, printed %q; want an error naming the email and nothing printed", err, out.String())
	}
	if err := run(context.Background(), []string{"user", "reset-link"}, func(k string) string { return env[k] }, &out); err == nil {
		t.Errorf("user reset-link without -email = nil, want the usage")
	}
}
