package keyring

import (
	"bytes"
	"testing"
)

func BenchmarkSeal64(b *testing.B) {
	k := mustParse(b, "k2:"+key2+",k1:"+key1)
	plaintext, aad := bytes.Repeat([]byte("s"), 64), AAD("webhook-secret", "tenant", "endpoint", "secret")
	b.SetBytes(int64(len(plaintext)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal(plaintext, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen64(b *testing.B) {
	k := mustParse(b, "k2:"+key2+",k1:"+key1)
	plaintext, aad := bytes.Repeat([]byte("s"), 64), AAD("webhook-secret", "tenant", "endpoint", "secret")
	sealed := mustSeal(b, k, plaintext, aad)
	b.SetBytes(int64(len(plaintext)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}
