// Package console holds the tenant console's pages: the html/template
// templates, the stylesheet and the one script, embedded in the binary, and
// the view types the ingress fills to render them. It knows no HTTP
// framework and reads no data: the ingress's page handlers read through the
// same domain functions as the API, in the tenant's transaction, and hand
// the result here to be drawn (docs/console.md).
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"

	"html/template"

	"aias/internal/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/*
var assetFS embed.FS

// Session is who a page is drawn for: nil on the pages used signed out.
type Session struct {
	Email      string
	TenantName string
	Role       auth.Role
	CSRF       string // account.CSRFToken of the sign-in, for <meta name="csrf-token">
}

// Page is what the layout needs besides the page's own data.
type Page struct {
	Title   string
	Active  string // the nav entry to mark current ("" for none)
	Session *Session
	Data    any
}

// Can reports whether the signed-in role grants min ("viewer", "member",
// "admin", "owner"): pages show a button only when its route would accept
// the request (the server checks again).
func (p Page) Can(min string) bool {
	return p.Session != nil && p.Session.Role.AtLeast(auth.Role(min))
}

// NavItem is one entry of the console's navigation.
type NavItem struct {
	Key, Label, Path string
	Min              auth.Role // the least role that sees the entry
}

// Nav is the console's navigation, in order. A page added to the console
// adds its entry here (docs/console.md, "Adding a page").
var Nav = []NavItem{
	{Key: "overview", Label: "Overview", Path: "/", Min: auth.Viewer},
	{Key: "runs", Label: "Runs", Path: "/runs", Min: auth.Viewer},
	{Key: "workflows", Label: "Workflows", Path: "/workflows", Min: auth.Viewer},
	{Key: "endpoints", Label: "Endpoints", Path: "/endpoints", Min: auth.Viewer},
	{Key: "secrets", Label: "Secrets", Path: "/secrets", Min: auth.Admin},
	{Key: "api-keys", Label: "API keys", Path: "/api-keys", Min: auth.Admin},
	{Key: "members", Label: "Members", Path: "/members", Min: auth.Viewer},
	{Key: "audit", Label: "Audit log", Path: "/audit", Min: auth.Admin},
	{Key: "billing", Label: "Plan", Path: "/billing", Min: auth.Admin},
	{Key: "diagnostics", Label: "Diagnostics", Path: "/diagnostics", Min: auth.Admin},
}

// NavFor is the navigation a role sees.
func (p Page) NavFor() []NavItem {
	var out []NavItem
	for _, n := range Nav {
		if p.Session != nil && p.Session.Role.AtLeast(n.Min) {
			out = append(out, n)
		}
	}
	return out
}

var (
	parseOnce sync.Once
	pages     map[string]*template.Template
	parseErr  error
)

// Templates are parsed once: the shared ones (layout.html and every
// _partial.html) into a base, then each page file into its own clone, so
// every page defines "content" (and "title") without clashing.
func parse() {
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		parseErr = fmt.Errorf("console templates: %w", err)
		return
	}
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		parseErr = err
		return
	}
	pages = map[string]*template.Template{}
	for _, e := range entries {
		name := path.Base(e)
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, e)
		if err != nil {
			parseErr = fmt.Errorf("console template %s: %w", name, err)
			return
		}
		pages[name] = t
	}
}

func lookup(name string) (*template.Template, error) {
	parseOnce.Do(parse)
	if parseErr != nil {
		return nil, parseErr
	}
	t := pages[name]
	if t == nil {
		return nil, fmt.Errorf("console: no page template %q", name)
	}
	return t, nil
}

// Render draws page name (a file of templates/) inside the layout. It
// renders into a buffer first, so a template error never sends half a page.
func Render(w io.Writer, name string, p Page) error {
	return execute(w, name, "layout", p)
}

// Fragment draws one template a page defines (the part of the page that a
// live view reloads), without the layout.
func Fragment(w io.Writer, name, fragment string, p Page) error {
	return execute(w, name, fragment, p)
}

func execute(w io.Writer, name, tmpl string, p Page) error {
	t, err := lookup(name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, p); err != nil {
		return fmt.Errorf("render %s/%s: %w", name, tmpl, err)
	}
	_, err = buf.WriteTo(w)
	return err
}

// CSP is the Content-Security-Policy of every page: scripts and styles
// only from the console's own files (no inline script, no inline style,
// no eval), images from the console and data: URLs, no frames, forms
// only to the console.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders sets the headers every page and asset carries.
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// Asset is one embedded static file.
type Asset struct {
	Body        []byte
	ContentType string
	ETag        string
}

var (
	assetsOnce sync.Once
	assets     map[string]Asset
)

// LookupAsset returns the embedded file name of assets/ (ok false when
// there is none).
func LookupAsset(name string) (Asset, bool) {
	assetsOnce.Do(func() {
		assets = map[string]Asset{}
		entries, _ := fs.ReadDir(assetFS, "assets")
		for _, e := range entries {
			b, err := assetFS.ReadFile("assets/" + e.Name())
			if err != nil {
				continue
			}
			sum := sha256.Sum256(b)
			assets[e.Name()] = Asset{Body: b, ContentType: contentTypes[path.Ext(e.Name())], ETag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		}
	})
	a, ok := assets[name]
	return a, ok
}

var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
	".ico": "image/x-icon",
}

// Field is one labelled input of a form (the "field" template).
type Field struct {
	Name, Label, Type, Value, Autocomplete string
	Required                               bool
	MinLength                              int
}

// field builds a required Field for templates: {{template "field" (field "email" "Email" "email" "username")}}.
func field(name, label, typ, autocomplete string) Field {
	f := Field{Name: name, Label: label, Type: typ, Autocomplete: autocomplete, Required: true}
	if typ == "password" && autocomplete == "new-password" {
		f.MinLength = 12
	}
	return f
}
