package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"
)

// funcs are the helpers templates call. None returns template.HTML: every
// value a page shows goes through html/template's escaping.
var funcs = template.FuncMap{
	"when":   when,
	"ago":    ago,
	"dur":    dur,
	"pretty": pretty,
	"short":  short,
	"deref":  deref,
	"field":  field,
	"json":   jsonText,
	"limit":  limitText,
}

// when is a time as the console shows it: UTC, to the second.
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "—"
		}
		return v.UTC().Format("2006-01-02 15:04:05Z")
	case *time.Time:
		if v == nil {
			return "—"
		}
		return when(*v)
	}
	return ""
}

// ago is how long before now t was, roughly.
func ago(t time.Time) string {
	return dur(time.Since(t)) + " ago"
}

// dur is a duration in one or two units.
func dur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// pretty is a value as indented JSON (raw JSON is re-indented; a string
// that is not JSON is shown as it is).
func pretty(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return prettyRaw(x)
	case json.RawMessage:
		return prettyRaw(x)
	}
	return Indent(v)
}

// Indent is v as indented JSON with <, > and & left as they are: a page
// shows data as text (html/template escapes it), so the \u003c escapes
// json.Marshal adds would only make a payload unreadable.
func Indent(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func prettyRaw(b []byte) string {
	var v any
	if len(b) == 0 {
		return ""
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return Indent(v)
}

// short is the first 8 characters of an id.
func short(id fmt.Stringer) string {
	s := id.String()
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// jsonText is v as compact JSON (for a hidden field a script sends on).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

// limitText is a plan limit as a page shows it: -1 (plan.Unlimited) is
// "unlimited".
func limitText(v any) string {
	switch n := v.(type) {
	case int:
		return limitText(int64(n))
	case int64:
		if n < 0 {
			return "unlimited"
		}
		return fmt.Sprint(n)
	}
	return fmt.Sprint(v)
}
