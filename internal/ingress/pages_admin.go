package ingress

import (
	"context"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"aias/internal/account"
	"aias/internal/audit"
	"aias/internal/auth"
	"aias/internal/billing"
	"aias/internal/diagnostics"
	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/secret"
)

// The console's administration pages: secrets, API keys, members and
// invitations, the audit log, plan and billing, diagnostics. Each reads
// what its API route reads; each write is a fetch of that route. Secret
// values, keys and invitation links appear only in the answer of the call
// that made them, shown once by the page's script, never in a page.

func (s *Server) secretsPage(c echo.Context) error {
	list, err := read(s, c, secret.List)
	if err != nil {
		return err
	}
	return s.page(c, "secrets.html", "Secrets", "secrets", list)
}

// keysData is the API keys page.
type keysData struct {
	Keys    []auth.APIKey
	Roles   []auth.Role // the roles the caller may mint
	NextURL string
	Later   bool // a page after the first: it links back to the first
}

func (s *Server) keysPage(c echo.Context) error {
	p, err := pageRequest(c)
	if err != nil {
		return err
	}
	var d keysData
	var next string
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		d.Keys, next, err = auth.ListKeys(ctx, q, p)
		return err
	})
	if err != nil {
		return err
	}
	d.Roles, d.Later = rolesUpTo(principal(c).Role), p.After != nil
	if next != "" {
		d.NextURL = "/api-keys?" + url.Values{"cursor": {next}}.Encode()
	}
	return s.page(c, "apikeys.html", "API keys", "api-keys", d)
}

// rolesUpTo lists the roles from viewer up to r: nobody grants above their own.
func rolesUpTo(r auth.Role) []auth.Role {
	var out []auth.Role
	for _, x := range []auth.Role{auth.Viewer, auth.Member, auth.Admin, auth.Owner} {
		if r.AtLeast(x) {
			out = append(out, x)
		}
	}
	return out
}

// membersData is the members page.
type membersData struct {
	Members []account.Member
	Invites []account.Invitation // pending ones; admins only
	Roles   []auth.Role
	Me      string // the caller's user id
}

func (s *Server) membersPage(c echo.Context) error {
	if s.accounts == nil {
		return errNoAccounts
	}
	ctx := c.Request().Context()
	by := asPerson(c)
	var d membersData
	var err error
	if d.Members, err = s.accounts.ListMembers(ctx, by); err != nil {
		return err
	}
	if by.Role.AtLeast(auth.Admin) {
		all, err := s.accounts.ListInvites(ctx, by)
		if err != nil {
			return err
		}
		for _, in := range all {
			if in.AcceptedAt == nil && in.RevokedAt == nil && in.ExpiresAt.After(time.Now()) {
				d.Invites = append(d.Invites, in)
			}
		}
	}
	d.Roles = rolesUpTo(by.Role)
	d.Me = by.UserID.String()
	return s.page(c, "members.html", "Members", "members", d)
}

// auditData is the audit log page.
type auditData struct {
	Entries []audit.Entry
	NextURL string
	Later   bool // a page after the first
}

func (s *Server) auditPage(c echo.Context) error {
	p, err := pageRequest(c)
	if err != nil {
		return err
	}
	var d auditData
	var next string
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		d.Entries, next, err = audit.List(ctx, q, p)
		return err
	})
	if err != nil {
		return err
	}
	d.Later = p.After != nil
	if next != "" {
		d.NextURL = "/audit?" + url.Values{"cursor": {next}}.Encode()
	}
	return s.page(c, "audit.html", "Audit log", "audit", d)
}

// billingData is the plan and billing page.
type billingData struct {
	Plan         plan.Plan
	Usage        entitlement.Usage
	Plans        []plan.Plan
	Subscription *billing.Subscription
	Billing      bool // Stripe is configured
}

func (s *Server) billingPage(c echo.Context) error {
	var d billingData
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		tenantID := principal(c).TenantID
		if d.Plan, err = s.ent.PlanOf(ctx, q, tenantID); err != nil {
			return err
		}
		d.Usage, err = s.ent.UsageOf(ctx, q, tenantID, time.Now())
		return err
	})
	if err != nil {
		return err
	}
	d.Plans = s.ent.Plans.All()
	if s.billing != nil && s.billing.Cfg.APIKey != "" {
		d.Billing = true
		sub, err := s.billing.Subscription(c.Request().Context(), principal(c).TenantID)
		switch {
		case err == nil:
			d.Subscription = &sub
		case !errs.Is(err, errs.NotFound):
			return err
		}
	}
	return s.page(c, "billing.html", "Plan and billing", "billing", d)
}

// diagnosticsData is the diagnostics page.
type diagnosticsData struct {
	Report diagnostics.Report
	Usage  entitlement.Usage
	Oldest string
}

func (s *Server) diagnosticsPage(c echo.Context) error {
	var d diagnosticsData
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		now := time.Now()
		if d.Report, err = diagnostics.Of(ctx, q, now); err != nil {
			return err
		}
		d.Usage, err = s.ent.UsageOf(ctx, q, principal(c).TenantID, now)
		return err
	})
	if err != nil {
		return err
	}
	if o := d.Report.OldestQueuedSeconds; o != nil {
		d.Oldest = time.Duration(*o * float64(time.Second)).Round(time.Second).String()
	}
	return s.page(c, "diagnostics.html", "Diagnostics", "diagnostics", d)
}
