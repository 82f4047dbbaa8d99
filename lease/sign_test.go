package lease_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
)

// The official vectors of huaweicloud-sdk-go-v3 core/auth/signer/signer_test.go.
func TestSignVectors(t *testing.T) {
	for _, tc := range []struct {
		name, method, url, body, contentType, want string
	}{
		{"GET", http.MethodGet, "https://example.huaweicloud.com/path?limit=1", "", "",
			"SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"},
		{"POST", http.MethodPost, "https://example.huaweicloud.com/path?key=value", "{\"Name\":\"test\",\"Id\":1}\n", "application/json",
			"SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"},
		// The same POST without the encoder's trailing newline must sign differently.
		{"POST without newline", http.MethodPost, "https://example.huaweicloud.com/path?key=value", `{"Name":"test","Id":1}`, "application/json",
			"SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=83599e52"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Sdk-Date", "20060102T150405Z")
			req.Header["TEST_UNDERSCORE"] = []string{"TEST_VALUE"}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			// The time argument is ignored: the request carries X-Sdk-Date.
			if err := lease.Sign(req, body, "AccessKey", "SecretKey", time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Authorization"); !strings.HasPrefix(got, tc.want) {
				t.Errorf("Authorization\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestSignSetsDateAndRefusesEmptyKeys(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://example.huaweicloud.com/v1/p/notebooks", nil)
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	if err := lease.Sign(req, nil, "AK", "SK", at); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("X-Sdk-Date"); got != "20260301T113000Z" {
		t.Errorf("X-Sdk-Date = %q, want 20260301T113000Z", got)
	}
	if err := lease.Sign(req, nil, "AK", "", at); err == nil {
		t.Error("signing with an empty secret key succeeded")
	}
}

func BenchmarkSign(b *testing.B) {
	body := []byte(`{"duration":7200000,"type":"timing"}`)
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPatch, "https://modelarts.eu-de.otc.t-systems.com/v1/0123456789abcdef0123456789abcdef/notebooks/f9937afa-631e-4a8f-a8f7-3b6c800585f0/lease", nil)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Language", "en-us")
		req.Header.Set("X-Project-Id", "0123456789abcdef0123456789abcdef")
		if err := lease.Sign(req, body, "AKEXAMPLE", "SKEXAMPLE", at); err != nil {
			b.Fatal(err)
		}
	}
}
