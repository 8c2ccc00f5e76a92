package postgres

import (
	"regexp"
	"testing"

	"github.com/google/uuid"
)

// The tenant id is written into the statement (one round trip instead of
// two); only a well-formed uuid can ever get there.
func TestTenantSettingIsOnlyTheUUID(t *testing.T) {
	t.Parallel()
	want := regexp.MustCompile(`^SELECT set_config\('app\.tenant_id', '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', true\)$`)
	for _, id := range []uuid.UUID{uuid.Nil, uuid.New(), uuid.Max} {
		if got := tenantSetting(id); !want.MatchString(got) {
			t.Errorf("tenantSetting(%s) = %q, want the id as a quoted uuid literal", id, got)
		}
	}
}
