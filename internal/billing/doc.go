// Package billing connects AIAS tenants to Stripe subscriptions: it applies
// Stripe's webhook events to each tenant's subscription and plan, drops
// tenants whose payment failed to the default plan once their grace period
// ends, and opens Checkout and billing-portal sessions.
//
// # Webhook events
//
// HandleWebhook takes the raw request body and the Stripe-Signature header.
// The signature is verified with stripe-go's webhook package (default
// timestamp tolerance). Events rendered with another Stripe API version are
// verified, recorded and applied as far as their shape allows
// (IgnoreAPIVersionMismatch); the Stripe webhook endpoint should nevertheless
// be pinned to the SDK's version, stripe.APIVersion (2023-10-16 for
// stripe-go v76), so objects always decode as expected.
//
// Every verified event is recorded in stripe_events by its id, in the same
// transaction that applies it: a redelivered id is answered as success and
// not applied again; an application that fails on a transient error records
// nothing, so Stripe's redelivery tries again. Events are applied in the
// order of the subscription's state, not of arrival: each tenant's
// subscriptions row keeps the `created` time of the newest applied event,
// and an older event is recorded but not applied. Events of the same second
// are applied in arrival order, except that an ended subscription
// (canceled, incomplete_expired) never comes back to life and a
// customer.subscription.created never overrides a later state of the same
// subscription.
//
// The tenant of an event: checkout.session.completed carries it as
// client_reference_id and links the Stripe subscription to it, but only when
// the session is one AIAS opened for that tenant: its metadata.tenant_id
// names the same tenant and its customer is the one Checkout recorded for
// the tenant when it created the session. Payment Links and pricing tables
// let a buyer set client_reference_id to any tenant id, so without both
// checks anyone could relink another tenant's billing; such an event is
// recorded as not applied, with the reason, and logged as a warning.
// Subscription and invoice events name the customer, looked up among the
// linked customers, and otherwise the subscription's metadata tenant_id
// (which Checkout sets), so a subscription event arriving before the
// checkout event still finds its tenant.
//
// What each event does to the tenant:
//
//   - customer.subscription.created/updated, status active or trialing: the
//     plan that buys the subscription's price (plan.Catalog.ForPrice); the
//     grace period ends.
//   - status past_due or unpaid: the plan is kept, and a grace period starts
//     (Config.Grace, 72h by default) unless one is running.
//   - status canceled, incomplete_expired or paused, and
//     customer.subscription.deleted: the default plan at once. Stripe sends
//     deleted when the subscription has ended, which is what Stripe's
//     lifecycle says: a cancel at period end keeps the subscription active
//     (cancel_at_period_end set) and its plan until the period is over,
//     when Stripe deletes it; an immediate cancel (a refund, fraud) deletes
//     it at once.
//   - status incomplete: recorded on the subscription; plan unchanged.
//   - invoice.payment_failed: a grace period starts unless one is running.
//   - invoice.paid: the grace period ends.
//
// Other event types are recorded and not applied. Events that cannot be
// applied (no tenant found, a price that belongs to no plan, a customer
// linked to another tenant, a checkout the tenant did not open, a terminal
// event of a subscription that is not the tenant's current one) are
// recorded with applied = false and the reason in stripe_events.error, and
// answered as success: redelivery would not change the outcome.
//
// # Grace
//
// ExpireGrace, run periodically by the scheduler, moves every tenant whose
// grace_until has passed to the default plan, through the SECURITY DEFINER
// function aias_billing_expire_grace (the scheduler serves every tenant).
// Only past-due subscriptions and failed payments start a grace.
//
// # What the SECURITY DEFINER functions trust
//
// They run as the schema owner, so they take nothing from the caller that
// would reach past the caller's own tenant (migration 00019):
// aias_billing_expire_grace reads the time from Postgres and drops tenants
// to the plan a new tenant gets; aias_stripe_event_record reads an event's
// id, type and time from its payload; aias_stripe_event_done marks only the
// event recorded in the same transaction, filed under that transaction's
// tenant; aias_set_plan changes only the transaction's own tenant, to a
// well-formed plan name.
//
// # Plans and the database
//
// The subscription row is written under row-level security in a tenant
// transaction (postgres.DB.InTenantTx). The application role has no UPDATE on
// tenants, so the plan changes through the SECURITY DEFINER function
// aias_set_plan in that same transaction; the function refuses any tenant
// but the one the transaction is scoped to, so it cannot move another
// tenant's plan.
//
// # Stripe API
//
// Checkout and Portal call the Stripe API through a per-Service client; with
// Config.APIBase set (stripe-mock in tests) it never reaches the live API.
package billing
