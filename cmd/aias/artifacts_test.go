//go:build unix

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// artifactServer serves one artifact's bytes under the name the artifact
// was stored with, which sender data may have chosen.
func artifactServer(t *testing.T, name, body string) *terminal {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	return fakeAIAS(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		_, _ = w.Write([]byte(body))
	})
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The default name comes from the server: it must not replace a file the
// user has (".profile"), nor leave the directory, unless the user says so.
func TestArtifactsGetNeverReplacesAFileItWasNotToldTo(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, dir, ".profile", "mine")
	tm := artifactServer(t, ".profile", "export PATH=/evil")

	if r := tm.run("", "artifacts", "get", "a1"); r.code == exitOK || !strings.Contains(r.err, "--force") {
		t.Errorf("get onto an existing .profile = exit %d %q, want a refusal naming --force", r.code, r.err)
	}
	if got := read(t, ".profile"); got != "mine" {
		t.Fatalf(".profile = %q after a refused get, want it untouched", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".profile.*")); len(left) > 0 {
		t.Errorf("a refused get left %v behind", left)
	}
	tm.must("artifacts", "get", "a1", "--force")
	if got := read(t, ".profile"); got != "export PATH=/evil" {
		t.Errorf(".profile = %q after --force, want the artifact", got)
	}
	writeFile(t, dir, "named", "mine")
	tm.must("artifacts", "get", "a1", "-o", "named")
	if got := read(t, "named"); got != "export PATH=/evil" {
		t.Errorf("-o named = %q, want the artifact: the user named the file", got)
	}
}

func TestArtifactsGetKeepsTheDefaultNameInTheDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for name, want := range map[string]string{"../up.txt": "up.txt", `..\win.txt`: "win.txt", "..": "a1", ".": "a1", "/": "a1"} {
		tm := artifactServer(t, name, "x")
		if r := tm.run("", "artifacts", "get", "a1", "--force"); r.code != exitOK || !strings.Contains(r.out, "to "+want+" ") {
			t.Errorf("artifact named %q = exit %d %q %q, want it written to %s", name, r.code, r.out, r.err, want)
		}
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("artifact named %q: %v", name, err)
		}
	}
}

// The file is made as the user's other files are: 0666 less the umask,
// not the 0600 of a temporary file.
func TestArtifactsGetMakesTheFileWithTheUmasksMode(t *testing.T) {
	umask := syscall.Umask(0o022)
	defer syscall.Umask(umask)
	dir := t.TempDir()
	tm := artifactServer(t, "r.txt", "x")
	tm.must("artifacts", "get", "a1", "-o", filepath.Join(dir, "r.txt"))
	st, err := os.Stat(filepath.Join(dir, "r.txt"))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the file's mode = %v (%v), want 0644 under umask 022", st.Mode().Perm(), err)
	}
}
