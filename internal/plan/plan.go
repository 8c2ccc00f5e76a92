package plan

import "slices"

// Unlimited is the value of a count or volume limit that does not limit.
const Unlimited = -1

// Limits are a plan's quotas. For the count and volume limits, Unlimited
// (-1) means no limit and 0 means none; see the package documentation.
type Limits struct {
	Workflows             int   `json:"workflows"`                // workflows a tenant may define
	WebhookEndpoints      int   `json:"webhook_endpoints"`        // webhook endpoints a tenant may create
	RunsPerMonth          int64 `json:"runs_per_month"`           // runs started per calendar month
	StepsPerWorkflow      int   `json:"steps_per_workflow"`       // steps in one workflow definition
	MaxPayloadBytes       int64 `json:"max_payload_bytes"`        // largest accepted webhook body; never unlimited
	ArtifactBytesPerMonth int64 `json:"artifact_bytes_per_month"` // artifact bytes stored per calendar month
	RetentionDays         int   `json:"retention_days"`           // days runs and artifacts are kept; at least 1
	Concurrency           int   `json:"concurrency"`              // runs executing at once; at least 1
	HeldRuns              int   `json:"held_runs"`                // deliveries kept as held over the monthly quota
	ForeachItems          int   `json:"foreach_items"`            // items one foreach step may iterate; optional in files
}

// DefaultForeachItems is the foreach bound of a plan that names none.
const DefaultForeachItems = 1000

// Within reports whether usage n stays within limit: limit is Unlimited or
// n <= limit. Pass the usage the operation would reach, e.g. the count of
// workflows after creating one.
func Within[T ~int | ~int64](limit, n T) bool {
	return limit == Unlimited || n <= limit
}

// Features are a plan's switches.
type Features struct {
	// SignatureSchemes are the verification schemes beyond "token" the plan
	// may use, e.g. ["standard-webhooks", "github"], or ["*"] for all.
	SignatureSchemes []string `json:"signature_schemes"`
	Foreach          bool     `json:"foreach"`   // the foreach step type
	Callbacks        bool     `json:"callbacks"` // run completion callbacks
}

// Plan is one subscription tier.
type Plan struct {
	Name           string   `json:"name"`             // stable identifier, [a-z0-9-]{1,32}
	DisplayName    string   `json:"display_name"`     // shown to customers
	Limits         Limits   `json:"limits"`           // quotas
	Features       Features `json:"features"`         // switches
	StripePriceIDs []string `json:"stripe_price_ids"` // the Stripe prices that buy this plan
}

// AllowsScheme reports whether the plan may use signature scheme s. "token"
// is always allowed; "*" in SignatureSchemes allows every scheme.
func (p Plan) AllowsScheme(s string) bool {
	if s == schemeToken {
		return true
	}
	if s == "" {
		return false
	}
	for _, x := range p.Features.SignatureSchemes {
		if x == schemeAll || x == s {
			return true
		}
	}
	return false
}

// clone returns a copy of p that shares no memory with it.
func (p Plan) clone() Plan {
	p.Features.SignatureSchemes = cloneStrings(p.Features.SignatureSchemes)
	p.StripePriceIDs = cloneStrings(p.StripePriceIDs)
	return p
}

// cloneStrings copies s, turning nil into an empty list so that plans
// always marshal their lists as [] rather than null.
func cloneStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// Catalog is the set of plans. It is immutable once built by Load, LoadFile
// or Default, and safe for concurrent use; every Plan it returns is a copy.
type Catalog struct {
	plans   []Plan
	byName  map[string]int
	byPrice map[string]int
	def     int
}

// newCatalog builds a catalogue from plans that are already valid.
func newCatalog(plans []Plan, def string) *Catalog {
	c := &Catalog{
		plans:   make([]Plan, len(plans)),
		byName:  make(map[string]int, len(plans)),
		byPrice: make(map[string]int),
	}
	for i, p := range plans {
		c.plans[i] = p.clone()
		c.byName[p.Name] = i
		for _, id := range p.StripePriceIDs {
			c.byPrice[id] = i
		}
	}
	c.def = c.byName[def]
	return c
}

// Get returns the plan called name.
func (c *Catalog) Get(name string) (Plan, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Plan{}, false
	}
	return c.plans[i].clone(), true
}

// Default returns the plan of a tenant without a subscription.
func (c *Catalog) Default() Plan {
	if len(c.plans) == 0 {
		return Plan{}
	}
	return c.plans[c.def].clone()
}

// ForPrice returns the plan that Stripe price priceID buys.
func (c *Catalog) ForPrice(priceID string) (Plan, bool) {
	i, ok := c.byPrice[priceID]
	if !ok {
		return Plan{}, false
	}
	return c.plans[i].clone(), true
}

// All returns every plan, in file order.
func (c *Catalog) All() []Plan {
	out := make([]Plan, len(c.plans))
	for i, p := range c.plans {
		out[i] = p.clone()
	}
	return out
}
