package postgres

import (
	"context"
	"fmt"
	"strings"
)

// RoleProblems lists what makes the connected role unfit to serve tenants:
// row-level security is the wall between tenants, and it does not hold for
// a superuser, a role with BYPASSRLS, or the owner of the tables (an owner
// can turn it off, and owns the SECURITY DEFINER functions that run past
// it). Membership counts: a role that can SET ROLE to an owner is one.
// An empty list means the role is fit.
func (db *DB) RoleProblems(ctx context.Context) ([]string, error) {
	var r struct {
		Name      string `db:"rolname"`
		Super     bool   `db:"rolsuper"`
		Bypass    bool   `db:"rolbypassrls"`
		Relations int    `db:"relations"`
		Functions int    `db:"functions"`
	}
	const q = `
SELECT r.rolname, r.rolsuper, r.rolbypassrls,
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND pg_has_role(current_user, c.relowner, 'MEMBER')) AS relations,
       (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = current_schema() AND pg_has_role(current_user, p.proowner, 'MEMBER')) AS functions
  FROM pg_roles r WHERE r.rolname = current_user`
	if err := db.GetContext(ctx, &r, q); err != nil {
		return nil, fmt.Errorf("read the database role: %w", Classify(err))
	}
	var problems []string
	if r.Super {
		problems = append(problems, "is a superuser")
	}
	if r.Bypass {
		problems = append(problems, "has BYPASSRLS")
	}
	if r.Relations > 0 {
		problems = append(problems, fmt.Sprintf("owns %d tables, views or sequences (or is a member of their owner)", r.Relations))
	}
	if r.Functions > 0 {
		problems = append(problems, fmt.Sprintf("owns %d functions (or is a member of their owner)", r.Functions))
	}
	if len(problems) > 0 {
		problems[0] = fmt.Sprintf("role %q %s", r.Name, problems[0])
	}
	return problems, nil
}

// RoleError is the refusal of an unfit role, naming every problem.
func RoleError(problems []string) error {
	return fmt.Errorf("DATABASE_URL must connect as the application role (not a superuser, no BYPASSRLS, owning nothing; "+
		"docs/data.md#roles), but %s", strings.Join(problems, ", "))
}
