package auth_test

import (
	"testing"

	"aias/internal/auth"
)

func TestRoleAtLeast(t *testing.T) {
	t.Parallel()
	ordered := []auth.Role{auth.Viewer, auth.Member, auth.Admin, auth.Owner}
	for i, r := range ordered {
		for j, min := range ordered {
			if got, want := r.AtLeast(min), i >= j; got != want {
				t.Errorf("Role(%q).AtLeast(%q) = %v, want %v", r, min, got, want)
			}
		}
	}
	invalid := []auth.Role{"", "root", "Owner", "superuser"}
	for _, bad := range invalid {
		for _, r := range ordered {
			if r.AtLeast(bad) {
				t.Errorf("Role(%q).AtLeast(%q) = true, want false (invalid minimum grants nothing)", r, bad)
			}
			if bad.AtLeast(r) {
				t.Errorf("Role(%q).AtLeast(%q) = true, want false (invalid role has no rights)", bad, r)
			}
		}
		if bad.AtLeast(bad) {
			t.Errorf("Role(%q).AtLeast(%q) = true, want false", bad, bad)
		}
	}
}

func TestRoleValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role auth.Role
		want bool
	}{
		{auth.Viewer, true},
		{auth.Member, true},
		{auth.Admin, true},
		{auth.Owner, true},
		{"", false},
		{"OWNER", false},
		{"guest", false},
	}
	for _, tt := range tests {
		if got := tt.role.Valid(); got != tt.want {
			t.Errorf("Role(%q).Valid() = %v, want %v", tt.role, got, tt.want)
		}
	}
}
