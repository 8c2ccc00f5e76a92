package plan

import "sync"

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// Default returns the built-in catalogue: free (the default), pro and
// business. It lists no Stripe price ids; see the package documentation.
// Every built-in plan verifies every sender scheme: checking who sent a
// webhook is not a paid feature. The plans differ by volume, retention,
// concurrency and the advanced steps (foreach, callbacks).
func Default() *Catalog { return defaultCatalog() }

var defaultCatalog = sync.OnceValue(func() *Catalog {
	return newCatalog(defaultPlans(), "free")
})

func defaultPlans() []Plan {
	return []Plan{
		{
			Name:        "free",
			DisplayName: "Free",
			Limits: Limits{
				Workflows:             3,
				WebhookEndpoints:      2,
				RunsPerMonth:          1000,
				StepsPerWorkflow:      10,
				MaxPayloadBytes:       256 * kib,
				ArtifactBytesPerMonth: 50 * mib,
				RetentionDays:         7,
				Concurrency:           2,
				HeldRuns:              100,
				ForeachItems:          DefaultForeachItems,
			},
			Features: Features{SignatureSchemes: []string{schemeAll}},
		},
		{
			Name:        "pro",
			DisplayName: "Pro",
			Limits: Limits{
				Workflows:             50,
				WebhookEndpoints:      20,
				RunsPerMonth:          100_000,
				StepsPerWorkflow:      50,
				MaxPayloadBytes:       5 * mib,
				ArtifactBytesPerMonth: 5 * gib,
				RetentionDays:         30,
				Concurrency:           10,
				HeldRuns:              10_000,
				ForeachItems:          DefaultForeachItems,
			},
			Features: Features{SignatureSchemes: []string{schemeAll}, Foreach: true, Callbacks: true},
		},
		{
			Name:        "business",
			DisplayName: "Business",
			Limits: Limits{
				Workflows:             Unlimited,
				WebhookEndpoints:      Unlimited,
				RunsPerMonth:          Unlimited,
				StepsPerWorkflow:      100, // the workflow engine's own ceiling
				MaxPayloadBytes:       maxPayloadBytes,
				ArtifactBytesPerMonth: 100 * gib,
				RetentionDays:         90,
				Concurrency:           50,
				HeldRuns:              100_000,
				ForeachItems:          10_000,
			},
			Features: Features{SignatureSchemes: []string{schemeAll}, Foreach: true, Callbacks: true},
		},
	}
}
