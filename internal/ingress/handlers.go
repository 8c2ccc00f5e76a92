package ingress

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/page"
	"aias/internal/postgres"
)

// The handlers of the route table that read one repository function in
// the caller's tenant and answer what it found: the path's :id (when the
// route names an object) and the page (when the list is paged) are parsed
// first, so a malformed id is a 404 and a malformed page a 400 before any
// transaction opens; then one tenant transaction, then 200 with JSON.

// getOne answers the object the path's :id names.
func getOne[T any](get func(context.Context, postgres.Querier, uuid.UUID) (T, error)) handler {
	return func(s *Server, c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		v, err := read(s, c, func(ctx context.Context, q postgres.Querier) (T, error) { return get(ctx, q, id) })
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}

// readOne answers what get finds of the caller's tenant (no path parameter).
func readOne[T any](get func(context.Context, postgres.Querier) (T, error)) handler {
	return func(s *Server, c echo.Context) error {
		v, err := read(s, c, get)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}

// listPage answers one page of the caller's objects.
func listPage[T any](list func(context.Context, postgres.Querier, page.Request) ([]T, string, error)) handler {
	return func(s *Server, c echo.Context) error {
		p, err := pageRequest(c)
		if err != nil {
			return err
		}
		return answerPage(s, c, func(ctx context.Context, q postgres.Querier) ([]T, string, error) { return list(ctx, q, p) })
	}
}

// listPageOf answers one page of what the object the path's :id names has.
func listPageOf[T any](list func(context.Context, postgres.Querier, uuid.UUID, page.Request) ([]T, string, error)) handler {
	return func(s *Server, c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		p, err := pageRequest(c)
		if err != nil {
			return err
		}
		return answerPage(s, c, func(ctx context.Context, q postgres.Querier) ([]T, string, error) { return list(ctx, q, id, p) })
	}
}

// answerPage answers the page list reads in the caller's tenant.
func answerPage[T any](s *Server, c echo.Context, list func(context.Context, postgres.Querier) ([]T, string, error)) error {
	var next string
	items, err := read(s, c, func(ctx context.Context, q postgres.Querier) (items []T, err error) {
		items, next, err = list(ctx, q)
		return items, err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(items, next))
}

// listOf answers, unpaged, everything the object the path's :id names has.
func listOf[T any](list func(context.Context, postgres.Querier, uuid.UUID) ([]T, error)) handler {
	return func(s *Server, c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		items, err := read(s, c, func(ctx context.Context, q postgres.Querier) ([]T, error) { return list(ctx, q, id) })
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, newList(items, ""))
	}
}

// listAll answers, unpaged, every object of the caller's tenant.
func listAll[T any](list func(context.Context, postgres.Querier) ([]T, error)) handler {
	return func(s *Server, c echo.Context) error {
		items, err := read(s, c, list)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, newList(items, ""))
	}
}

// deleteOne deletes the object the path's :id names and records action in
// the audit log, in one transaction; 204.
func deleteOne(del func(context.Context, postgres.Querier, uuid.UUID) error, action, objectType string) handler {
	return func(s *Server, c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
			if err := del(ctx, q, id); err != nil {
				return err
			}
			return s.record(ctx, q, c, action, objectType, id.String())
		})
		if err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// read runs fn in a transaction scoped to the caller's tenant and returns
// what it read.
func read[T any](s *Server, c echo.Context, fn func(context.Context, postgres.Querier) (T, error)) (T, error) {
	var v T
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		v, err = fn(ctx, q)
		return err
	})
	return v, err
}
