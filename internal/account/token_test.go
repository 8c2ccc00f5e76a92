package account_test

import (
	"context"
	"testing"

	"aias/internal/account"
)

func TestVerifyCSRFAcceptsOnlyTheTokenOfTheSameSignIn(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	a := signup(t, s, "csrf-a@example.com")
	b, err := s.Login(context.Background(), account.Credentials{Email: "csrf-a@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	good := account.CSRFToken(a.Token)
	if !account.VerifyCSRF(a.Token, good) {
		t.Fatalf("VerifyCSRF(own token) = false, want true")
	}
	if good == a.Token || len(good) < 40 {
		t.Errorf("CSRFToken = %q, want a distinct 256-bit value", good)
	}
	tampered := []byte(good)
	tampered[3] ^= 1
	for name, presented := range map[string]string{
		"another sign-in's token of the same user": account.CSRFToken(b.Token),
		"empty":                     "",
		"one bit changed":           string(tampered),
		"the cookie itself":         a.Token,
		"truncated":                 good[:len(good)-1],
		"the token of an empty key": account.CSRFToken(""),
	} {
		if account.VerifyCSRF(a.Token, presented) {
			t.Errorf("VerifyCSRF(%s) = true, want false", name)
		}
	}
	if account.VerifyCSRF("", account.CSRFToken("")) {
		t.Errorf("VerifyCSRF without a sign-in = true, want false")
	}
}
