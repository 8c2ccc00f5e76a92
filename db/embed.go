// Package db embeds the schema so every binary carries it: the migrations
// (tables, indexes, policies, grants; goose format) and the current body of
// every SQL function, re-applied after the migrations.
package db

import "embed"

// Migrations holds db/migrations/*.sql in goose format.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Functions holds db/functions/*.sql: one file per function, each a CREATE
// OR REPLACE of its current body, and grants.sql, applied after them.
//
//go:embed functions/*.sql
var Functions embed.FS
