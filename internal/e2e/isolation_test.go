package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/ingress"
	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
	"aias/pkg/aias"
)

// world is two tenants with one object of every kind each.
type world struct {
	s       *system
	a, b    tenant
	aKeys   map[string]string            // role → key of tenant A
	objects map[string]map[string]string // tenant id → object kind → id (or name)
	markers map[string][]string          // tenant id → strings only that tenant's answers may contain
}

func (s *system) mintKey(owner tenant, role string) string {
	s.t.Helper()
	k, err := s.client(owner.Key).CreateAPIKey(context.Background(), aias.CreateAPIKeyRequest{Name: role + " key", Role: aias.Role(role)})
	if err != nil {
		s.t.Fatalf("CreateAPIKey(%s): %v", role, err)
	}
	return k.Key
}

// populate gives a tenant a workflow, an endpoint, a finished run with an
// artifact, a minted key and a secret, all carrying a marker of the tenant.
func (s *system) populate(tn tenant, marker string) (map[string]string, []string) {
	s.t.Helper()
	wfYAML := strings.Replace(orderWorkflow, "name: order-received", "name: wf-"+marker, 1)
	wf := s.createWorkflow(tn.Key, wfYAML)
	ctx, api := context.Background(), s.client(tn.Key)
	ep, err := api.CreateEndpoint(ctx, aias.CreateEndpointRequest{WorkflowID: wf, Name: "ep-" + marker})
	if err != nil {
		s.t.Fatal(err)
	}
	_, runID := s.post(ep.URL, fmt.Sprintf(`{"order":{"id":"order-%s","total":500}}`, marker))
	s.waitRun(tn.Key, runID, "succeeded")
	arts, err := api.ListRunArtifacts(ctx, runID)
	if err != nil || len(arts) == 0 {
		s.t.Fatalf("ListRunArtifacts = %v, %v; want the run's artifact", arts, err)
	}
	k, err := api.CreateAPIKey(ctx, aias.CreateAPIKeyRequest{Name: "key-" + marker, Role: aias.RoleMember})
	if err != nil {
		s.t.Fatal(err)
	}
	secretName := "SECRET_" + strings.ToUpper(marker)
	if _, err := api.PutSecret(ctx, secretName, "value-of-"+marker+"-secret"); err != nil {
		s.t.Fatal(err)
	}
	objects := map[string]string{"workflow": wf, "endpoint": ep.ID, "run": runID, "artifact": arts[0].ID, "api_key": k.ID, "secret": secretName}
	markers := []string{tn.ID, wf, ep.ID, runID, arts[0].ID, k.ID, "wf-" + marker, "ep-" + marker, "order-" + marker, "key-" + marker, secretName}
	people := s.populatePeople(tn, marker)
	for kind, id := range people {
		objects[kind] = id
		markers = append(markers, id)
	}
	return objects, append(markers, "invitee-"+marker)
}

// populatePeople gives a tenant an invitation and a sign-in of its owner,
// written as the operator (the API's signup makes a person without a
// password, who cannot sign in), and returns them with the owner's user
// id: the objects of the account routes.
func (s *system) populatePeople(tn tenant, marker string) map[string]string {
	s.t.Helper()
	owner, err := postgres.Open(context.Background(), s.db.OwnerURL, 1)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	ctx := context.Background()
	out := map[string]string{}
	var userID string
	if err := owner.GetContext(ctx, &userID, `SELECT user_id FROM memberships WHERE tenant_id = $1 AND role = 'owner'`, tn.ID); err != nil {
		s.t.Fatal(err)
	}
	out["member"] = userID
	inviteID, sessionID := uuid.NewString(), uuid.NewString()
	const invite = `INSERT INTO invites (id, tenant_id, email, role, token_hash, invited_by, expires_at)
	                VALUES ($1::uuid, $2, $3, 'viewer', sha256($1::text::bytea), $4, now() + interval '1 day')`
	if _, err := owner.ExecContext(ctx, invite, inviteID, tn.ID, "invitee-"+marker+"@example.com", userID); err != nil {
		s.t.Fatal(err)
	}
	const session = `INSERT INTO user_sessions (id, tenant_id, user_id, token_hash, idle_timeout, expires_at, ip, user_agent)
	                 VALUES ($1::uuid, $2, $3, sha256($1::text::bytea), interval '1 hour', now() + interval '1 day', '', '')`
	if _, err := owner.ExecContext(ctx, session, sessionID, tn.ID, userID); err != nil {
		s.t.Fatal(err)
	}
	out["invite"], out["session"] = inviteID, sessionID
	return out
}

func newWorld(t *testing.T, o options) *world {
	s := start(t, o)
	w := &world{s: s, a: s.signup("tenant-a"), b: s.signup("tenant-b"),
		objects: map[string]map[string]string{}, markers: map[string][]string{}}
	w.objects[w.a.ID], w.markers[w.a.ID] = s.populate(w.a, "alpha")
	w.objects[w.b.ID], w.markers[w.b.ID] = s.populate(w.b, "bravo")
	w.aKeys = map[string]string{"owner": w.a.Key}
	for _, role := range []string{"admin", "member", "viewer"} {
		w.aKeys[role] = s.mintKey(w.a, role)
	}
	return w
}

// requestFor fills a route's parameters and gives it a body it would accept.
func requestFor(r ingress.RouteRule, objects map[string]string) (path, contentType string, body any) {
	path = r.Path
	if r.Object != "" {
		id := objects[r.Object]
		path = strings.Replace(strings.Replace(path, ":id", id, 1), ":name", id, 1)
	}
	switch {
	case r.Method == "PUT" && strings.HasPrefix(r.Path, "/api/v1/workflows"):
		return path, "application/yaml", strings.Replace(orderWorkflow, "order-received", "renamed", 1)
	case r.Method == "PUT" && strings.HasPrefix(r.Path, "/api/v1/secrets"):
		return path, "", map[string]string{"value": "overwritten-by-a"}
	case r.Method == "PATCH":
		return path, "", map[string]any{"name": "patched-by-a"}
	case r.Method == "POST" && strings.HasSuffix(r.Path, "/runs"):
		return path, "", map[string]any{"x": 1}
	case r.Method == "POST" && strings.HasSuffix(r.Path, "/rotate"):
		return path, "", map[string]any{"grace": "0s"}
	}
	return path, "", nil
}

// Every route that names an object, called by each of tenant A's roles with
// tenant B's object: 404, never 403, never data. Generated from the route
// table, so a route added later is covered without editing this test.
func TestNoKeyOfOneTenantReachesAnotherTenantsObjects(t *testing.T) {
	t.Parallel()
	newWorld(t, options{}).checkNoKeyReachesTheOtherTenantsObjects(t)
}

// Every list, for every role that may read it, shows only the caller's rows.
func TestListsShowOnlyTheCallersTenant(t *testing.T) {
	t.Parallel()
	newWorld(t, options{}).checkListsShowOnlyTheCallersTenant(t)
}

// The code filters every tenant statement by tenant_id as well as relying
// on row-level security, so the two walls do not fall together: run as a
// superuser (which RLS does not confine, and which production refuses to
// start with), the object matrix and the lists still show one tenant.
func TestTenantsStayApartWithoutRowLevelSecurity(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	w := newWorld(t, options{db: db, databaseURL: func(string) string { return db.OwnerURL }})
	w.checkListsShowOnlyTheCallersTenant(t) // first: the matrix gives A a secret named like B's
	w.checkNoKeyReachesTheOtherTenantsObjects(t)
}

func (w *world) checkNoKeyReachesTheOtherTenantsObjects(t *testing.T) {
	t.Helper()
	covered := 0
	for _, r := range ingress.RouteRules() {
		if r.Public || r.Page || r.Object == "" {
			continue // pages: internal/console's browser tests
		}
		if r.Method == "PUT" && r.Object == "secret" {
			continue // a name, not an id: PUT creates the caller's own secret of that name (checked below)
		}
		if w.objects[w.b.ID][r.Object] == "" {
			t.Fatalf("no fixture of kind %q for route %s %s: extend populate", r.Object, r.Method, r.Path)
		}
		path, ct, body := requestFor(r, w.objects[w.b.ID])
		for role, key := range w.aKeys {
			res := w.s.do(r.Method, path, key, ct, body)
			if res.Status != http.StatusNotFound {
				t.Errorf("%s %s as A's %s = %d %s, want 404", r.Method, r.Path, role, res.Status, res.Body)
			}
			for _, m := range w.markers[w.b.ID] {
				if strings.Contains(res.String(), m) {
					t.Errorf("%s %s as A's %s leaked B's %q", r.Method, r.Path, role, m)
				}
			}
			covered++
		}
	}
	if covered < 4*15 {
		t.Errorf("covered %d route×role pairs, want every object route", covered)
	}
	// B's objects are untouched.
	ctx := context.Background()
	if _, err := w.s.client(w.a.Key).PutSecret(ctx, "SECRET_BRAVO", "a-value-for-the-same-name"); err != nil {
		t.Fatal(err)
	}
	secrets, err := w.s.client(w.b.Key).ListSecrets(ctx)
	if err != nil || len(secrets) != 1 || secrets[0].Last4 != "cret" {
		t.Errorf("B's secrets = %+v (%v), want its one secret, untouched by A's secret of the same name", secrets, err)
	}
}

func (w *world) checkListsShowOnlyTheCallersTenant(t *testing.T) {
	t.Helper()
	for _, r := range ingress.RouteRules() {
		if r.Public || r.Page || r.Method != "GET" || r.Object != "" {
			continue
		}
		for role, key := range w.aKeys {
			res := w.s.do("GET", r.Path, key, "", nil)
			if res.Status == http.StatusForbidden {
				continue // the role may not list this at all
			}
			if res.Status != 200 {
				t.Errorf("GET %s as %s = %d %s", r.Path, role, res.Status, res.Body)
			}
			for _, m := range w.markers[w.b.ID] {
				if strings.Contains(res.String(), m) {
					t.Errorf("GET %s as A's %s shows B's %q", r.Path, role, m)
				}
			}
		}
	}
}

// Every route above viewer refuses a viewer key on the tenant's own objects,
// and admin-only routes refuse a member key: with 403, the object being real.
func TestRolesBelowARoutesMinimumGet403(t *testing.T) {
	t.Parallel()
	w := newWorld(t, options{})
	rank := map[string]int{"viewer": 1, "member": 2, "admin": 3, "owner": 4}
	for _, r := range ingress.RouteRules() {
		if r.Public || r.Page {
			continue
		}
		path, ct, body := requestFor(r, w.objects[w.a.ID])
		for role, key := range w.aKeys {
			if rank[role] >= rank[string(r.MinRole)] {
				continue
			}
			res := w.s.do(r.Method, path, key, ct, body)
			if res.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s (needs %s) = %d %s, want 403", r.Method, r.Path, role, r.MinRole, res.Status, res.Body)
			}
		}
	}
}

func TestAnAdminCannotMintAnOwnerKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t, options{})
	ctx, admin := context.Background(), w.s.client(w.aKeys["admin"])
	_, err := admin.CreateAPIKey(ctx, aias.CreateAPIKeyRequest{Name: "x", Role: aias.RoleOwner})
	if aias.StatusOf(err) != 403 || aias.CodeOf(err) != aias.CodeRoleTooHigh {
		t.Errorf("admin minting an owner key = %v, want 403 role_too_high", err)
	}
	var viewerID string
	for k, err := range w.s.client(w.a.Key).ListAPIKeys(ctx, aias.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if k.Name == "viewer key" {
			viewerID = k.ID
		}
	}
	if err := admin.RevokeAPIKey(ctx, viewerID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if _, err := w.s.client(w.aKeys["viewer"]).GetMe(ctx); aias.StatusOf(err) != 401 || aias.CodeOf(err) != aias.CodeUnauthorized {
		t.Errorf("revoked key = %v, want 401 unauthorized", err)
	}
	log, err := w.s.client(w.a.Key).ListAuditEntriesPage(ctx, aias.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Data) == 0 || log.Data[0].Action != "api_key.revoke" || log.Data[0].ObjectID != viewerID || log.Data[0].ActorKeyID == nil {
		t.Errorf("audit head = %+v, want api_key.revoke of %s by a key", log.Data[:min(1, len(log.Data))], viewerID)
	}
}

// 10,000 requests from three tenants over a two-connection pool, some
// aborted mid-request: every answer carries only its own tenant's markers.
func TestRandomizedMixedTenantTrafficNeverCrossesTenants(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_DB_MAX_CONNS": "2", "AIAS_RATE_LIMIT_IP_PER_SECOND": "0"}})
	type tenantData struct {
		tn      tenant
		objects map[string]string
		markers []string
	}
	var ts []tenantData
	for _, m := range []string{"xray", "yankee", "zulu"} {
		tn := s.signup("t-" + m)
		objects, markers := s.populate(tn, m)
		ts = append(ts, tenantData{tn, objects, markers})
	}
	paths := func(o map[string]string) []string {
		return []string{"/api/v1/me", "/api/v1/workflows", "/api/v1/workflows/" + o["workflow"], "/api/v1/runs",
			"/api/v1/runs/" + o["run"], "/api/v1/runs/" + o["run"] + "/steps", "/api/v1/runs/" + o["run"] + "/artifacts",
			"/api/v1/webhook-endpoints", "/api/v1/webhook-endpoints/" + o["endpoint"], "/api/v1/secrets", "/api/v1/audit", "/api/v1/api-keys"}
	}
	const total, workers = 10000, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	var completed, aborted int
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for range total / workers {
				me := rng.IntN(len(ts))
				ps := paths(ts[me].objects)
				path := ps[rng.IntN(len(ps))]
				abort := rng.IntN(20) == 0
				body, status, err := get(s.base+path, ts[me].tn.Key, abort)
				mu.Lock()
				if err != nil {
					aborted++
				} else {
					completed++
					if status != 200 {
						failures = append(failures, fmt.Sprintf("GET %s = %d", path, status))
					}
					for other := range ts {
						if other == me {
							continue
						}
						for _, m := range ts[other].markers {
							if strings.Contains(body, m) {
								failures = append(failures, fmt.Sprintf("GET %s by %s shows %q of %s", path, ts[me].tn.ID, m, ts[other].tn.ID))
							}
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests went wrong, first: %v", len(failures), completed, failures[:min(5, len(failures))])
	}
	if completed < total/2 {
		t.Errorf("completed %d of %d requests (%d aborted), want most to complete", completed, total, aborted)
	}
}

// get fetches a URL; abort cancels the request almost at once.
func get(url, key string, abort bool) (string, int, error) {
	ctx := context.Background()
	if abort {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(2000))*time.Microsecond)
		defer cancel()
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer res.Body.Close()
	var b strings.Builder
	_, err = ioCopy(&b, res)
	return b.String(), res.StatusCode, err
}

func TestTheLastOwnerKeyCannotBeRevoked(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	tn := s.signup("solo")
	ctx, api := context.Background(), s.client(tn.Key)
	keys, err := api.ListAPIKeysPage(ctx, aias.ListOptions{})
	if err != nil || len(keys.Data) != 1 {
		t.Fatalf("ListAPIKeys = %+v, %v; want the owner key", keys, err)
	}
	if err := api.RevokeAPIKey(ctx, keys.Data[0].ID); aias.StatusOf(err) != 409 || aias.CodeOf(err) != aias.CodeLastOwnerKey {
		t.Errorf("revoking the only owner key = %v, want 409 last_owner_key", err)
	}
}
