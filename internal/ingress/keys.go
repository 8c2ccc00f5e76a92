package ingress

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/audit"
	"aias/internal/auth"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/secret"
)

// record writes an audit entry for the caller in the same transaction.
func (s *Server) record(ctx context.Context, q postgres.Querier, c echo.Context, action, objectType, objectID string) error {
	p := principal(c)
	if p.UserID != uuid.Nil {
		return audit.RecordUser(ctx, q, p.TenantID, p.UserID, action, objectType, objectID, logging.RequestID(ctx))
	}
	return audit.Record(ctx, q, p.TenantID, p.KeyID, action, objectType, objectID, logging.RequestID(ctx))
}

type mintedKey struct {
	auth.APIKey
	Key string `json:"key"`
}

func (s *Server) mintKey(c echo.Context) error {
	var req auth.NewAPIKey
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var out mintedKey
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		p := principal(c)
		if out.APIKey, out.Key, err = auth.Mint(ctx, q, p.TenantID, p.Role, req); err != nil {
			return err
		}
		return s.record(ctx, q, c, "api_key.create", objAPIKey, out.ID.String())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) revokeKey(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		if err := auth.Revoke(ctx, q, id, principal(c).Role); err != nil {
			return err
		}
		return s.record(ctx, q, c, "api_key.revoke", objAPIKey, id.String())
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type secretValue struct {
	Value string `json:"value"`
}

// putSecret is PUT /api/v1/secrets/:name {"value"}: stored sealed, never returned.
func (s *Server) putSecret(c echo.Context) error {
	var req secretValue
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	var info secret.Info
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		if info, err = secret.Put(ctx, q, s.keys, principal(c).TenantID, name, req.Value); err != nil {
			return err
		}
		return s.record(ctx, q, c, "secret.put", objSecret, name)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, info)
}

func (s *Server) deleteSecret(c echo.Context) error {
	name := c.Param("name")
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		if err := secret.Delete(ctx, q, name); err != nil {
			return err
		}
		return s.record(ctx, q, c, "secret.delete", objSecret, name)
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
