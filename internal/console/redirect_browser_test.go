package console_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// After logging in, the browser goes where the login link said only when
// that is a page of the console: a next that the page's script would
// once have turned into "//other-host/…" lands on the overview, and so
// does a destination of another origin planted in the form itself (the
// script checks the origin, whatever the server let through).
func TestLoggingInNeverLeavesTheConsole(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprint(w, "<html><body><main>another site</main></body></html>")
	})}
	go func() { _ = other.Serve(ln) }()
	t.Cleanup(func() { _ = other.Close() })
	elsewhere := ln.Addr().String()

	s := startConsole(t)
	b := newBrowser(t, s, 1280)
	const email, password = "redir@example.com", "harbor-lights-27-quince"
	b.signUp(email, password, "Redir Co")
	b.logOut()

	b.visit("/login?next=/{x}/" + elsewhere + "/phish")
	b.fill(map[string]string{"email": email, "password": password}, `main form button[type="submit"]`)
	b.stillOnTheConsole(elsewhere)
	b.logOut()

	b.visit("/login")
	b.eval(fmt.Sprintf(`(() => { const f = document.querySelector("main form"), to = "http://%s/phish";
	  f.setAttribute("data-next", to); f.setAttribute("data-then", to); return true; })()`, elsewhere), nil)
	b.fill(map[string]string{"email": email, "password": password}, `main form button[type="submit"]`)
	b.stillOnTheConsole(elsewhere)
}

// stillOnTheConsole waits for the overview and fails if the browser went
// to elsewhere on the way.
func (b *tab) stillOnTheConsole(elsewhere string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		loc := b.location()
		if strings.HasPrefix(loc, "http://"+elsewhere) {
			b.t.Fatalf("after logging in the browser is at %s, another origin", loc)
		}
		if loc == b.base+"/" {
			b.waitFor("the overview", `document.readyState === "complete" && document.querySelector("h1") && document.querySelector("h1").textContent === "Overview"`)
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser at %s, want the overview", loc)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
