package keyring

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func FuzzOpen(f *testing.F) {
	k := mustParse(f, "k2:"+key2+",k1:"+key1)
	old := mustParse(f, "k1:"+key1)
	// What Seal produced, by (aad, plaintext): the only pairs Open may return.
	sealed := map[string]string{}
	add := func(k *Keyring, plaintext, aad []byte) {
		f.Add(mustSeal(f, k, plaintext, aad), aad)
		sealed[string(aad)] = string(plaintext)
	}
	add(k, []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), AAD("webhook-secret", "t", "e", "s"))
	add(k, nil, AAD("empty"))
	add(old, []byte("xoxb-old"), AAD("integration-secret", "t", "slack"))
	add(k, []byte("no aad"), nil)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 2, 'k', '9'}, []byte{})
	f.Add(append([]byte{1, 2, 'k', '1'}, make([]byte, 100)...), []byte{})
	f.Fuzz(func(t *testing.T, value, aad []byte) {
		got, err := k.Open(value, aad)
		if err != nil {
			if !errors.Is(err, ErrUndecryptable) {
				t.Fatalf("error %v does not wrap ErrUndecryptable", err)
			}
			if got != nil {
				t.Fatal("plaintext returned with an error")
			}
			return
		}
		want, ok := sealed[string(aad)]
		if !ok || string(got) != want {
			t.Fatalf("opened a value Seal did not produce: %q under aad %q", got, aad)
		}
		if _, err := k.KeyID(value); err != nil {
			t.Fatalf("KeyID fails on an openable value: %v", err)
		}
		out, _, err := k.Rewrap(value, aad)
		if err != nil {
			t.Fatalf("Rewrap: %v", err)
		}
		if again, err := k.Open(out, aad); err != nil || !bytes.Equal(again, got) {
			t.Fatalf("rewrapped value opens to %q, %v", again, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("k2:" + key2 + ",k1:" + key1)
	f.Add("k1:" + key1)
	f.Add("k1:" + key1 + ",k1:" + key2)
	f.Add(" k_-9 : " + key3 + " ,")
	f.Add(":,:,")
	f.Add("k1:AAAA")
	f.Fuzz(func(t *testing.T, spec string) {
		k, err := Parse(spec)
		if err != nil {
			if k != nil {
				t.Fatal("keyring returned with an error")
			}
			return
		}
		ids := k.IDs()
		if len(ids) == 0 || ids[0] != k.Primary() {
			t.Fatalf("IDs %q, Primary %q", ids, k.Primary())
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if !validID(id) || seen[id] {
				t.Fatalf("accepted id %q in %q", id, ids)
			}
			seen[id] = true
		}
		// Nothing after an id's colon (the key material) appears in String.
		s := k.String()
		for _, entry := range strings.Split(spec, ",") {
			_, enc, _ := strings.Cut(entry, ":")
			if enc = strings.TrimSpace(enc); len(enc) >= 40 && strings.Contains(s, enc) {
				t.Fatalf("String %q shows key material", s)
			}
		}
		sealed, err := k.Seal([]byte("p"), AAD("a"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := k.Open(sealed, AAD("a")); err != nil || string(got) != "p" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
}
