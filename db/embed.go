// Package db embeds the SQL migrations so every binary carries its schema.
package db

import "embed"

// Migrations holds db/migrations/*.sql in goose format.
//
//go:embed migrations/*.sql
var Migrations embed.FS
