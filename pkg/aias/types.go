package aias

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The types below are the document's schemas (docs/openapi.yaml,
// components/schemas); a test holds their JSON fields to the schemas'
// properties, both ways.

// Role is an API key's role; each includes the ones before it.
type Role string

// The roles, least first.
const (
	RoleViewer Role = "viewer"
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
	RoleOwner  Role = "owner"
)

// RunStatus is where a run is in its life.
type RunStatus string

// The run statuses: held (over the monthly quota), queued, delayed (a delay
// step or a retry waits), running; then one of the four final ones.
const (
	RunHeld      RunStatus = "held"
	RunQueued    RunStatus = "queued"
	RunDelayed   RunStatus = "delayed"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunDead      RunStatus = "dead"
	RunCanceled  RunStatus = "canceled"
)

// Final reports whether a run in this status has ended.
func (s RunStatus) Final() bool {
	switch s {
	case RunSucceeded, RunFailed, RunDead, RunCanceled:
		return true
	}
	return false
}

// Version selects the workflow version a replay or re-drive runs.
const (
	// VersionPinned runs each run's own version (the default).
	VersionPinned = "pinned"
	// VersionCurrent runs the workflow's current version.
	VersionCurrent = "current"
)

// Duration is a time.Duration written as a Go duration string ("24h") in
// JSON; a JSON number is read as seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "1h30m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil {
			return fmt.Errorf("duration %s: want a string or seconds", b)
		}
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Ptr returns a pointer to v, for optional request fields:
// RotateEndpointRequest{Grace: aias.Ptr(aias.Duration(time.Hour))}.
func Ptr[T any](v T) *T { return &v }

// Page is one page of a list, newest first.
type Page[T any] struct {
	// Data holds the page's items.
	Data []T `json:"data"`
	// NextCursor continues the list; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// list is a whole (not paged) list's wire form.
type list[T any] struct {
	Data []T `json:"data"`
}

// --- account -----------------------------------------------------------

// SignupRequest signs up a person and their tenant.
type SignupRequest struct {
	Email      string `json:"email"`
	TenantName string `json:"tenant_name"`
}

// Signup is a new tenant with its first owner key, shown only here.
type Signup struct {
	TenantID string `json:"tenant_id"`
	UserID   string `json:"user_id"`
	APIKeyID string `json:"api_key_id"`
	APIKey   string `json:"api_key"`
}

// --- people: sign-ins, invitations, members ----------------------------

// PersonSignupRequest signs up a person with a password and the tenant
// they own (signUpPerson).
type PersonSignupRequest struct {
	Email string `json:"email"`
	// Password is at least 12 characters, not a common password.
	Password   string `json:"password"`
	TenantName string `json:"tenant_name"`
}

// LoginRequest signs a person in.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// TenantID picks which of the person's tenants to act for; empty: the
	// oldest membership.
	TenantID string `json:"tenant_id,omitempty"`
}

// SignedIn is a new sign-in: who, in which tenant, until when, and the
// CSRF token its state-changing requests carry.
type SignedIn struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	TenantID  string    `json:"tenant_id"`
	Role      Role      `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
	CSRFToken string    `json:"csrf_token"`
}

// Session is one live sign-in of the calling person.
type Session struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	// Current marks the sign-in that asked.
	Current bool `json:"current"`
}

// InviteRequest invites an email to the tenant with a role.
type InviteRequest struct {
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// Invitation is an invitation's record; never its link.
type Invitation struct {
	ID         string     `json:"id"`
	Email      string     `json:"email"`
	Role       Role       `json:"role"`
	InvitedBy  *string    `json:"invited_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// CreatedInvitation is a new invitation with its one-time link, shown
// only now.
type CreatedInvitation struct {
	Invitation
	// Link is <AIAS_PUBLIC_URL>/invite?token=…
	Link string `json:"link"`
	// Sent says whether it was also emailed.
	Sent bool `json:"sent"`
}

// TokenPassword is a link's token with a password: accepting an
// invitation, or completing a password reset.
type TokenPassword struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// Member is a person of the tenant and their role.
type Member struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// passwordResetRequest is requestPasswordReset's body.
type passwordResetRequest struct {
	Email string `json:"email"`
}

// memberRoleRequest is changeMemberRole's body.
type memberRoleRequest struct {
	Role Role `json:"role"`
}

// endedSignIns is logOutEverywhere's answer.
type endedSignIns struct {
	Ended int `json:"ended"`
}

// Me is the calling key: its tenant, plan, role and usage.
type Me struct {
	TenantID   string       `json:"tenant_id"`
	TenantName string       `json:"tenant_name"`
	Plan       string       `json:"plan"`
	Limits     PlanLimits   `json:"limits"`
	Features   PlanFeatures `json:"features"`
	Role       Role         `json:"role"`
	KeyID      string       `json:"key_id"`
	Usage      Usage        `json:"usage"`
}

// Usage is this calendar month's (UTC) usage against the plan's limits.
type Usage struct {
	Plan                    string     `json:"plan"`
	Limits                  PlanLimits `json:"limits"`
	PeriodStart             time.Time  `json:"period_start"`
	ResetsAt                time.Time  `json:"resets_at"`
	Workflows               int64      `json:"workflows"`
	WebhookEndpoints        int64      `json:"webhook_endpoints"`
	RunsThisPeriod          int64      `json:"runs_this_period"`
	ArtifactBytesThisPeriod int64      `json:"artifact_bytes_this_period"`
}

// Plan is one plan of the catalogue.
type Plan struct {
	Name           string       `json:"name"`
	DisplayName    string       `json:"display_name"`
	Limits         PlanLimits   `json:"limits"`
	Features       PlanFeatures `json:"features"`
	StripePriceIDs []string     `json:"stripe_price_ids"`
}

// PlanLimits are a plan's quotas; -1 means unlimited for counts and volumes.
type PlanLimits struct {
	Workflows             int64 `json:"workflows"`
	WebhookEndpoints      int64 `json:"webhook_endpoints"`
	RunsPerMonth          int64 `json:"runs_per_month"`
	StepsPerWorkflow      int64 `json:"steps_per_workflow"`
	MaxPayloadBytes       int64 `json:"max_payload_bytes"`
	ArtifactBytesPerMonth int64 `json:"artifact_bytes_per_month"`
	RetentionDays         int64 `json:"retention_days"`
	Concurrency           int64 `json:"concurrency"`
	HeldRuns              int64 `json:"held_runs"`
	ForeachItems          int64 `json:"foreach_items"`
}

// PlanFeatures are what a plan allows beyond counts.
type PlanFeatures struct {
	// SignatureSchemes beyond token the plan may use; "*" for all.
	SignatureSchemes []string `json:"signature_schemes"`
	Foreach          bool     `json:"foreach"`
	Callbacks        bool     `json:"callbacks"`
}

// --- workflows ---------------------------------------------------------

// WorkflowDefinition is a workflow definition (docs/workflows.md).
type WorkflowDefinition struct {
	Name           string         `json:"name"`
	Description    string         `json:"description,omitempty"`
	MaxAttempts    int            `json:"max_attempts,omitempty"`
	Retry          *WorkflowRetry `json:"retry,omitempty"`
	Timeout        string         `json:"timeout,omitempty"`
	ConcurrencyKey string         `json:"concurrency_key,omitempty"`
	OnFinish       *OnFinish      `json:"on_finish,omitempty"`
	Schedule       *Schedule      `json:"schedule,omitempty"`
	Steps          []WorkflowStep `json:"steps"`
}

// WorkflowStep is one step of a definition.
type WorkflowStep struct {
	Name    string         `json:"name"`
	Type    string         `json:"type"`
	With    map[string]any `json:"with,omitempty"`
	Retry   *WorkflowRetry `json:"retry,omitempty"`
	Timeout string         `json:"timeout,omitempty"`
	// Cases and Default are a switch step's branches.
	Cases   []SwitchCase   `json:"cases,omitempty"`
	Default []WorkflowStep `json:"default,omitempty"`
	// Steps is a foreach step's body.
	Steps []WorkflowStep `json:"steps,omitempty"`
}

// SwitchCase is a switch step's branch: its steps run when When holds.
type SwitchCase struct {
	When  string         `json:"when"`
	Steps []WorkflowStep `json:"steps"`
}

// WorkflowRetry is a workflow's or a step's retry policy (the document's
// RetryPolicy); zero fields inherit.
type WorkflowRetry struct {
	MaxAttempts int    `json:"max_attempts,omitempty"`
	Backoff     string `json:"backoff,omitempty"`
	MaxBackoff  string `json:"max_backoff,omitempty"`
	Jitter      *bool  `json:"jitter,omitempty"`
}

// OnFinish posts the run's outcome to URL, signed with the tenant's
// callback secret (see VerifyCallback).
type OnFinish struct {
	URL      string      `json:"url"`
	Statuses []RunStatus `json:"statuses,omitempty"`
}

// Schedule starts a run on a cron schedule.
type Schedule struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone,omitempty"`
	CatchUp  string `json:"catch_up,omitempty"`
}

// Workflow is a workflow with its current definition.
type Workflow struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Version    int                `json:"version"`
	Enabled    bool               `json:"enabled"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
	Definition WorkflowDefinition `json:"definition"`
}

// WorkflowVersion is one immutable version of a workflow.
type WorkflowVersion struct {
	WorkflowID string             `json:"workflow_id"`
	Version    int                `json:"version"`
	CreatedAt  time.Time          `json:"created_at"`
	Definition WorkflowDefinition `json:"definition"`
}

// --- endpoints ---------------------------------------------------------

// VerificationScheme is how deliveries to an endpoint prove their sender
// (docs/senders.md).
type VerificationScheme string

// The verification schemes.
const (
	SchemeToken            VerificationScheme = "token"
	SchemeStandardWebhooks VerificationScheme = "standard-webhooks"
	SchemeStripe           VerificationScheme = "stripe"
	SchemeGitHub           VerificationScheme = "github"
	SchemeSlack            VerificationScheme = "slack"
	SchemeShopify          VerificationScheme = "shopify"
	SchemeHMAC             VerificationScheme = "hmac"
)

// VerificationSettings is an endpoint's verification, without secrets.
type VerificationSettings struct {
	Scheme           VerificationScheme `json:"scheme"`
	Tolerance        string             `json:"tolerance,omitempty"`
	Header           string             `json:"header,omitempty"`
	Algorithm        string             `json:"algorithm,omitempty"`
	Encoding         string             `json:"encoding,omitempty"`
	Prefix           string             `json:"prefix,omitempty"`
	TimestampHeader  string             `json:"timestamp_header,omitempty"`
	DeliveryIDHeader string             `json:"delivery_id_header,omitempty"`
}

// VerificationInput sets an endpoint's verification. Scheme defaults to
// token; Secret takes a provider-issued signing secret (without it, AIAS
// generates one). The hmac fields apply to that scheme only.
type VerificationInput struct {
	Scheme           VerificationScheme `json:"scheme,omitempty"`
	Secret           string             `json:"secret,omitempty"`
	Tolerance        Duration           `json:"tolerance,omitempty"`
	Header           string             `json:"header,omitempty"`
	Algorithm        string             `json:"algorithm,omitempty"`
	Encoding         string             `json:"encoding,omitempty"`
	Prefix           string             `json:"prefix,omitempty"`
	TimestampHeader  string             `json:"timestamp_header,omitempty"`
	DeliveryIDHeader string             `json:"delivery_id_header,omitempty"`
}

// SigningSecret is a live signing secret, by its last four characters.
type SigningSecret struct {
	ID        string     `json:"id"`
	Hint      string     `json:"hint"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// Endpoint is a webhook endpoint; never its token or secrets.
type Endpoint struct {
	ID           string               `json:"id"`
	TenantID     string               `json:"tenant_id"`
	WorkflowID   string               `json:"workflow_id"`
	Name         string               `json:"name"`
	TokenPrefix  string               `json:"token_prefix"`
	Verification VerificationSettings `json:"verification"`
	// MaxBodyBytes is the body limit; nil means the operator's default.
	MaxBodyBytes *int64    `json:"max_body_bytes"`
	Enabled      bool      `json:"enabled"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// SigningSecrets are the live secrets (GetEndpoint only).
	SigningSecrets []SigningSecret `json:"signing_secrets,omitempty"`
}

// IssuedEndpoint is an endpoint as created, updated or rotated, with what
// the call issued: shown only in this answer.
type IssuedEndpoint struct {
	Endpoint
	// URL is the intake URL, when a token was issued.
	URL string `json:"url,omitempty"`
	// Token is a new URL token.
	Token string `json:"token,omitempty"`
	// SigningSecret is a new signing secret.
	SigningSecret string `json:"signing_secret,omitempty"`
}

// CreateEndpointRequest makes a webhook endpoint for a workflow.
type CreateEndpointRequest struct {
	WorkflowID   string             `json:"workflow_id"`
	Name         string             `json:"name"`
	Verification *VerificationInput `json:"verification,omitempty"`
	MaxBodyBytes *int64             `json:"max_body_bytes,omitempty"`
}

// UpdateEndpointRequest changes the fields that are set.
type UpdateEndpointRequest struct {
	Name    *string `json:"name,omitempty"`
	Enabled *bool   `json:"enabled,omitempty"`
	// MaxBodyBytes 0 restores the operator's default.
	MaxBodyBytes *int64 `json:"max_body_bytes,omitempty"`
	// Verification replaces the scheme or the secret, at once.
	Verification *VerificationInput `json:"verification,omitempty"`
}

// RotateEndpointRequest rotates an endpoint's signing secret and, with
// Token (always, for the token scheme), its URL token.
type RotateEndpointRequest struct {
	// Grace is how long the previous secret and token keep working,
	// 0s..720h; nil: 24h.
	Grace *Duration `json:"grace,omitempty"`
	// Secret is a provider-issued replacement; empty: AIAS generates one.
	Secret string `json:"secret,omitempty"`
	Token  bool   `json:"token,omitempty"`
}

// RejectionReason is why a delivery was refused.
type RejectionReason string

// Rejection is one refused delivery.
type Rejection struct {
	ID         string          `json:"id"`
	EndpointID string          `json:"endpoint_id"`
	Reason     RejectionReason `json:"reason"`
	Detail     string          `json:"detail"`
	RequestID  string          `json:"request_id"`
	SourceIP   string          `json:"source_ip"`
	CreatedAt  time.Time       `json:"created_at"`
}

// --- runs --------------------------------------------------------------

// RunAccepted is a run that was started (or, with Duplicate, had been).
type RunAccepted struct {
	RunID     string    `json:"run_id"`
	Status    RunStatus `json:"status"`
	Duplicate bool      `json:"duplicate,omitempty"`
}

// Delivery is the intake's answer to a delivery: the run (RunAccepted's
// fields), or Slack's handshake Challenge.
type Delivery struct {
	RunID     string    `json:"run_id,omitempty"`
	Status    RunStatus `json:"status,omitempty"`
	Duplicate bool      `json:"duplicate,omitempty"`
	Challenge string    `json:"challenge,omitempty"`
}

// TriggerKind is what started a run.
type TriggerKind string

// The trigger kinds.
const (
	TriggerWebhook  TriggerKind = "webhook"
	TriggerManual   TriggerKind = "manual"
	TriggerReplay   TriggerKind = "replay"
	TriggerSchedule TriggerKind = "schedule"
)

// Trigger is what started a run. Headers, Query and Body are set only by
// GetRun.
type Trigger struct {
	Kind        TriggerKind       `json:"kind"`
	EndpointID  string            `json:"endpoint_id,omitempty"`
	DeliveryID  string            `json:"delivery_id,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Query       map[string]string `json:"query,omitempty"`
	// Body is the delivery's body: JSON when it was JSON, else a JSON string.
	Body       json.RawMessage `json:"body,omitempty"`
	ReceivedAt time.Time       `json:"received_at"`
}

// Run is one execution of a workflow.
type Run struct {
	ID              string     `json:"id"`
	Status          RunStatus  `json:"status"`
	Attempt         int        `json:"attempt"`
	MaxAttempts     int        `json:"max_attempts"`
	WorkflowID      string     `json:"workflow_id"`
	WorkflowVersion int        `json:"workflow_version"`
	Trigger         Trigger    `json:"trigger"`
	Error           *string    `json:"error"`
	RequestID       string     `json:"request_id,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	// Steps is set by ListRuns with RunFilter.ExpandSteps.
	Steps []RunStep `json:"steps,omitempty"`
	// ReplayOf is the run this one replays.
	ReplayOf string `json:"replay_of,omitempty"`
}

// StepStatus is a step record's outcome.
type StepStatus string

// RunStep is the record of one step of one run.
type RunStep struct {
	Position   int             `json:"position"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Status     StepStatus      `json:"status"`
	Attempt    int             `json:"attempt"`
	Output     json.RawMessage `json:"output"`
	Error      *string         `json:"error"`
	Logs       []LogLine       `json:"logs"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
	DurationMS int64           `json:"duration_ms"`
	Failures   int             `json:"failures"`
}

// LogLine is one line a step logged.
type LogLine struct {
	Time    time.Time      `json:"time"`
	Level   string         `json:"level"`
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// RunControlRequest chooses the version a replay or re-drive runs
// (VersionPinned, the default, or VersionCurrent).
type RunControlRequest struct {
	Version string `json:"version,omitempty"`
}

// CanceledRun is a run after CancelRun.
type CanceledRun struct {
	ID     string    `json:"id"`
	Status RunStatus `json:"status"`
}

// BulkReplayRequest selects the runs ReplayRuns replays, oldest first
// (docs/api.md, bulk run control).
type BulkReplayRequest struct {
	// Status is required: succeeded, failed, dead and/or canceled.
	Status        []RunStatus `json:"status"`
	WorkflowID    string      `json:"workflow_id,omitempty"`
	CreatedAfter  *time.Time  `json:"created_after,omitempty"`
	CreatedBefore *time.Time  `json:"created_before,omitempty"`
	Version       string      `json:"version,omitempty"`
	// Limit bounds the runs handled by this call, 1..10000 (0: 1000).
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// BulkRedriveRequest selects the runs RedriveRuns re-drives; Status
// defaults to failed and dead.
type BulkRedriveRequest struct {
	Status        []RunStatus `json:"status,omitempty"`
	WorkflowID    string      `json:"workflow_id,omitempty"`
	CreatedAfter  *time.Time  `json:"created_after,omitempty"`
	CreatedBefore *time.Time  `json:"created_before,omitempty"`
	Version       string      `json:"version,omitempty"`
	Limit         int         `json:"limit,omitempty"`
	Cursor        string      `json:"cursor,omitempty"`
}

// BulkResult is what one bulk call did.
type BulkResult struct {
	// Count is the runs replayed (new runs) or re-driven.
	Count int `json:"count"`
	// Held counts the replays held over the quota (ReplayRuns only; nil
	// for a re-drive).
	Held *int `json:"held,omitempty"`
	// More says runs after the last one handled still match; continue
	// with NextCursor as the request's Cursor.
	More       bool   `json:"more"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// --- artifacts -----------------------------------------------------------

// Artifact is an artifact's metadata.
type Artifact struct {
	ID           string    `json:"id"`
	RunID        string    `json:"run_id"`
	StepPosition int       `json:"step_position"`
	Name         string    `json:"name"`
	ContentType  string    `json:"content_type"`
	SizeBytes    int64     `json:"size_bytes"`
	SHA256       string    `json:"sha256"`
	CreatedAt    time.Time `json:"created_at"`
}

// --- keys, secrets, audit ------------------------------------------------

// APIKey is a key's record; never the key.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Role       Role       `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// CreatedAPIKey is a minted key with the key itself, shown only now.
type CreatedAPIKey struct {
	APIKey
	Key string `json:"key"`
}

// CreateAPIKeyRequest mints a key.
type CreateAPIKeyRequest struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Secret is a tenant secret's record; never its value.
type Secret struct {
	Name      string    `json:"name"`
	Last4     string    `json:"last4"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// putSecretRequest is PutSecret's body.
type putSecretRequest struct {
	Value string `json:"value"`
}

// RotateCallbackSecretRequest sets the grace of the previous callback
// secret: how long it keeps signing beside the new one, 0s..720h (nil: 24h).
type RotateCallbackSecretRequest struct {
	Grace *Duration `json:"grace,omitempty"`
}

// CallbackSecret is the state of the tenant's callback signing secret.
type CallbackSecret struct {
	Configured        bool       `json:"configured"`
	ID                string     `json:"id,omitempty"`
	Last4             string     `json:"last4,omitempty"`
	CreatedAt         *time.Time `json:"created_at,omitempty"`
	PreviousInGrace   bool       `json:"previous_in_grace"`
	PreviousExpiresAt *time.Time `json:"previous_expires_at,omitempty"`
}

// IssuedCallbackSecret is a new callback secret with its whsec_ value,
// shown only now.
type IssuedCallbackSecret struct {
	CallbackSecret
	Secret string `json:"secret"`
}

// AuditEntry is one change made through the API.
type AuditEntry struct {
	ID          string    `json:"id"`
	ActorKeyID  *string   `json:"actor_key_id"`
	ActorUserID *string   `json:"actor_user_id"`
	Action      string    `json:"action"`
	ObjectType  string    `json:"object_type"`
	ObjectID    string    `json:"object_id"`
	RequestID   string    `json:"request_id"`
	CreatedAt   time.Time `json:"created_at"`
}

// Diagnostics is a tenant's waiting, failing and refused work.
type Diagnostics struct {
	Runs                DiagnosticsRuns  `json:"runs"`
	OldestQueuedSeconds *float64         `json:"oldest_queued_seconds"`
	RecentFailures      []FailureGroup   `json:"recent_failures"`
	Rejections          []RejectionCount `json:"rejections"`
	Since               time.Time        `json:"since"`
	Usage               Usage            `json:"usage"`
}

// DiagnosticsRuns counts runs by waiting state.
type DiagnosticsRuns struct {
	Queued  int64 `json:"queued"`
	Running int64 `json:"running"`
	Held    int64 `json:"held"`
	Delayed int64 `json:"delayed"`
	Dead    int64 `json:"dead"`
}

// FailureGroup is failed and dead runs with one error.
type FailureGroup struct {
	Error string    `json:"error"`
	Count int64     `json:"count"`
	Last  time.Time `json:"last"`
}

// RejectionCount is refused deliveries with one reason.
type RejectionCount struct {
	Reason RejectionReason `json:"reason"`
	Count  int64           `json:"count"`
}

// --- billing and meta ------------------------------------------------------

// CheckoutRequest buys a plan through Stripe Checkout.
type CheckoutRequest struct {
	Plan  string `json:"plan"`
	Email string `json:"email,omitempty"`
}

// SessionURL is where to send the customer.
type SessionURL struct {
	URL string `json:"url"`
}

// Subscription is the tenant's Stripe subscription as Stripe last reported it.
type Subscription struct {
	TenantID             string     `json:"tenant_id"`
	StripeCustomerID     string     `json:"stripe_customer_id"`
	StripeSubscriptionID *string    `json:"stripe_subscription_id"`
	PriceID              string     `json:"price_id"`
	Status               string     `json:"status"`
	CurrentPeriodEnd     *time.Time `json:"current_period_end"`
	GraceUntil           *time.Time `json:"grace_until"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

// subscriptionState is GetSubscription's wire form.
type subscriptionState struct {
	Subscription *Subscription `json:"subscription"`
}

// StripeReceipt is the answer to a Stripe event.
type StripeReceipt struct {
	Received  bool `json:"received"`
	Duplicate bool `json:"duplicate"`
}

// Health is the liveness answer.
type Health struct {
	Status string `json:"status"`
}
