// Package plan is the plan catalogue: what each subscription tier of AIAS
// allows a tenant to do. It is configuration, not code: the catalogue is read
// once at startup (LoadFile) or taken from the built-in Default, and it is
// immutable afterwards, so it may be shared freely between goroutines.
//
// # Plans
//
// A Plan has a Name (the stable identifier stored on the tenant, matching
// [a-z0-9-]{1,32}: "free", "pro", "business", or any name an operator
// chooses), a DisplayName shown to customers, Limits, Features and the
// Stripe price ids that buy it. The catalogue names one plan as its default:
// the plan of a tenant with no active subscription. The built-in catalogue
// (Default) holds free, pro and business, in that order, and defaults to
// free.
//
// # Limits and the -1 convention
//
// Every limit is an integer. For the count and volume limits (workflows,
// webhook_endpoints, runs_per_month, steps_per_workflow,
// artifact_bytes_per_month, held_runs) -1 (Unlimited) means "no limit" and 0
// means "none at all" (e.g. held_runs: 0 holds no runs back). Use Within to
// compare usage against a limit rather than testing for -1 by hand. Three
// limits have no unlimited form: max_payload_bytes must lie between 1024 and
// 26214400 (25 MiB), the hard ceiling of the ingress; retention_days and
// concurrency must be at least 1.
//
// # Features
//
// Token authentication (the secret URL) is always available. SignatureSchemes
// lists the verification schemes beyond it that the plan may configure on a
// webhook endpoint: any of standard-webhooks, stripe, github, slack, shopify,
// hmac, or "*" for every scheme. Every built-in plan has "*": verifying
// senders is not a paid feature, and the built-in plans differ by volume,
// retention, concurrency and the advanced steps. An operator's file may
// still narrow a plan's schemes. Foreach and Callbacks switch the foreach
// step and run callbacks on.
//
// # Stripe prices
//
// A tenant is on a plan because it pays one of the plan's StripePriceIDs
// (monthly and yearly prices of one product, say). When a subscription event
// arrives, the billing code resolves the subscription item's price with
// ForPrice; a price that belongs to no plan is an operator error, and a
// tenant whose subscription ends falls back to Default. A price id
// (price_...) may belong to one plan only. Price ids differ between Stripe's
// test and live modes, so the built-in catalogue lists none: production
// deployments load a file (see testdata/plans.example.yaml).
//
// # File format
//
// Load accepts YAML or JSON:
//
//	default: free
//	plans:
//	  - name: free
//	    display_name: Free
//	    limits: {workflows: 3, webhook_endpoints: 2, ...}
//	    features: {signature_schemes: ["*"], foreach: false, callbacks: false}
//	    stripe_price_ids: []
//
// Every limit must be given explicitly; features and stripe_price_ids may be
// omitted (nothing beyond token, no price), and display_name defaults to the
// name. Unknown fields are refused. Load reports every problem at once, as an
// errs.Validation error whose field paths point into the document, e.g.
// plans[1].limits.runs_per_month or plans[0].stripe_price_ids[2].
package plan
