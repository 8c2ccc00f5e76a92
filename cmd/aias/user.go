package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"aias/internal/account"
	"aias/internal/config"
	"aias/internal/postgres"
)

// userCmd is `aias user reset-link -email E`: the operator's way to let a
// person (back) into the console. The link works once, for an hour, and
// ends every sign-in of the user when used; it is printed, never stored.
func userCmd(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("user reset-link", flag.ContinueOnError)
	email := fs.String("email", "", "the person's email")
	if len(args) == 0 || args[0] != "reset-link" {
		return usageErr("usage: aias user reset-link -email E")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return usageErr("usage: aias user reset-link -email E")
	}
	cfg, err := config.Load(getenv, config.RoleMigrate)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	opts := account.Options{PublicURL: cfg.PublicURL}
	link, err := account.New(db, opts).CreateResetLink(ctx, *email)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "reset_link: %s   (shown once; works once, for %s)\n", link, account.DefaultResetTTL)
	return nil
}
