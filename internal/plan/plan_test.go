package plan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"aias/internal/errs"
)

// document renders c in the file format, for round trips through Load.
func document(t testing.TB, c *Catalog) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"default": c.Default().Name, "plans": c.All()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustLoad(t *testing.T, doc string) *Catalog {
	t.Helper()
	c, err := Load([]byte(doc))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// fields returns the field problems of a validation error.
func fields(t *testing.T, err error) []errs.FieldError {
	t.Helper()
	if err == nil {
		t.Fatal("Load succeeded, want a validation error")
	}
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Invalid || e.Code != "validation_failed" {
		t.Fatalf("error %v (%T) is not a validation error", err, err)
	}
	return e.Fields
}

func names(plans []Plan) []string {
	var out []string
	for _, p := range plans {
		out = append(out, p.Name)
	}
	return out
}

func TestDefault(t *testing.T) {
	c := Default()
	if got, want := names(c.All()), []string{"free", "pro", "business"}; !cmp.Equal(got, want) {
		t.Fatalf("All() = %v, want %v", got, want)
	}
	if got := c.Default().Name; got != "free" {
		t.Fatalf("Default() = %q, want free", got)
	}
	free, _ := c.Get("free")
	wantFree := Limits{
		Workflows: 3, WebhookEndpoints: 2, RunsPerMonth: 1000, StepsPerWorkflow: 10,
		MaxPayloadBytes: 256 << 10, ArtifactBytesPerMonth: 50 << 20, RetentionDays: 7,
		Concurrency: 2, HeldRuns: 100, ForeachItems: DefaultForeachItems,
	}
	if diff := cmp.Diff(wantFree, free.Limits); diff != "" {
		t.Errorf("free limits (-want +got):\n%s", diff)
	}
	if free.Features.Foreach || free.Features.Callbacks {
		t.Errorf("free features = %+v, want no foreach and no callbacks", free.Features)
	}
	pro, _ := c.Get("pro")
	wantPro := Limits{
		Workflows: 50, WebhookEndpoints: 20, RunsPerMonth: 100_000, StepsPerWorkflow: 50,
		MaxPayloadBytes: 5 << 20, ArtifactBytesPerMonth: 5 << 30, RetentionDays: 30,
		Concurrency: 10, HeldRuns: 10_000, ForeachItems: DefaultForeachItems,
	}
	if diff := cmp.Diff(wantPro, pro.Limits); diff != "" {
		t.Errorf("pro limits (-want +got):\n%s", diff)
	}
	biz, _ := c.Get("business")
	if biz.Limits.Workflows != Unlimited || biz.Limits.RunsPerMonth != Unlimited ||
		biz.Limits.MaxPayloadBytes != 25<<20 || biz.Limits.RetentionDays != 90 ||
		biz.Limits.Concurrency != 50 || biz.Limits.HeldRuns != 100_000 {
		t.Errorf("business limits = %+v", biz.Limits)
	}
	for _, p := range []Plan{pro, biz} {
		if !p.Features.Foreach || !p.Features.Callbacks {
			t.Errorf("%s features = %+v, want everything", p.Name, p.Features)
		}
	}
	// Verifying senders is not an upsell: every built-in plan checks every scheme.
	for _, p := range []Plan{free, pro, biz} {
		for _, scheme := range knownSchemes {
			if !p.AllowsScheme(scheme) {
				t.Errorf("built-in plan %s does not allow the %s scheme", p.Name, scheme)
			}
		}
	}
	if Default() != c {
		t.Error("Default() builds a new catalogue on every call")
	}
}

// The built-in plans pass the same validation as a file.
func TestDefaultIsValid(t *testing.T) {
	c := Default()
	loaded, err := Load(document(t, c))
	if err != nil {
		t.Fatalf("the built-in catalogue does not load: %v", err)
	}
	if diff := cmp.Diff(c.All(), loaded.All()); diff != "" {
		t.Errorf("round trip (-built-in +loaded):\n%s", diff)
	}
	if loaded.Default().Name != "free" {
		t.Errorf("default = %q", loaded.Default().Name)
	}
}

func TestExampleFile(t *testing.T) {
	c, err := LoadFile(filepath.Join("testdata", "plans.example.yaml"))
	if err != nil {
		t.Fatalf("the example catalogue does not load: %v", err)
	}
	if c.Default().Name != "free" {
		t.Errorf("default = %q", c.Default().Name)
	}
	// Apart from its price ids, the example is the built-in catalogue.
	got := c.All()
	for i := range got {
		got[i].StripePriceIDs = []string{}
	}
	if diff := cmp.Diff(Default().All(), got); diff != "" {
		t.Errorf("example differs from the built-in plans (-built-in +example):\n%s", diff)
	}
	if p, ok := c.ForPrice("price_1ProYearlyReplaceMe"); !ok || p.Name != "pro" {
		t.Errorf("ForPrice(pro yearly) = %q, %v", p.Name, ok)
	}
}

const everyProblem = `
default: gold
extra: 1
plans:
  - name: Free Plan
    display_name: Free
    limits:
      workflows: -2
      webhook_endpoints: 2.5
      runs_per_month: "many"
      max_payload_bytes: -1
      artifact_bytes_per_month: 0
      retention_days: 0
      concurrency: 0
      held_runs: 0
      colour: blue
    features:
      signature_schemes: [token, github, telepathy, 7]
      foreach: "yes"
      teleport: true
    stripe_price_ids: [price_A1, prod_B2]
  - name: pro
    limits:
      workflows: 1
      webhook_endpoints: 1
      runs_per_month: 99999999999999999999
      steps_per_workflow: 1
      max_payload_bytes: 26214401
      artifact_bytes_per_month: -1
      retention_days: 1
      concurrency: 1
      held_runs: 3000000000
    stripe_price_ids: [price_C3, price_C3, price_A1]
  - name: pro
    display_name: Pro again
    limits: []
    features: [github]
    stripe_price_ids: price_D4
  - 42
`

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load([]byte(everyProblem))
	want := []errs.FieldError{
		{Path: "extra", Message: "unknown field"},
		{Path: "plans[0].name", Message: "must be 1 to 32 characters a-z, 0-9 or -"},
		{Path: "plans[0].limits.colour", Message: "unknown field"},
		{Path: "plans[0].limits.workflows", Message: "must be -1 (unlimited), 0 (none) or more"},
		{Path: "plans[0].limits.webhook_endpoints", Message: "must be an integer"},
		{Path: "plans[0].limits.runs_per_month", Message: "must be an integer"},
		{Path: "plans[0].limits.steps_per_workflow", Message: "is required"},
		{Path: "plans[0].limits.max_payload_bytes", Message: "must be between 1024 and 26214400 bytes (it cannot be unlimited)"},
		{Path: "plans[0].limits.retention_days", Message: "must be at least 1"},
		{Path: "plans[0].limits.concurrency", Message: "must be at least 1"},
		{Path: "plans[0].features.teleport", Message: "unknown field"},
		{Path: "plans[0].features.signature_schemes[2]", Message: `unknown signature scheme "telepathy"`},
		{Path: "plans[0].features.signature_schemes[3]", Message: "must be a string"},
		{Path: "plans[0].features.foreach", Message: "must be true or false"},
		{Path: "plans[0].stripe_price_ids[1]", Message: "must be a Stripe price id (price_ followed by letters and digits)"},
		{Path: "plans[1].limits.runs_per_month", Message: "is out of range"},
		{Path: "plans[1].limits.max_payload_bytes", Message: "must be between 1024 and 26214400 bytes (it cannot be unlimited)"},
		{Path: "plans[1].limits.held_runs", Message: "is out of range"},
		{Path: "plans[1].stripe_price_ids[1]", Message: "price price_C3 is already used by plans[1].stripe_price_ids[0]"},
		{Path: "plans[1].stripe_price_ids[2]", Message: "price price_A1 is already used by plans[0].stripe_price_ids[0]"},
		{Path: "plans[2].limits", Message: "must be an object"},
		{Path: "plans[2].features", Message: "must be an object"},
		{Path: "plans[2].stripe_price_ids", Message: "must be a list of strings"},
		{Path: "plans[2].name", Message: "duplicates the name of plans[1]"},
		{Path: "plans[3]", Message: "must be an object"},
		{Path: "default", Message: `no plan is called "gold"`},
	}
	if diff := cmp.Diff(want, fields(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if msg := err.Error(); !strings.Contains(msg, "plans[1].stripe_price_ids[2]") {
		t.Errorf("Error() = %q does not list the paths", msg)
	}
}

func TestLoadJSON(t *testing.T) {
	c := mustLoad(t, `{
  "default": "starter",
  "plans": [{
    "name": "starter",
    "display_name": "Starter",
    "limits": {"workflows": 5, "webhook_endpoints": 5, "runs_per_month": 5000, "steps_per_workflow": 20,
               "max_payload_bytes": 1024, "artifact_bytes_per_month": 0, "retention_days": 14,
               "concurrency": 3, "held_runs": 0},
    "features": {"signature_schemes": ["stripe", "github"], "foreach": true, "callbacks": false},
    "stripe_price_ids": ["price_Starter1"]
  }, {
    "name": "team-2",
    "limits": {"workflows": -1, "webhook_endpoints": -1, "runs_per_month": -1, "steps_per_workflow": -1,
               "max_payload_bytes": 26214400, "artifact_bytes_per_month": -1, "retention_days": 365,
               "concurrency": 100, "held_runs": -1}
  }]
}`)
	want := []Plan{{
		Name:        "starter",
		DisplayName: "Starter",
		Limits: Limits{Workflows: 5, WebhookEndpoints: 5, RunsPerMonth: 5000, StepsPerWorkflow: 20,
			MaxPayloadBytes: 1024, ArtifactBytesPerMonth: 0, RetentionDays: 14, Concurrency: 3, HeldRuns: 0, ForeachItems: DefaultForeachItems},
		Features:       Features{SignatureSchemes: []string{"stripe", "github"}, Foreach: true},
		StripePriceIDs: []string{"price_Starter1"},
	}, {
		Name:        "team-2",
		DisplayName: "team-2", // defaults to the name
		Limits: Limits{Workflows: -1, WebhookEndpoints: -1, RunsPerMonth: -1, StepsPerWorkflow: -1,
			MaxPayloadBytes: 25 << 20, ArtifactBytesPerMonth: -1, RetentionDays: 365, Concurrency: 100, HeldRuns: -1, ForeachItems: DefaultForeachItems},
		Features:       Features{SignatureSchemes: []string{}},
		StripePriceIDs: []string{},
	}}
	if diff := cmp.Diff(want, c.All()); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	if c.Default().Name != "starter" {
		t.Errorf("default = %q", c.Default().Name)
	}
	// JSON and YAML spellings of one catalogue load alike.
	if diff := cmp.Diff(c.All(), mustLoad(t, string(document(t, c))).All()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestLoadDocumentProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []errs.FieldError
	}{
		{"empty", ``, []errs.FieldError{{Path: "", Message: "must be an object"}}},
		{"list", `[1, 2]`, []errs.FieldError{{Path: "", Message: "must be an object"}}},
		{"nothing", `{}`, []errs.FieldError{
			{Path: "plans", Message: "is required"}, {Path: "default", Message: "is required"}}},
		{"no plans", `{"plans": [], "default": "free"}`, []errs.FieldError{
			{Path: "plans", Message: "must list at least one plan"}, {Path: "default", Message: `no plan is called "free"`}}},
		{"plans not a list", "plans: free\ndefault: free", []errs.FieldError{
			{Path: "plans", Message: "must be a list of plans"}}},
		{"default not a string", "plans: [{name: a, limits: {}}]\ndefault: [a]", []errs.FieldError{
			{Path: "plans[0].limits.workflows", Message: "is required"},
			{Path: "plans[0].limits.webhook_endpoints", Message: "is required"},
			{Path: "plans[0].limits.runs_per_month", Message: "is required"},
			{Path: "plans[0].limits.steps_per_workflow", Message: "is required"},
			{Path: "plans[0].limits.max_payload_bytes", Message: "is required"},
			{Path: "plans[0].limits.artifact_bytes_per_month", Message: "is required"},
			{Path: "plans[0].limits.retention_days", Message: "is required"},
			{Path: "plans[0].limits.concurrency", Message: "is required"},
			{Path: "plans[0].limits.held_runs", Message: "is required"},
			{Path: "default", Message: "must be a string"}}},
		{"plan without name or limits", "plans: [{display_name: X}]\ndefault: x", []errs.FieldError{
			{Path: "plans[0].name", Message: "is required"},
			{Path: "plans[0].limits", Message: "is required"},
			{Path: "default", Message: `no plan is called "x"`}}},
		{"name too long", "plans: [{name: " + strings.Repeat("a", 33) + "}]\ndefault: a", []errs.FieldError{
			{Path: "plans[0].name", Message: "must be 1 to 32 characters a-z, 0-9 or -"},
			{Path: "plans[0].limits", Message: "is required"},
			{Path: "default", Message: `no plan is called "a"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.doc))
			if diff := cmp.Diff(tt.want, fields(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadSyntaxErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"yaml":          "plans: [\n",
		"json":          `{"plans": [}`,
		"duplicate key": "default: free\ndefault: pro\nplans: []",
		"too large":     "# " + strings.Repeat("x", maxDocumentBytes),
	} {
		t.Run(name, func(t *testing.T) {
			got := fields(t, func() error { _, err := Load([]byte(doc)); return err }())
			if len(got) != 1 || got[0].Path != "" {
				t.Errorf("problems = %v, want one for the whole document", got)
			}
		})
	}
}

func TestUnknownFieldsRejected(t *testing.T) {
	base := validPlan("free")
	tests := map[string]struct {
		edit func(doc map[string]any, plan map[string]any)
		path string
	}{
		"top level": {func(doc, _ map[string]any) { doc["plan"] = "x" }, "plan"},
		"plan":      {func(_, p map[string]any) { p["price"] = "x" }, "plans[0].price"},
		"limits":    {func(_, p map[string]any) { p["limits"].(map[string]any)["runs"] = 1 }, "plans[0].limits.runs"},
		"features":  {func(_, p map[string]any) { p["features"] = map[string]any{"for_each": true} }, "plans[0].features.for_each"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var p map[string]any
			if err := json.Unmarshal(base, &p); err != nil {
				t.Fatal(err)
			}
			doc := map[string]any{"default": "free", "plans": []any{p}}
			tt.edit(doc, p)
			b, _ := json.Marshal(doc)
			_, err := Load(b)
			want := []errs.FieldError{{Path: tt.path, Message: "unknown field"}}
			if diff := cmp.Diff(want, fields(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// validPlan is a valid plan called name, as JSON.
func validPlan(name string, prices ...string) []byte {
	p := Default().All()[0]
	p.Name, p.StripePriceIDs = name, prices
	b, _ := json.Marshal(p)
	return b
}

func TestForPrice(t *testing.T) {
	c := mustLoad(t, `default: free
plans:
  - `+string(validPlan("free"))+`
  - `+string(validPlan("pro", "price_ProMonthly", "price_ProYearly"))+`
  - `+string(validPlan("business", "price_Biz"))+`
`)
	for price, want := range map[string]string{
		"price_ProMonthly": "pro", "price_ProYearly": "pro", "price_Biz": "business",
	} {
		if p, ok := c.ForPrice(price); !ok || p.Name != want {
			t.Errorf("ForPrice(%q) = %q, %v; want %q", price, p.Name, ok, want)
		}
	}
	for _, price := range []string{"", "price_Unknown", "price_promonthly"} {
		if p, ok := c.ForPrice(price); ok {
			t.Errorf("ForPrice(%q) = %q, want no plan", price, p.Name)
		}
	}
	if _, ok := Default().ForPrice("price_ProMonthly"); ok {
		t.Error("the built-in catalogue knows a price")
	}
}

func TestGet(t *testing.T) {
	c := Default()
	if p, ok := c.Get("pro"); !ok || p.DisplayName != "Pro" {
		t.Errorf("Get(pro) = %+v, %v", p, ok)
	}
	for _, name := range []string{"", "Pro", "enterprise"} {
		if _, ok := c.Get(name); ok {
			t.Errorf("Get(%q) found a plan", name)
		}
	}
}

func TestAllowsScheme(t *testing.T) {
	all := Plan{Features: Features{SignatureSchemes: []string{"*"}}}
	some := Plan{Features: Features{SignatureSchemes: []string{"github", "standard-webhooks"}}}
	none := Plan{}
	tests := []struct {
		plan   Plan
		scheme string
		want   bool
	}{
		{none, "token", true},
		{none, "github", false},
		{none, "", false},
		{some, "token", true},
		{some, "github", true},
		{some, "standard-webhooks", true},
		{some, "stripe", false},
		{some, "*", false},
		{all, "token", true},
		{all, "hmac", true},
		{all, "shopify", true},
		{all, "", false},
	}
	for _, tt := range tests {
		if got := tt.plan.AllowsScheme(tt.scheme); got != tt.want {
			t.Errorf("%v.AllowsScheme(%q) = %v, want %v", tt.plan.Features.SignatureSchemes, tt.scheme, got, tt.want)
		}
	}
}

func TestWithin(t *testing.T) {
	l := Default().All()[0].Limits
	if !Within(l.Workflows, 3) || Within(l.Workflows, 4) {
		t.Error("Within(3, n) is wrong")
	}
	if !Within(int64(Unlimited), 1<<62) {
		t.Error("Unlimited limits")
	}
	if Within(0, 1) || !Within(0, 0) {
		t.Error("a limit of 0 allows something")
	}
}

// Plans handed out are copies: changing one does not change the catalogue.
func TestCatalogIsImmutable(t *testing.T) {
	// An operator's plan that verifies only Stripe signatures.
	restricted := strings.Replace(string(validPlan("pro", "price_A")), `"signature_schemes":["*"]`, `"signature_schemes":["stripe"]`, 1)
	c := mustLoad(t, "default: pro\nplans: ["+restricted+"]")
	p, _ := c.Get("pro")
	if !p.AllowsScheme("stripe") || p.AllowsScheme("github") {
		t.Fatalf("restricted plan = %+v, want stripe only", p.Features)
	}
	p.StripePriceIDs[0] = "price_B"
	p.Features.SignatureSchemes = append(p.Features.SignatureSchemes, "github")
	all := c.All()
	all[0].Name = "changed"
	all[0].StripePriceIDs[0] = "price_C"
	d := c.Default()
	d.Limits.Workflows = 1000
	if got, _ := c.Get("pro"); !cmp.Equal(got.StripePriceIDs, []string{"price_A"}) ||
		got.AllowsScheme("github") || got.Limits.Workflows != 3 {
		t.Errorf("catalogue changed through a returned plan: %+v", got)
	}
	if _, ok := c.ForPrice("price_A"); !ok {
		t.Error("price lookup changed")
	}
}

func TestZeroCatalog(t *testing.T) {
	var c Catalog
	if p := c.Default(); p.Name != "" {
		t.Errorf("zero catalogue default = %+v", p)
	}
	if _, ok := c.Get("free"); ok {
		t.Error("zero catalogue has plans")
	}
	if len(c.All()) != 0 {
		t.Error("zero catalogue lists plans")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.yaml")
	_, err := LoadFile(missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadFile(missing) = %v, want an error naming %s", err, missing)
	}
	if !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("LoadFile(missing) = %v, want the cause kept", err)
	}

	bad := filepath.Join(dir, "plans.yaml")
	if err := os.WriteFile(bad, []byte("default: free\nplans: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+": ") {
		t.Fatalf("LoadFile(bad) = %v, want an error starting with %s", err, bad)
	}
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Invalid || !strings.Contains(e.Message, bad) {
		t.Errorf("LoadFile(bad) = %#v, want a validation error whose message names the file", err)
	}
	if got := fields(t, err); len(got) != 2 || got[0].Path != "plans" || got[1].Path != "default" {
		t.Errorf("problems = %v", got)
	}
	// The error of Load itself is not changed by LoadFile.
	_, err = Load([]byte("default: free\nplans: []\n"))
	if strings.Contains(err.Error(), bad) {
		t.Error("LoadFile changed the error of Load")
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}
