package signature

import (
	"net/http"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stripe/stripe-go/v76/webhook"
)

// These tests pit the package against independent implementations (the
// Standard Webhooks reference library and stripe-go), so a misunderstanding
// shared by our Sign and our Verify cannot hide.

func TestStandardWebhooksLibrarySignsAIASVerifies(t *testing.T) {
	t.Parallel()
	display, err := NewSecret(StandardWebhooks)
	if err != nil {
		t.Fatal(err)
	}
	key, err := KeyBytes(StandardWebhooks, display)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(display)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"invoice.paid","n":1}`)
	sig, err := wh.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range []string{"webhook-", "svix-"} {
		h := http.Header{}
		h.Set(family+"id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
		h.Set(family+"timestamp", "1700000000")
		h.Set(family+"signature", sig)
		res, err := Verify(Settings{Scheme: StandardWebhooks}, []Secret{key}, Request{Header: h, Body: body}, now)
		if err != nil {
			t.Fatalf("%s headers: Verify rejected the library's signature: %v", family, err)
		}
		if res.DeliveryID != "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W" {
			t.Errorf("DeliveryID = %q", res.DeliveryID)
		}
	}
}

func TestAIASSignsStandardWebhooksLibraryVerifies(t *testing.T) {
	t.Parallel()
	display, err := NewSecret(StandardWebhooks)
	if err != nil {
		t.Fatal(err)
	}
	key, err := KeyBytes(StandardWebhooks, display)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"invoice.paid"}`)
	// The library checks against the wall clock, so sign now.
	h, err := Sign(Settings{Scheme: StandardWebhooks}, key, "msg_1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(display)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, h); err != nil {
		t.Fatalf("the library rejected our signature: %v", err)
	}
}

func TestStripeGoSignsAIASVerifies(t *testing.T) {
	t.Parallel()
	display, err := NewSecret(Stripe)
	if err != nil {
		t.Fatal(err)
	}
	key, err := KeyBytes(Stripe, display)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event"}`)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: display, Timestamp: now})
	h := http.Header{"Stripe-Signature": {signed.Header}}
	res, err := Verify(Settings{Scheme: Stripe}, []Secret{key}, Request{Header: h, Body: body}, now)
	if err != nil {
		t.Fatalf("Verify rejected stripe-go's signature: %v", err)
	}
	if res.DeliveryID != "evt_1NG8Du2eZvKYlo2CUI79vXWy" {
		t.Errorf("DeliveryID = %q", res.DeliveryID)
	}
}

func TestAIASSignsStripeGoVerifies(t *testing.T) {
	t.Parallel()
	display, err := NewSecret(Stripe)
	if err != nil {
		t.Fatal(err)
	}
	key, err := KeyBytes(Stripe, display)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"evt_1","object":"event"}`)
	// stripe-go checks against the wall clock, so sign now.
	h, err := Sign(Settings{Scheme: Stripe}, key, "", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if err := webhook.ValidatePayload(body, h.Get("Stripe-Signature"), display); err != nil {
		t.Fatalf("stripe-go rejected our signature: %v", err)
	}
}
