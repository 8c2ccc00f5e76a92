-- +goose Up
-- A console page's automatic reload does not count as the person's
-- activity (docs/accounts.md): aias_session_lookup takes whether the
-- request is one, and records the visit only when it is not.
DROP FUNCTION IF EXISTS aias_session_lookup(bytea); -- its body is in db/functions

-- +goose Down
DROP FUNCTION IF EXISTS aias_session_lookup(bytea, boolean);
