package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"aias/internal/errs"
	"aias/internal/plan"
	"aias/internal/postgres"
)

// DefaultGrace is how long a tenant whose payment failed keeps its plan.
const DefaultGrace = 72 * time.Hour

// Config is the billing configuration.
type Config struct {
	WebhookSecret   string        // the Stripe endpoint's signing secret (whsec_...)
	APIKey          string        // secret API key (sk_...)
	APIBase         string        // Stripe API base URL; "" = Stripe itself (stripe-mock in tests)
	SuccessURL      string        // where Checkout returns after payment
	CancelURL       string        // where Checkout returns when abandoned
	PortalReturnURL string        // where the billing portal returns
	Grace           time.Duration // how long past-due tenants keep their plan; 0 = DefaultGrace
}

// Service applies Stripe events and opens Stripe sessions. Fill the exported
// fields; the Stripe client is built on first use. Safe for concurrent use.
type Service struct {
	DB    *postgres.DB
	Plans *plan.Catalog
	Cfg   Config
	Now   func() time.Time // nil = time.Now

	once sync.Once
	api  *client.API
}

// Subscription is a tenant's billing state.
type Subscription struct {
	TenantID             uuid.UUID  `db:"tenant_id" json:"tenant_id"`
	StripeCustomerID     string     `db:"stripe_customer_id" json:"stripe_customer_id"`
	StripeSubscriptionID *string    `db:"stripe_subscription_id" json:"stripe_subscription_id"`
	PriceID              string     `db:"price_id" json:"price_id"`
	Status               string     `db:"status" json:"status"`
	CurrentPeriodEnd     *time.Time `db:"current_period_end" json:"current_period_end"`
	GraceUntil           *time.Time `db:"grace_until" json:"grace_until"`
	LastEventCreated     *time.Time `db:"last_event_created" json:"-"`
	UpdatedAt            time.Time  `db:"updated_at" json:"updated_at"`
}

const subscriptionColumns = `tenant_id, stripe_customer_id, stripe_subscription_id, price_id, status,
	current_period_end, grace_until, last_event_created, updated_at`

// Subscription returns the tenant's subscription; NotFound when it has none.
func (s *Service) Subscription(ctx context.Context, tenantID uuid.UUID) (Subscription, error) {
	sub, found, err := s.read(ctx, tenantID)
	if err != nil {
		return Subscription{}, err
	}
	if !found {
		return Subscription{}, errs.NotFoundf("no subscription")
	}
	return sub, nil
}

func getSubscription(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, forUpdate bool) (Subscription, bool, error) {
	var sub Subscription
	query := `SELECT ` + subscriptionColumns + ` FROM subscriptions WHERE tenant_id = $1`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	err := q.GetContext(ctx, &sub, query, tenantID)
	if postgres.IsNoRows(err) {
		return Subscription{}, false, nil
	}
	if err != nil {
		return Subscription{}, false, fmt.Errorf("read subscription: %w", postgres.Classify(err))
	}
	return sub, true, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) grace() time.Duration {
	if s.Cfg.Grace > 0 {
		return s.Cfg.Grace
	}
	return DefaultGrace
}

// client returns the Stripe API client, built once from Cfg.
func (s *Service) client() *client.API {
	s.once.Do(func() {
		httpClient := &http.Client{Timeout: 30 * time.Second}
		backend := func(t stripe.SupportedBackend) stripe.Backend {
			cfg := &stripe.BackendConfig{
				HTTPClient:    httpClient,
				LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}, // errors are returned, not logged here
			}
			if s.Cfg.APIBase != "" {
				cfg.URL = stripe.String(s.Cfg.APIBase)
			}
			return stripe.GetBackendWithConfig(t, cfg)
		}
		s.api = client.New(s.Cfg.APIKey, &stripe.Backends{
			API:     backend(stripe.APIBackend),
			Connect: backend(stripe.ConnectBackend),
			Uploads: backend(stripe.UploadsBackend),
		})
	})
	return s.api
}

// stripeError classifies an error of the Stripe API.
func stripeError(err error, what string) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode > 0 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests {
		// Our request was refused: a configuration problem (key, price id, URLs).
		return errs.Wrap(err, errs.Internal, "billing_error", what+" failed")
	}
	return errs.Wrap(err, errs.Unavailable, "billing_unavailable", "the payment provider is unavailable; try again later")
}
