package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"aias/pkg/aias"
)

const endpointsUsage = `usage:
  aias endpoints ls [--json]
  aias endpoints get ID [--json]
  aias endpoints create --workflow NAME|ID --name NAME [--scheme SCHEME] [--secret S] [--max-body BYTES] [--json]
  aias endpoints rotate ID [--grace 24h] [--token] [--secret S] [--json]
  aias endpoints delete ID`

// endpoints is `aias endpoints …`: webhook endpoints and their rotation.
func (e env) endpoints(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("%s", endpointsUsage)
	}
	switch args[0] {
	case "ls", "list":
		return e.endpointsList(ctx, args[1:])
	case "get":
		return e.endpointsGet(ctx, args[1:])
	case "create":
		return e.endpointsCreate(ctx, args[1:])
	case "rotate":
		return e.endpointsRotate(ctx, args[1:])
	case "delete", "rm":
		return e.endpointsDelete(ctx, args[1:])
	}
	return usageErr("%s", endpointsUsage)
}

func (e env) endpointsList(ctx context.Context, args []string) error {
	f := e.flags("endpoints ls")
	if _, err := f.parse(args, 0, "endpoints ls [--json]"); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	var all []aias.Endpoint
	for ep, err := range c.ListEndpoints(ctx, aias.ListOptions{Limit: 200}) {
		if err != nil {
			return err
		}
		all = append(all, ep)
	}
	if *f.json {
		return e.printJSON(nonNil(all))
	}
	names := loadWorkflowNames(ctx, c)
	rows := make([][]string, 0, len(all))
	for _, ep := range all {
		rows = append(rows, []string{ep.ID, ep.Name, names.of(ep.WorkflowID), string(ep.Verification.Scheme),
			ep.TokenPrefix + "…", strconv.FormatBool(ep.Enabled), ago(ep.CreatedAt)})
	}
	return e.table([]string{"ID", "NAME", "WORKFLOW", "SCHEME", "TOKEN", "ENABLED", "CREATED"}, rows)
}

func (e env) endpointsGet(ctx context.Context, args []string) error {
	f := e.flags("endpoints get")
	pos, err := f.parse(args, 1, "endpoints get ID [--json]")
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ep, err := c.GetEndpoint(ctx, pos[0])
	if err != nil {
		return err
	}
	if *f.json {
		return e.printJSON(ep)
	}
	fmt.Fprintf(e.out, "id:        %s\nname:      %s\nworkflow:  %s\nscheme:    %s\ntoken:     %s…\nenabled:   %v\ncreated:   %s\n",
		ep.ID, ep.Name, ep.WorkflowID, ep.Verification.Scheme, ep.TokenPrefix, ep.Enabled, ago(ep.CreatedAt))
	for _, s := range ep.SigningSecrets {
		until := "current"
		if s.ExpiresAt != nil {
			until = "until " + ago(*s.ExpiresAt)
		}
		fmt.Fprintf(e.out, "secret:    …%s (%s)\n", s.Hint, until)
	}
	return nil
}

func (e env) endpointsCreate(ctx context.Context, args []string) error {
	f := e.flags("endpoints create")
	wf := f.String("workflow", "", "the workflow the endpoint starts (name or id)")
	name := f.String("name", "", "the endpoint's name")
	scheme := f.String("scheme", "token", "verification: token, standard-webhooks, stripe, github, slack, shopify or hmac")
	secret := f.String("secret", "", "a signing secret the sender issued (signed schemes; default: AIAS makes one)")
	maxBody := f.Int64("max-body", 0, "the body limit in bytes (default: the operator's)")
	if _, err := f.parse(args, 0, "endpoints create --workflow NAME|ID --name NAME [--scheme S]"); err != nil {
		return err
	}
	if *wf == "" || *name == "" {
		return usageErr("usage: aias endpoints create --workflow NAME|ID --name NAME [--scheme SCHEME]")
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	id, err := workflowID(ctx, c, *wf)
	if err != nil {
		return err
	}
	req := aias.CreateEndpointRequest{WorkflowID: id, Name: *name,
		Verification: &aias.VerificationInput{Scheme: aias.VerificationScheme(*scheme), Secret: *secret}}
	if *maxBody > 0 {
		req.MaxBodyBytes = maxBody
	}
	ep, err := c.CreateEndpoint(ctx, req)
	if err != nil {
		return err
	}
	return e.printIssued(ep, *f.json, "created")
}

func (e env) endpointsRotate(ctx context.Context, args []string) error {
	f := e.flags("endpoints rotate")
	grace := f.Duration("grace", 24*time.Hour, "how long the previous secret and token keep working (0s: none)")
	token := f.Bool("token", false, "also replace the URL token (always, for the token scheme)")
	secret := f.String("secret", "", "a replacement secret the sender issued (default: AIAS makes one)")
	pos, err := f.parse(args, 1, "endpoints rotate ID [--grace 24h] [--token]")
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ep, err := c.RotateEndpoint(ctx, pos[0], aias.RotateEndpointRequest{Grace: aias.Ptr(aias.Duration(*grace)), Token: *token, Secret: *secret})
	if err != nil {
		return err
	}
	return e.printIssued(ep, *f.json, fmt.Sprintf("rotated (the previous credentials work for %s)", *grace))
}

// printIssued shows what was issued, which no later call shows again.
func (e env) printIssued(ep aias.IssuedEndpoint, asJSON bool, what string) error {
	if asJSON {
		return e.printJSON(ep)
	}
	fmt.Fprintf(e.out, "endpoint %q %s: id %s\n", ep.Name, what, ep.ID)
	if ep.URL != "" {
		fmt.Fprintf(e.out, "url:            %s\n", ep.URL)
	}
	if ep.SigningSecret != "" {
		fmt.Fprintf(e.out, "signing secret: %s\n", ep.SigningSecret)
	}
	if ep.URL != "" || ep.SigningSecret != "" {
		fmt.Fprintln(e.out, "(shown once: AIAS keeps only what verifies them)")
	}
	return nil
}

func (e env) endpointsDelete(ctx context.Context, args []string) error {
	f := e.flags("endpoints delete")
	pos, err := f.parse(args, 1, "endpoints delete ID")
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	if err := c.DeleteEndpoint(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "endpoint %s deleted\n", pos[0])
	return nil
}
