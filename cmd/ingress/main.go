// Command aias-ingress is AIAS's ingress. Configuration comes from the environment;
// run it with --help for the list.
package main

import (
	"aias/internal/app"
	"aias/internal/config"
)

func main() { app.Main("aias-ingress", config.RoleIngress) }
