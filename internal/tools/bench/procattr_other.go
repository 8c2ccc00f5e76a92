//go:build !linux

package bench

import "syscall"

// childAttr: elsewhere than Linux there is no parent-death signal; a killed
// bench leaves its programs to be stopped by hand.
func childAttr() *syscall.SysProcAttr { return nil }
