package bench

import "syscall"

// childAttr makes a program die with the bench: a bench (or its smoke test)
// killed mid-run must not leave an ingress or workers taking tasks from a
// Redis database that is later claimed by someone else.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
