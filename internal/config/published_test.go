package config

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"aias/internal/keyring"
)

// keySpec is one keyring entry as it would be written in a file: an id,
// a colon, and 32 bytes in base64 (standard or URL-safe, padded or not).
var keySpec = regexp.MustCompile(`([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/_-]{42,43}=?)`)

// notKeys are files whose id:base64 strings are something else.
var notKeys = map[string]string{
	"go.sum": "module hashes (h1:base64 of a SHA-256)",
}

// Every key written anywhere in the repository must be in publishedKeys,
// so production refuses it; a key committed without being added fails here.
func TestEveryKeyInTheRepositoryIsListedAsPublished(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", "bin", ".bin":
				return filepath.SkipDir
			}
			return nil
		}
		if _, skip := notKeys[rel]; skip || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil || bytes.IndexByte(b, 0) >= 0 { // unreadable or binary
			return err
		}
		for _, m := range keySpec.FindAllSubmatch(b, -1) {
			fp := fingerprint(string(m[2]))
			if fp == "" || len(m[2]) < 43 { // not base64, or fewer than 32 bytes
				continue
			}
			found++
			if _, ok := publishedKeys[fp]; !ok {
				t.Errorf("%s holds the key %q, which publishedKeys does not list: production would accept it. Add\n\t%q: %q,\nto internal/config/published.go", rel, m[1], fp, rel+" ("+string(m[1])+")")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 5 {
		t.Fatalf("found %d keys in the repository, want at least the Makefile's and the tests': the walk or the pattern is wrong", found)
	}
}

func TestPublishedIDsNamesEveryPublishedKeyOfASpec(t *testing.T) {
	t.Parallel()
	spec := keyring.Generate() + ", dev1:ZGV2LW9ubHkta2V5LW5ldmVyLXVzZS1pbi1wcm9kISE= ,t:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	got := publishedIDs(spec)
	if len(got) != 2 || got[0] != "dev1" || got[1] != "t" {
		t.Errorf("publishedIDs(%q) = %q, want [dev1 t]", spec, got)
	}
}
