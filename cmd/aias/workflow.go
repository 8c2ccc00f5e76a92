package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aias/internal/workflow"
)

// workflowCmd is `aias workflow validate|apply -f FILE`: definitions kept in
// git, checked locally and applied by name through the API.
func workflowCmd(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "validate" && args[0] != "apply") {
		return errors.New("usage: aias workflow validate|apply -f workflow.yaml")
	}
	fs := flag.NewFlagSet("workflow "+args[0], flag.ContinueOnError)
	file := fs.String("f", "", "definition file (YAML or JSON)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	body, contentType, err := readDefinition(*file)
	if err != nil {
		return err
	}
	def, err := workflow.Decode(body, contentType)
	if err == nil {
		err = def.Validate()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	if args[0] == "validate" {
		fmt.Fprintf(out, "%s: workflow %q is valid (%d steps)\n", *file, def.Name, len(def.Steps))
		return nil
	}
	return apply(ctx, getenv, out, def.Name, body, contentType)
}

func readDefinition(path string) ([]byte, string, error) {
	if path == "" {
		return nil, "", errors.New("-f is required")
	}
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file
	if err != nil {
		return nil, "", err
	}
	ct := "application/yaml"
	if strings.EqualFold(filepath.Ext(path), ".json") {
		ct = "application/json"
	}
	return b, ct, nil
}

// apply creates the workflow, or makes a new version of the one with the
// same name. AIAS_API_URL and AIAS_API_KEY say where and as whom.
func apply(ctx context.Context, getenv func(string) string, out io.Writer, name string, body []byte, contentType string) error {
	base, key := strings.TrimRight(getenv("AIAS_API_URL"), "/"), getenv("AIAS_API_KEY")
	if base == "" || key == "" {
		return errors.New("AIAS_API_URL and AIAS_API_KEY must be set to apply")
	}
	c := api{base: base, key: key, http: &http.Client{Timeout: 30 * time.Second}}
	id, err := c.findWorkflow(ctx, name)
	if err != nil {
		return err
	}
	method, path := http.MethodPost, "/api/v1/workflows"
	if id != "" {
		method, path = http.MethodPut, "/api/v1/workflows/"+url.PathEscape(id)
	}
	var w struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	}
	if err := c.do(ctx, method, path, contentType, body, &w); err != nil {
		return err
	}
	fmt.Fprintf(out, "workflow %q applied: id %s, version %d\n", name, w.ID, w.Version)
	return nil
}

type api struct {
	base, key string
	http      *http.Client
}

func (c api) findWorkflow(ctx context.Context, name string) (string, error) {
	cursor := ""
	for {
		var page struct {
			Data []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/workflows?limit=200&cursor="+url.QueryEscape(cursor), "", nil, &page); err != nil {
			return "", err
		}
		for _, w := range page.Data {
			if w.Name == name {
				return w.ID, nil
			}
		}
		if page.NextCursor == "" {
			return "", nil
		}
		cursor = page.NextCursor
	}
}

func (c api) do(ctx context.Context, method, path, contentType string, body []byte, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req) //nolint:gosec // G704: the operator names the API URL
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, v)
}
