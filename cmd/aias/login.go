package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"
)

// login is `aias login [--url URL] [--key KEY]`: it asks for what is not
// given (the key without echo on a terminal), checks it with GET
// /api/v1/me, and stores both in the user's config directory, readable by
// the user alone.
func (e env) login(ctx context.Context, args []string) error {
	f := e.flags("login")
	apiURL := f.String("url", "", "AIAS's URL, e.g. https://aias.example.com (asked for when absent)")
	key := f.String("key", "", "the API key, aias_… (asked for when absent; prefer the prompt, which does not echo it)")
	if _, err := f.parse(args, 0, "login [--url URL] [--key KEY]"); err != nil {
		return err
	}
	stored, _ := e.credentials() // a default for the URL prompt
	in := bufio.NewReader(e.in)
	if *apiURL == "" {
		*apiURL = e.getenv("AIAS_API_URL")
	}
	if *apiURL == "" {
		def := stored.URL
		if def == "" {
			def = "http://127.0.0.1:8080"
		}
		fmt.Fprintf(e.errw, "AIAS URL [%s]: ", def)
		line, err := readLine(in)
		if err != nil {
			return err
		}
		if *apiURL = line; line == "" {
			*apiURL = def
		}
	}
	if *key == "" {
		*key = e.getenv("AIAS_API_KEY")
	}
	if *key == "" {
		fmt.Fprint(e.errw, "API key: ")
		k, err := e.readSecret(in)
		if err != nil {
			return err
		}
		*key = k
	}
	c := credentials{URL: strings.TrimRight(strings.TrimSpace(*apiURL), "/"), Key: strings.TrimSpace(*key)}
	client, err := newClient(c)
	if err != nil {
		return usageErr("%v", err)
	}
	me, err := client.GetMe(ctx)
	if err != nil {
		return fmt.Errorf("check the key: %w", err)
	}
	path, err := e.saveCredentials(c)
	if err != nil {
		return err
	}
	if *f.json {
		return e.printJSON(me)
	}
	fmt.Fprintf(e.out, "Logged in to %s as tenant %q (%s, role %s). Saved in %s.\n", c.URL, me.TenantName, me.Plan, me.Role, path)
	return nil
}

// readSecret reads the key without echo from a terminal, else a line.
func (e env) readSecret(in *bufio.Reader) (string, error) {
	if f, ok := e.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) { //nolint:gosec // a file descriptor fits an int
		b, err := term.ReadPassword(int(f.Fd())) //nolint:gosec // as above
		fmt.Fprintln(e.errw)
		return string(b), err
	}
	return readLine(in)
}

func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// saveCredentials writes the config file with 0600 permissions in a 0700
// directory, replacing it whole.
func (e env) saveCredentials(c credentials) (string, error) {
	path, err := e.configPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(c, "", "  ") //nolint:gosec // G117: storing the key, readable by the user alone, is the point
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// logout is `aias logout`: forget the stored login.
func (e env) logout(_ context.Context, args []string) error {
	f := e.flags("logout")
	if _, err := f.parse(args, 0, "logout"); err != nil {
		return err
	}
	path, err := e.configPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintf(e.out, "Logged out (%s removed).\n", path)
	return nil
}

// whoami is `aias whoami`: the key's tenant, role, plan and usage.
func (e env) whoami(ctx context.Context, args []string) error {
	f := e.flags("whoami")
	if _, err := f.parse(args, 0, "whoami [--json]"); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	me, err := c.GetMe(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		return e.printJSON(me)
	}
	u := me.Usage
	return e.table([]string{"TENANT", "ID", "ROLE", "PLAN", "RUNS THIS MONTH", "WORKFLOWS", "ENDPOINTS"}, [][]string{{
		me.TenantName, me.TenantID, string(me.Role), me.Plan,
		fmt.Sprintf("%d / %s", u.RunsThisPeriod, limit(u.Limits.RunsPerMonth)),
		fmt.Sprintf("%d / %s", u.Workflows, limit(u.Limits.Workflows)),
		fmt.Sprintf("%d / %s", u.WebhookEndpoints, limit(u.Limits.WebhookEndpoints)),
	}})
}

func limit(n int64) string {
	if n < 0 {
		return "∞"
	}
	return fmt.Sprint(n)
}
