package signature

import (
	"crypto/sha256"
	"net/http"
	"time"
)

const (
	shopifyHeader   = "X-Shopify-Hmac-Sha256"
	shopifyDelivery = "X-Shopify-Webhook-Id"
)

func verifyShopify(_ *Settings, keys []Secret, req Request, _ time.Time) (Result, *Failure) {
	value, f := headerValue(req.Header, shopifyHeader)
	if f != nil {
		return Result{}, f
	}
	sig, f := decodePrefixed(shopifyHeader, value, "", encBase64, sha256.Size)
	if f != nil {
		return Result{}, f
	}
	ok := anyMatch(keys, [][]byte{sig}, func(k []byte) []byte {
		return mac(sha256.New, k, req.Body)
	})
	if !ok {
		return Result{}, noMatch(shopifyHeader)
	}
	return Result{DeliveryID: req.Header.Get(shopifyDelivery)}, nil
}

func signShopify(_ *Settings, key Secret, id string, _ time.Time, body []byte) (http.Header, error) {
	h := http.Header{}
	h.Set(shopifyHeader, encodeSig(encBase64, mac(sha256.New, key, body)))
	if id != "" {
		h.Set(shopifyDelivery, id)
	}
	return h, nil
}
