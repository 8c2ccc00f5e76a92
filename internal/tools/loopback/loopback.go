// Package loopback finds free ports on 127.0.0.1 for the programs that the
// tests, the bench and the fault suite start as separate processes.
package loopback

import (
	"net"
	"strconv"
)

// FreePort is a loopback port that was free a moment ago: the kernel picked
// it for a listener that is closed again before FreePort returns.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr is FreePort as a host:port address.
func FreeAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}
