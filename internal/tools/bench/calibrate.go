package bench

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"time"
)

// calibrate measures the machine itself: how many 4 KB write+fsync pairs a
// second the disk does in dir (what every commit waits for), and how fast
// one core hashes (SHA-256 of 64 MB).
func calibrate(dir string) Calib {
	var c Calib
	if f, err := os.Create(filepath.Join(dir, "fsync.probe")); err == nil { //nolint:gosec // the bench's own temporary directory
		buf := make([]byte, 4096)
		n, began := 0, time.Now()
		for time.Since(began) < 700*time.Millisecond {
			if _, err := f.WriteAt(buf, int64(n%16)*4096); err != nil {
				break
			}
			if f.Sync() != nil {
				break
			}
			n++
		}
		c.FsyncPerSec = Round2(Rate(n, time.Since(began)))
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	chunk := make([]byte, 1<<20)
	h := sha256.New()
	began := time.Now()
	for range 64 {
		h.Write(chunk)
	}
	_ = h.Sum(nil)
	c.SHA256MBPerSec = Round2(64 / time.Since(began).Seconds())
	return c
}
