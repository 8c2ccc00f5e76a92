package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"aias/pkg/aias"
)

const artifactsUsage = `usage:
  aias artifacts ls RUN_ID [--json]
  aias artifacts get ID [-o FILE|-] [--force]   FILE defaults to the artifact's name, never replacing a file
                                                without --force; - is standard output`

// artifacts is `aias artifacts …`.
func (e env) artifacts(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("%s", artifactsUsage)
	}
	switch args[0] {
	case "ls", "list":
		return e.artifactsList(ctx, args[1:])
	case "get":
		return e.artifactsGet(ctx, args[1:])
	}
	return usageErr("%s", artifactsUsage)
}

func (e env) artifactsList(ctx context.Context, args []string) error {
	f := e.flags("artifacts ls")
	pos, err := f.parse(args, 1, "artifacts ls RUN_ID [--json]")
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	arts, err := c.ListRunArtifacts(ctx, pos[0])
	if err != nil {
		return err
	}
	if *f.json {
		return e.printJSON(nonNil(arts))
	}
	rows := make([][]string, 0, len(arts))
	for _, a := range arts {
		rows = append(rows, []string{a.ID, a.Name, a.ContentType, strconv.FormatInt(a.SizeBytes, 10), ago(a.CreatedAt)})
	}
	return e.table([]string{"ID", "NAME", "TYPE", "BYTES", "CREATED"}, rows)
}

// artifactsGet streams an artifact to a file (or stdout), checking its
// SHA-256 on the way; a file is written beside its name and moved into
// place only when the bytes check out. The default name is the artifact's,
// which the server's sender data may have chosen (".profile"), so it is
// reduced to a plain name and never replaces an existing file unless -o
// names that file or --force is given.
func (e env) artifactsGet(ctx context.Context, args []string) error {
	f := e.flags("artifacts get")
	out := f.String("o", "", "where to write it: a file (default: the artifact's name) or - for standard output")
	force := f.Bool("force", false, "replace an existing file of the artifact's name")
	pos, err := f.parse(args, 1, "artifacts get ID [-o FILE|-] [--force]")
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	d, err := c.DownloadArtifact(ctx, pos[0], aias.DownloadOptions{})
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	if *out == "-" {
		_, err := io.Copy(e.out, d)
		return err
	}
	path, replace := *out, *out != "" || *force
	if path == "" {
		path = fileName(d.Filename, pos[0])
	}
	if !replace {
		if _, err := os.Lstat(path); err == nil { //nolint:gosec // G703: a plain name in the current directory (fileName), or the user's
			return existsErr(path)
		}
	}
	tmp, err := createBeside(path)
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() //nolint:gosec // G703: the user names the file
	n, err := io.Copy(tmp, &progressReader{r: d, total: d.Size, w: e.errw})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", pos[0], err)
	}
	if err := place(tmp.Name(), path, replace); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "wrote %d bytes to %s (%s, sha256 checked)\n", n, path, d.ContentType)
	return nil
}

// fileName is the artifact's name as a plain file name in the current
// directory: its last element, whichever separator it used, and the
// artifact's id when nothing usable is left.
func fileName(name, id string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	switch name {
	case "", ".", "..", "/":
		return id
	}
	return name
}

func existsErr(path string) error {
	return &exitError{code: exitFailed, msg: fmt.Sprintf("%s exists: name it with -o to replace it, or add --force", path)}
}

// createBeside creates a new file next to path, made with mode 0666 so the
// umask decides its permissions as it would for any file the user makes
// (os.CreateTemp's 0600 would stay on the final file).
func createBeside(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64(), 36)) //nolint:gosec // a temporary name, not a secret
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)            //nolint:gosec // G302/G304: the user's own file, as the umask allows
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
}

// place moves the downloaded file to path; without replace it fails if
// path exists, at that very moment (a hard link never replaces). Where the
// file system has no hard links (FAT, some network shares), it checks and
// renames instead, which leaves a moment between the two.
func place(tmp, path string, replace bool) error {
	if replace {
		return os.Rename(tmp, path) //nolint:gosec // G703: the user names the file
	}
	err := os.Link(tmp, path)
	switch {
	case errors.Is(err, fs.ErrExist):
		return existsErr(path)
	case err != nil:
		if _, serr := os.Lstat(path); serr == nil { //nolint:gosec // G703: as above
			return existsErr(path)
		}
		return os.Rename(tmp, path) //nolint:gosec // G703: as above
	}
	return nil
}

// progressReader reports every 8 MiB read of a large download.
type progressReader struct {
	r           io.Reader
	total, read int64
	next        int64
	w           io.Writer
}

const progressStep = 8 << 20

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	if p.read >= p.next+progressStep {
		p.next = p.read
		if p.total > 0 {
			fmt.Fprintf(p.w, "%d of %d MiB (%d%%)\n", p.read>>20, p.total>>20, p.read*100/p.total)
		} else {
			fmt.Fprintf(p.w, "%d MiB\n", p.read>>20)
		}
	}
	return n, err
}
