package ingress

import (
	"testing"

	"aias/internal/entitlement"
)

// A plan's limit of -1 is no limit; 0 is none at all, shown as used up.
func TestTheOverviewsMetersReadMinusOneAsUnlimitedAndZeroAsNone(t *testing.T) {
	t.Parallel()
	limits := map[string]int64{"runs_per_month": 0, "workflows": -1, "webhook_endpoints": 4}
	got := meters(limits, entitlement.Usage{Workflows: 7, Endpoints: 1})
	runs, workflows, endpoints, artifacts := got[0], got[1], got[2], got[3]
	if runs.Unlimited || runs.Limit != 0 || !runs.OverBudget || runs.Percent != 100 {
		t.Errorf("runs with a limit of 0 = %+v, want none allowed (over budget, 100%%)", runs)
	}
	if !workflows.Unlimited {
		t.Errorf("workflows with a limit of -1 = %+v, want unlimited", workflows)
	}
	if endpoints.Unlimited || endpoints.Limit != 4 || endpoints.Percent != 25 || endpoints.OverBudget {
		t.Errorf("endpoints, 1 of 4 = %+v, want 25%%", endpoints)
	}
	if !artifacts.Unlimited {
		t.Errorf("a limit the plan does not name = %+v, want unlimited", artifacts)
	}
}
