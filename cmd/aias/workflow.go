package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"sigs.k8s.io/yaml"

	"aias/internal/workflow"
	"aias/pkg/aias"
)

const workflowsUsage = `usage:
  aias workflows ls [--json]
  aias workflows get NAME|ID [--json]        the current definition (YAML; --json: the workflow)
  aias workflows apply -f FILE [--json]      create, or a new version of the workflow of that name
  aias workflows diff -f FILE                the stored definition against the file (exit 9 when they differ)
  aias workflows validate -f FILE            check a definition locally, sending nothing`

// workflows is `aias workflows …` (also `aias workflow …`): definitions
// kept in files, checked locally, applied by name through the API.
func (e env) workflows(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("%s", workflowsUsage)
	}
	switch args[0] {
	case "ls", "list":
		return e.workflowsList(ctx, args[1:])
	case "get":
		return e.workflowsGet(ctx, args[1:])
	case "apply", "validate":
		return e.workflowsApply(ctx, args[0], args[1:])
	case "diff":
		return e.workflowsDiff(ctx, args[1:])
	}
	return usageErr("%s", workflowsUsage)
}

func (e env) workflowsList(ctx context.Context, args []string) error {
	f := e.flags("workflows ls")
	if _, err := f.parse(args, 0, "workflows ls [--json]"); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	var all []aias.Workflow
	for w, err := range c.ListWorkflows(ctx, aias.ListOptions{Limit: 200}) {
		if err != nil {
			return err
		}
		all = append(all, w)
	}
	if *f.json {
		return e.printJSON(nonNil(all))
	}
	rows := make([][]string, 0, len(all))
	for _, w := range all {
		rows = append(rows, []string{w.ID, w.Name, strconv.Itoa(w.Version), strconv.Itoa(len(w.Definition.Steps)), strconv.FormatBool(w.Enabled), ago(w.UpdatedAt)})
	}
	return e.table([]string{"ID", "NAME", "VERSION", "STEPS", "ENABLED", "UPDATED"}, rows)
}

func (e env) workflowsGet(ctx context.Context, args []string) error {
	f := e.flags("workflows get")
	pos, err := f.parse(args, 1, "workflows get NAME|ID [--json]")
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	id, err := workflowID(ctx, c, pos[0])
	if err != nil {
		return err
	}
	w, err := c.GetWorkflow(ctx, id)
	if err != nil {
		return err
	}
	if *f.json {
		return e.printJSON(w)
	}
	fmt.Fprintf(e.out, "# workflow %s, version %d, id %s\n", w.Name, w.Version, w.ID)
	y, err := definitionYAML(w.Definition)
	if err != nil {
		return err
	}
	_, err = e.out.Write(y)
	return err
}

// workflowsApply is validate and apply: the file is checked locally first
// (every problem with its path), then sent by name.
func (e env) workflowsApply(ctx context.Context, verb string, args []string) error {
	f := e.flags("workflows " + verb)
	file := f.String("f", "", "definition file (YAML, or JSON when it ends in .json)")
	if _, err := f.parse(args, 0, "workflows "+verb+" -f FILE"); err != nil {
		return err
	}
	def, local, err := readLocalDefinition(*file)
	if err != nil {
		return err
	}
	if verb == "validate" {
		fmt.Fprintf(e.out, "%s: workflow %q is valid (%d steps)\n", *file, local.Name, len(local.Steps))
		return nil
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	w, how, err := c.ApplyWorkflow(ctx, local.Name, def)
	if err != nil {
		return err
	}
	if *f.json {
		return e.printJSON(w)
	}
	fmt.Fprintf(e.out, "workflow %q applied (%s): id %s, version %d\n", w.Name, how, w.ID, w.Version)
	return nil
}

// readLocalDefinition reads and validates a definition file.
func readLocalDefinition(file string) (aias.Definition, workflow.Definition, error) {
	if file == "" {
		return aias.Definition{}, workflow.Definition{}, usageErr("-f FILE is required")
	}
	def, err := aias.ReadDefinition(file)
	if err != nil {
		return def, workflow.Definition{}, err
	}
	local, err := workflow.Decode(def.Body, def.ContentType)
	if err == nil {
		err = local.Validate()
	}
	if err != nil {
		return def, local, &exitError{code: exitInvalid, msg: fmt.Sprintf("%s: %v", file, err)}
	}
	if def.AsJSON, err = yaml.YAMLToJSON(def.Body); err != nil { // for apply to see an unchanged file; JSON is YAML
		return def, local, fmt.Errorf("%s: %w", file, err)
	}
	return def, local, nil
}

// workflowsDiff prints the stored current definition against the file as a
// unified diff, both rendered the same way (YAML with sorted keys), so
// only differences of meaning show.
func (e env) workflowsDiff(ctx context.Context, args []string) error {
	f := e.flags("workflows diff")
	file := f.String("f", "", "definition file (YAML, or JSON when it ends in .json)")
	if _, err := f.parse(args, 0, "workflows diff -f FILE"); err != nil {
		return err
	}
	def, local, err := readLocalDefinition(*file)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	var stored []byte
	from := local.Name + " (not on the server)"
	w, err := c.FindWorkflow(ctx, local.Name)
	switch {
	case aias.CodeOf(err) == aias.CodeNotFound:
	case err != nil:
		return err
	default:
		from = fmt.Sprintf("%s (version %d on the server)", w.Name, w.Version)
		if stored, err = definitionYAML(w.Definition); err != nil {
			return err
		}
	}
	var theirs aias.WorkflowDefinition
	if err := json.Unmarshal(def.AsJSON, &theirs); err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	mine, err := definitionYAML(theirs)
	if err != nil {
		return err
	}
	d := unifiedDiff(from, *file, string(stored), string(mine))
	if d == "" {
		fmt.Fprintf(e.errw, "%s matches %s\n", *file, from)
		return nil
	}
	_, _ = io.WriteString(e.out, d)
	return &exitError{code: exitDiffers}
}

// definitionYAML renders a definition as YAML with sorted keys.
func definitionYAML(d aias.WorkflowDefinition) ([]byte, error) {
	js, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(js)
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
