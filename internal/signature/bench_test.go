package signature

import (
	"bytes"
	"testing"
)

func benchmarkVerify(b *testing.B, s Settings, key Secret) {
	body := bytes.Repeat([]byte("a"), 1024)
	h, err := Sign(s, key, "msg_bench", now, body)
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Header: h, Body: body}
	secrets := []Secret{key}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Verify(s, secrets, req, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyStandardWebhooks(b *testing.B) {
	benchmarkVerify(b, Settings{Scheme: StandardWebhooks}, Secret("0123456789abcdef0123456789abcdef"))
}

func BenchmarkVerifyGitHub(b *testing.B) {
	benchmarkVerify(b, Settings{Scheme: GitHub}, Secret("It's a Secret to Everybody"))
}
