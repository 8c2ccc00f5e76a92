package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"aias/pkg/aias"
)

const artifactsUsage = `usage:
  aias artifacts ls RUN_ID [--json]
  aias artifacts get ID [-o FILE|-]      FILE defaults to the artifact's name; - is standard output`

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
// SHA-256 on the way; a file is written beside its name and renamed into
// place only when the bytes check out.
func (e env) artifactsGet(ctx context.Context, args []string) error {
	f := e.flags("artifacts get")
	out := f.String("o", "", "where to write it: a file (default: the artifact's name) or - for standard output")
	pos, err := f.parse(args, 1, "artifacts get ID [-o FILE|-]")
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
	path := *out
	if path == "" {
		path = filepath.Base(d.Filename)
		if path == "." || path == "/" || path == "" {
			path = pos[0]
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
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
	if err := os.Rename(tmp.Name(), path); err != nil { //nolint:gosec // G703: as above
		return err
	}
	fmt.Fprintf(e.out, "wrote %d bytes to %s (%s, sha256 checked)\n", n, path, d.ContentType)
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
