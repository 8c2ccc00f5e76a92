package signature

import (
	"net/http"
	"net/url"
	"testing"
)

var slackFixture = fixture{
	settings: Settings{Scheme: Slack},
	sig:      part{header: "X-Slack-Signature", before: "v0="},
	enc:      encHex,
	ts:       &part{header: "X-Slack-Request-Timestamp"},
	wantID:   "Ev1",
	required: []string{"X-Slack-Request-Timestamp"},
}

func TestVerifySlack(t *testing.T) {
	t.Parallel()
	cases := append(commonCases(slackFixture),
		verifyCase{name: "v1 signature is an unknown version", want: ReasonUnknownVersion,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("X-Slack-Signature", "v1="+h.Get("X-Slack-Signature")[3:])
				return body
			}},
		verifyCase{name: "signature without version is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("X-Slack-Signature", h.Get("X-Slack-Signature")[3:])
				return body
			}},
		verifyCase{name: "duplicated timestamp header is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Add("X-Slack-Request-Timestamp", h.Get("X-Slack-Request-Timestamp"))
				return body
			}},
	)
	runVerifyCases(t, slackFixture, cases)
}

func TestVerifySlackReadsTheBody(t *testing.T) {
	t.Parallel()
	form := url.Values{"payload": {`{"type":"block_actions","event_id":"EvForm"}`}}.Encode()
	tests := []struct {
		name          string
		body          string
		wantID        string
		wantChallenge string
	}{
		{"url_verification yields the challenge", `{"token":"x","challenge":"3eZbrw1aB","type":"url_verification"}`, "", "3eZbrw1aB"},
		{"event callback yields the event id", `{"type":"event_callback","event_id":"Ev08MFMKH6"}`, "Ev08MFMKH6", ""},
		{"challenge outside url_verification is ignored", `{"type":"event_callback","challenge":"x","event_id":"Ev1"}`, "Ev1", ""},
		{"form payload yields the event id", form, "EvForm", ""},
		{"slash command form has no id", "command=%2Fweather&text=94070", "", ""},
		{"non-JSON body has no id", `not json`, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := signWith(t, slackFixture.settings, keyOld, tc.body)
			res, err := Verify(slackFixture.settings, []Secret{keyOld}, Request{Header: h, Body: []byte(tc.body)}, now)
			if err != nil {
				t.Fatal(err)
			}
			if res.DeliveryID != tc.wantID || res.Challenge != tc.wantChallenge {
				t.Errorf("got id %q challenge %q, want %q %q", res.DeliveryID, res.Challenge, tc.wantID, tc.wantChallenge)
			}
		})
	}
}
