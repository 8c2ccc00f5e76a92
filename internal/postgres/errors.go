package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/lib/pq"

	"aias/internal/errs"
)

// SQLSTATE codes AIAS reacts to.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeInvalidText         = "22P02"
	codeUntranslatable      = "22P05" // e.g. \u0000 in jsonb
	codeNotInRepertoire     = "22021" // invalid UTF-8 in text
	codeStringTooLong       = "22001"
	codeProgramLimit        = "54000" // e.g. a jsonb value over its size limit
	codeFeatureNotSupported = "0A000" // e.g. a prepared statement's plan outdated by a migration
)

// Classify maps a driver error to an errs kind, leaving the cause attached.
// Lost connections, a server that is starting up or shutting down, and a
// call cut by its deadline are Unavailable, so the HTTP edge answers 503 with Retry-After.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The caller's deadline passed while Postgres was slow: a retry
		// later may well succeed.
		return errs.Wrap(err, errs.Unavailable, "storage_unavailable", "storage did not answer in time")
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return classifyPQ(pqErr)
	}
	var netErr net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.Wrap(err, errs.Unavailable, "storage_unavailable", "storage is temporarily unavailable")
	}
	return err
}

func classifyPQ(e *pq.Error) error {
	switch {
	case e.Code == codeUniqueViolation:
		return errs.Wrap(e, errs.Conflict, "conflict", "the object already exists")
	case e.Code == codeForeignKeyViolation:
		return errs.Wrap(e, errs.NotFound, "not_found", "a referenced object does not exist")
	case e.Code == codeCheckViolation, e.Code == codeInvalidText, e.Code == codeUntranslatable,
		e.Code == codeNotInRepertoire, e.Code == codeStringTooLong, e.Code == codeProgramLimit:
		return errs.Wrap(e, errs.Invalid, "invalid", "a value is not valid")
	case e.Code.Class() == "08", e.Code.Class() == "57", e.Code.Class() == "53":
		// connection exceptions, operator intervention (shutdown), insufficient resources
		return errs.Wrap(e, errs.Unavailable, "storage_unavailable", "storage is temporarily unavailable")
	}
	return e
}

// isStalePlan reports whether err is Postgres refusing a prepared
// statement whose result columns a schema change altered ("cached plan must
// not change result type", feature_not_supported).
func isStalePlan(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == codeFeatureNotSupported && strings.Contains(pqErr.Message, "cached plan")
}

// IsServerError reports whether Postgres itself answered err: the statement
// reached the server and failed there, so (outside an explicit
// transaction) nothing of it was committed.
func IsServerError(err error) bool {
	var e *pq.Error
	return errors.As(err, &e)
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == codeUniqueViolation
}
