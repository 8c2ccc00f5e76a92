package aias

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GetArtifact reads an artifact's metadata. (getArtifact; viewer)
func (c *Client) GetArtifact(ctx context.Context, id string) (Artifact, error) {
	var a Artifact
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/artifacts/" + pathID(id)}, &a)
	return a, err
}

// Download is an artifact's bytes as a stream. Read it to the end and
// Close it; at the end, a body whose SHA-256 is not its ETag's reads
// ErrChecksum instead of io.EOF.
type Download struct {
	// Body streams the bytes (empty when NotModified).
	Body io.ReadCloser
	// ETag is the quoted lower-case hex SHA-256 of the bytes.
	ETag string
	// ContentType is the type the artifact was stored with.
	ContentType string
	// Size is the length in bytes (-1 when unknown).
	Size int64
	// Filename is the artifact's name, from Content-Disposition.
	Filename string
	// NotModified says the caller's copy (IfNoneMatch) is current.
	NotModified bool
}

// Read reads the bytes.
func (d *Download) Read(p []byte) (int, error) { return d.Body.Read(p) }

// Close ends the download.
func (d *Download) Close() error { return d.Body.Close() }

// ErrChecksum is read at the end of a download whose bytes do not match
// their ETag.
var ErrChecksum = errors.New("aias: downloaded bytes do not match their ETag")

// DownloadOptions qualify DownloadArtifact.
type DownloadOptions struct {
	// IfNoneMatch is an ETag the caller holds: when the artifact still has
	// it, the answer is NotModified, without the bytes.
	IfNoneMatch string
}

// DownloadArtifact streams an artifact's bytes. The client's timeout
// bounds the call until the answer's headers arrive; the body is read
// under ctx. (downloadArtifact; viewer)
func (c *Client) DownloadArtifact(ctx context.Context, id string, o DownloadOptions) (*Download, error) {
	ctx, cancel := context.WithCancel(ctx)
	var timer *time.Timer
	if c.timeout > 0 {
		timer = time.AfterFunc(c.timeout, cancel)
	}
	r := request{method: http.MethodGet, path: "/api/v1/artifacts/" + pathID(id) + "/download"}
	if o.IfNoneMatch != "" {
		r.header = http.Header{"If-None-Match": {o.IfNoneMatch}}
	}
	res, err := c.send(ctx, r)
	if timer != nil && !timer.Stop() && err == nil {
		_ = res.Body.Close()
		err = fmt.Errorf("aias: GET %s: %w", r.path, context.DeadlineExceeded)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	d := &Download{ETag: res.Header.Get("ETag"), ContentType: res.Header.Get("Content-Type"), Size: res.ContentLength,
		NotModified: res.StatusCode == http.StatusNotModified}
	if _, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition")); err == nil {
		d.Filename = params["filename"]
	}
	if v := res.Header.Get("Content-Length"); v != "" && d.Size < 0 {
		d.Size, _ = strconv.ParseInt(v, 10, 64)
	}
	want := strings.Trim(d.ETag, `"`)
	if d.NotModified {
		want = "" // no bytes to check
	}
	d.Body = &checked{body: res.Body, cancel: cancel, sum: sha256.New(), want: want}
	return d, nil
}

// checked hashes the bytes as they are read and compares them with the
// ETag at the end.
type checked struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	sum    hash.Hash
	want   string
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.body.Read(p)
	c.sum.Write(p[:n])
	if errors.Is(err, io.EOF) && c.want != "" && hex.EncodeToString(c.sum.Sum(nil)) != c.want {
		return n, ErrChecksum
	}
	return n, err
}

func (c *checked) Close() error {
	err := c.body.Close()
	c.cancel()
	return err
}
