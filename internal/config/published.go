package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// publishedKeys holds the SHA-256 of every key-encryption key ever
// committed to this repository, with where it was published. Such a key
// protects nothing — whoever has the source can open what it sealed — so
// production refuses it (Validate). A key stays listed after it leaves the
// files: it is still in the history.
//
// published_test.go reads every file of the repository for key specs
// ("id:base64 of 32 bytes") and fails on one missing here, so a key
// committed later cannot slip past. The test prints the line to add.
var publishedKeys = map[string]string{
	"a5bd284dbd0df3525f6fa861a9da20fd6de9b19f0ddb019864bc4bdc75f140d3": "Makefile (dev1: make run)",
	"883a3fadf5670617d07198ea497e6d76e68e3751432cf6cb30565cb23b605956": "docker-compose.yml (compose1, until compose asked for a key of its own)",
	"630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd": "tests (bytes 0 to 31: k1, test1, chaos1, old, t, other)",
	"c591c90fef0f1746bcdbfd3504a7fbf02c63c312ffaf8b93368137278afc81b1": "tests (new: the rewrap tests' second key)",
	"72dbb7336c76780023f83da4c355f2eeea85733b13d3477697917790c1229084": "tests (newest: the rewrap tests' third key)",
	"2242b42400d100071c4f5236c982f5d157821d0825335858d9e3799859ad7c40": "internal/tools/bench (bench1)",
}

// publishedIDs returns the ids of spec's keys that are published. spec has
// passed keyring.Parse.
func publishedIDs(spec string) []string {
	var ids []string
	for entry := range strings.SplitSeq(spec, ",") {
		id, enc, _ := strings.Cut(strings.TrimSpace(entry), ":")
		if _, ok := publishedKeys[fingerprint(strings.TrimSpace(enc))]; ok {
			ids = append(ids, strings.TrimSpace(id))
		}
	}
	return ids
}

// fingerprint is the hex SHA-256 of a base64 key (standard or URL-safe,
// padded or not, as keyring.Parse accepts), or "" if enc is not base64.
func fingerprint(enc string) string {
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := e.DecodeString(enc); err == nil {
			sum := sha256.Sum256(key)
			clear(key)
			return hex.EncodeToString(sum[:])
		}
	}
	return ""
}
