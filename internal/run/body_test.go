package run

import (
	"encoding/json"
	"testing"
)

func TestParseBodyExposesJSONAndFormsAndNothingElse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, contentType, body, want string
	}{
		{"json", "application/json", `{"a":1}`, `{"a":1}`},
		{"json with charset", "application/json; charset=utf-8", `[1,2]`, `[1,2]`},
		{"vendor json", "application/vnd.github+json", `{"x":true}`, `{"x":true}`},
		{"sniffed json without a content type", "", `{"a":"b"}`, `{"a":"b"}`},
		{"invalid json is null", "application/json", `{"a":`, `null`},
		{"form", "application/x-www-form-urlencoded", `a=1&b=2&b=3`, `{"a":"1","b":["2","3"]}`},
		{"slack payload form", "application/x-www-form-urlencoded", `payload=%7B%22type%22%3A%22x%22%7D`, `{"payload":"{\"type\":\"x\"}"}`},
		{"text is null", "text/plain", `hello`, `null`},
		{"empty is null", "application/json", ``, `null`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := json.Marshal(parseBody([]byte(c.body), c.contentType))
			if string(got) != c.want {
				t.Errorf("parseBody(%q, %q) = %s, want %s", c.body, c.contentType, got, c.want)
			}
		})
	}
}

// The body-handling path sees every sender's bytes: it must never panic and
// whatever it returns must be storable JSON.
func FuzzParseBody(f *testing.F) {
	for _, seed := range []struct{ body, ct string }{
		{`{"a":[1,2,{"b":null}]}`, "application/json"},
		{`a=1&a=2&%zz`, "application/x-www-form-urlencoded"},
		{"\x00\xff", ""},
		{`[`, "application/json; charset=utf-8"},
		{`x`, "multipart/form-data; boundary=x"},
	} {
		f.Add([]byte(seed.body), seed.ct)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		v := parseBody(body, contentType)
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("parseBody(%q, %q) returned unencodable %T: %v", body, contentType, v, err)
		}
	})
}
