package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"sigs.k8s.io/yaml"

	"aias/internal/errs"
)

const (
	schemeToken = "token"
	schemeAll   = "*"

	minPayloadBytes = 1024
	maxPayloadBytes = 25 * mib

	// maxDocumentBytes bounds what Load reads; a catalogue is a few KiB.
	maxDocumentBytes = 1 << 20
)

// knownSchemes are the signature schemes a plan may list (see
// internal/signature), plus "*".
var knownSchemes = []string{
	schemeToken, "standard-webhooks", "stripe", "github", "slack", "shopify", "hmac", schemeAll,
}

var (
	namePattern  = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	pricePattern = regexp.MustCompile(`^price_[A-Za-z0-9]+$`)
)

// LoadFile reads and loads the catalogue in the file at path. Its errors
// name the file.
func LoadFile(path string) (*Catalog, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, errs.Wrap(err, errs.Internal, "plan_catalog_unreadable", "cannot read plan catalogue "+path)
	}
	c, err := Load(b)
	if err != nil {
		if e, ok := errs.As(err); ok {
			named := *e
			named.Message = fmt.Sprintf("%s: %s", path, e.Message)
			named.Fields = slices.Clone(e.Fields)
			return nil, &named
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Load parses a catalogue written in YAML or JSON and validates it,
// reporting every problem at once as an errs.Validation error whose field
// paths point into the document (see the package documentation).
func Load(b []byte) (*Catalog, error) {
	if len(b) > maxDocumentBytes {
		return nil, errs.Validation("plan catalogue is invalid",
			errs.FieldError{Path: "", Message: fmt.Sprintf("is larger than %d bytes", maxDocumentBytes)})
	}
	data, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return nil, errs.Validation("plan catalogue is not valid YAML or JSON",
			errs.FieldError{Path: "", Message: err.Error()})
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, errs.Validation("plan catalogue is not valid YAML or JSON",
			errs.FieldError{Path: "", Message: err.Error()})
	}
	d := &decoder{}
	plans, def := d.document(raw)
	if len(d.problems) > 0 {
		return nil, errs.Validation("plan catalogue is invalid", d.problems...)
	}
	return newCatalog(plans, def), nil
}

// decoder walks a decoded document, building plans and collecting every
// problem with its path. A field with a problem is left at its zero value.
type decoder struct {
	problems []errs.FieldError
}

func (d *decoder) add(path, format string, args ...any) {
	d.problems = append(d.problems, errs.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func field(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func index(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// object checks that v is an object with no fields beyond known.
func (d *decoder) object(v any, path string, known ...string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		d.add(path, "must be an object")
		return nil, false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			d.add(field(path, k), "unknown field")
		}
	}
	return m, true
}

// value returns m[key], treating null as absent; required absent fields are
// reported.
func (d *decoder) value(m map[string]any, key, path string, required bool) (any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			d.add(field(path, key), "is required")
		}
		return nil, false
	}
	return v, true
}

func (d *decoder) str(m map[string]any, key, path string, required bool) (string, bool) {
	v, ok := d.value(m, key, path, required)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		d.add(field(path, key), "must be a string")
	}
	return s, ok
}

func (d *decoder) boolean(m map[string]any, key, path string) bool {
	v, ok := d.value(m, key, path, false)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.add(field(path, key), "must be true or false")
	}
	return b
}

func (d *decoder) integerOf(m map[string]any, key, path string, bits int, required bool) (int64, bool) {
	v, ok := d.value(m, key, path, required)
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		d.add(field(path, key), "must be an integer")
		return 0, false
	}
	i, err := strconv.ParseInt(n.String(), 10, bits)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			d.add(field(path, key), "is out of range")
		} else {
			d.add(field(path, key), "must be an integer")
		}
		return 0, false
	}
	return i, true
}

// strs decodes an optional list of strings, reporting the entries that are
// not strings or that check refuses (check returns the problem, or "").
// valid[i] tells whether entry i passed.
func (d *decoder) strs(m map[string]any, key, path string, check func(string) string) (out []string, valid []bool) {
	v, ok := d.value(m, key, path, false)
	if !ok {
		return []string{}, nil
	}
	list, ok := v.([]any)
	if !ok {
		d.add(field(path, key), "must be a list of strings")
		return []string{}, nil
	}
	out = make([]string, len(list))
	valid = make([]bool, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			d.add(index(field(path, key), i), "must be a string")
			continue
		}
		out[i] = s
		if msg := check(s); msg != "" {
			d.add(index(field(path, key), i), "%s", msg)
			continue
		}
		valid[i] = true
	}
	return out, valid
}

func (d *decoder) document(raw any) ([]Plan, string) {
	doc, ok := d.object(raw, "", "plans", "default")
	if !ok {
		return nil, ""
	}
	var list []any
	if v, ok := d.value(doc, "plans", "", true); ok {
		if list, ok = v.([]any); !ok {
			d.add("plans", "must be a list of plans")
		} else if len(list) == 0 {
			d.add("plans", "must list at least one plan")
		}
	}
	plans := make([]Plan, 0, len(list))
	names := map[string]int{}     // plan name -> index of its first use
	prices := map[string]string{} // price id -> path of its first use
	for i, x := range list {
		path := index("plans", i)
		p, validPrices := d.plan(x, path)
		if p.Name != "" {
			if j, dup := names[p.Name]; dup {
				d.add(field(path, "name"), "duplicates the name of plans[%d]", j)
			} else {
				names[p.Name] = i
			}
		}
		for j, id := range p.StripePriceIDs {
			if !validPrices[j] {
				continue
			}
			ip := index(field(path, "stripe_price_ids"), j)
			if first, dup := prices[id]; dup {
				d.add(ip, "price %s is already used by %s", id, first)
			} else {
				prices[id] = ip
			}
		}
		plans = append(plans, p)
	}
	def, ok := d.str(doc, "default", "", true)
	if ok && list != nil {
		if _, exists := names[def]; !exists {
			d.add("default", "no plan is called %q", def)
		}
	}
	return plans, def
}

// plan decodes one plan; validPrices[i] is true when StripePriceIDs[i] is a
// well-formed price id.
func (d *decoder) plan(raw any, path string) (p Plan, validPrices []bool) {
	p.Features.SignatureSchemes = []string{}
	p.StripePriceIDs = []string{}
	m, ok := d.object(raw, path, "name", "display_name", "limits", "features", "stripe_price_ids")
	if !ok {
		return p, nil
	}
	if name, ok := d.str(m, "name", path, true); ok {
		// Kept even when malformed, so that "default" naming it is not
		// reported a second time.
		p.Name = name
		if !namePattern.MatchString(name) {
			d.add(field(path, "name"), "must be 1 to 32 characters a-z, 0-9 or -")
		}
	}
	if dn, ok := d.str(m, "display_name", path, false); ok && dn != "" {
		p.DisplayName = dn
	} else {
		p.DisplayName = p.Name
	}
	if v, ok := d.value(m, "limits", path, true); ok {
		p.Limits = d.limits(v, field(path, "limits"))
	}
	if v, ok := d.value(m, "features", path, false); ok {
		p.Features = d.features(v, field(path, "features"))
	}
	p.StripePriceIDs, validPrices = d.strs(m, "stripe_price_ids", path, checkPrice)
	return p, validPrices
}

// A limitRule checks one limit; it returns a problem or "".
type limitRule func(v int64) string

func countLimit(v int64) string {
	if v < Unlimited {
		return "must be -1 (unlimited), 0 (none) or more"
	}
	return ""
}

func atLeastOne(v int64) string {
	if v < 1 {
		return "must be at least 1"
	}
	return ""
}

func payloadLimit(v int64) string {
	if v < minPayloadBytes || v > maxPayloadBytes {
		return fmt.Sprintf("must be between %d and %d bytes (it cannot be unlimited)", minPayloadBytes, maxPayloadBytes)
	}
	return ""
}

// limitFields lists every limit in document order.
var limitFields = []struct {
	key      string
	bits     int
	rule     limitRule
	set      func(*Limits, int64)
	optional bool // absent: DefaultForeachItems and friends apply
}{
	{"workflows", 32, countLimit, func(l *Limits, v int64) { l.Workflows = int(v) }, false},
	{"webhook_endpoints", 32, countLimit, func(l *Limits, v int64) { l.WebhookEndpoints = int(v) }, false},
	{"runs_per_month", 64, countLimit, func(l *Limits, v int64) { l.RunsPerMonth = v }, false},
	{"steps_per_workflow", 32, countLimit, func(l *Limits, v int64) { l.StepsPerWorkflow = int(v) }, false},
	{"max_payload_bytes", 64, payloadLimit, func(l *Limits, v int64) { l.MaxPayloadBytes = v }, false},
	{"artifact_bytes_per_month", 64, countLimit, func(l *Limits, v int64) { l.ArtifactBytesPerMonth = v }, false},
	{"retention_days", 32, atLeastOne, func(l *Limits, v int64) { l.RetentionDays = int(v) }, false},
	{"concurrency", 32, atLeastOne, func(l *Limits, v int64) { l.Concurrency = int(v) }, false},
	{"held_runs", 32, countLimit, func(l *Limits, v int64) { l.HeldRuns = int(v) }, false},
	{"foreach_items", 32, atLeastOne, func(l *Limits, v int64) { l.ForeachItems = int(v) }, true},
}

func (d *decoder) limits(raw any, path string) Limits {
	l := Limits{ForeachItems: DefaultForeachItems}
	keys := make([]string, len(limitFields))
	for i, f := range limitFields {
		keys[i] = f.key
	}
	m, ok := d.object(raw, path, keys...)
	if !ok {
		return l
	}
	for _, f := range limitFields {
		v, ok := d.integerOf(m, f.key, path, f.bits, !f.optional)
		if !ok {
			continue
		}
		if msg := f.rule(v); msg != "" {
			d.add(field(path, f.key), "%s", msg)
			continue
		}
		f.set(&l, v)
	}
	return l
}

func (d *decoder) features(raw any, path string) Features {
	f := Features{SignatureSchemes: []string{}}
	m, ok := d.object(raw, path, "signature_schemes", "foreach", "callbacks")
	if !ok {
		return f
	}
	f.SignatureSchemes, _ = d.strs(m, "signature_schemes", path, checkScheme)
	f.Foreach = d.boolean(m, "foreach", path)
	f.Callbacks = d.boolean(m, "callbacks", path)
	return f
}

func checkPrice(id string) string {
	if !pricePattern.MatchString(id) {
		return "must be a Stripe price id (price_ followed by letters and digits)"
	}
	return ""
}

func checkScheme(s string) string {
	if !slices.Contains(knownSchemes, s) {
		return fmt.Sprintf("unknown signature scheme %q", s)
	}
	return ""
}
