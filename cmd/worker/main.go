// Command aias-worker is AIAS's worker. Configuration comes from the environment;
// run it with --help for the list.
package main

import (
	"aias/internal/app"
	"aias/internal/config"
)

func main() { app.Main("aias-worker", config.RoleWorker) }
