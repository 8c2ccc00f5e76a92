package console_test

import "testing"

// A runs list left open when its sign-in ends goes to the login page (and
// back to the list after logging in), instead of drawing the login page
// inside its table: its reload answers 401, on which the script reloads
// the whole page.
func TestALiveListWhoseSignInEndsGoesToTheLoginPage(t *testing.T) {
	s := startConsole(t)
	b := newBrowser(t, s, 1280)
	const email, password = "gone@example.com", "harbor-lights-27-quince"
	b.signUp(email, password, "Gone Co")
	b.visit("/runs")
	s.owner(`UPDATE user_sessions SET revoked_at = now()`)
	b.waitFor("the login page", `location.pathname === "/login" && document.readyState === "complete"`)
	if n := b.count(`#runs-live form, #runs-live input[name="password"]`); n != 0 {
		t.Errorf("the runs table holds %d parts of a login form", n)
	}
	b.fill(map[string]string{"email": email, "password": password}, `main form button[type="submit"]`)
	b.waitPath("/runs")
	b.noAlerts()
}
