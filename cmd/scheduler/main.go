// Command aias-scheduler is AIAS's scheduler. Configuration comes from the environment;
// run it with --help for the list.
package main

import (
	"aias/internal/app"
	"aias/internal/config"
)

func main() { app.Main("aias-scheduler", config.RoleScheduler) }
