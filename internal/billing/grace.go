package billing

import (
	"context"
	"fmt"

	"aias/internal/postgres"
)

// ExpireGrace moves every tenant whose grace period has ended (grace_until
// at or before Postgres's clock) to the default plan and ends its grace. It
// returns how many tenants moved. The scheduler calls it periodically; it
// goes through the SECURITY DEFINER function aias_billing_expire_grace, as
// it serves every tenant. The function takes nothing from its caller: the
// time is Postgres's, and the plan is the one a new tenant starts on (the
// stored name "free"; a catalogue without it resolves the name to its own
// default, see entitlement.Checker.Resolve).
func (s *Service) ExpireGrace(ctx context.Context) (int, error) {
	var n int
	err := s.DB.InTx(ctx, func(q postgres.Querier) error {
		return q.GetContext(ctx, &n, `SELECT count(*) FROM aias_billing_expire_grace()`)
	})
	if err != nil {
		return 0, fmt.Errorf("expire grace: %w", postgres.Classify(err))
	}
	return n, nil
}
