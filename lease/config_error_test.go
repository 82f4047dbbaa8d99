package lease_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// TestGateway404IsConfiguration: a 404 only means "no such notebook" when
// ModelArts says so; the gateway's "API does not exist" means a wrong
// endpoint or project, and must say what to check.
func TestGateway404IsConfiguration(t *testing.T) {
	const id = "f9937afa-631e-4a8f-a8f7-3b6c800585f0"
	const apig = `{"error_code":"APIG.0101","error_msg":"The API does not exist or has not been published in the environment."}`
	get := func(c *lease.Client) error { _, err := c.Get(context.Background(), id); return err }
	list := func(c *lease.Client) error { _, err := c.List(context.Background(), lease.ListOptions{}); return err }
	renew := func(c *lease.Client) error {
		_, err := c.Renew(context.Background(), id, time.Now().Add(2*time.Hour))
		return err
	}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		call   func(*lease.Client) error
		kind   lease.Kind
	}{
		{"gateway 404 on get", 404, apig, get, lease.KindConfig},
		{"gateway 404 on renew", 404, apig, renew, lease.KindConfig},
		{"gateway 404 on list", 404, apig, list, lease.KindConfig},
		{"other service's code on 404", 404, `{"error_code":"CBC.0100","error_msg":"Not found."}`, get, lease.KindConfig},
		{"404 with a ModelArts code", 404, `{"error_code":"ModelArts.6309","error_msg":"The instance does not exist."}`, get, lease.KindNotFound},
		{"404 without a body", 404, ``, get, lease.KindNotFound},
		{"404 with a body that is no error", 404, `<html>Not Found</html>`, get, lease.KindNotFound},
		{"404 without a body on list", 404, ``, list, lease.KindConfig},
		{"400 ModelArts.6309", 400, `{"error_code":"ModelArts.6309","error_msg":"The instance does not exist."}`, get, lease.KindNotFound},
		{"400 ModelArts.6404", 400, `{"error_code":"ModelArts.6404","error_msg":"Not found."}`, get, lease.KindNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := lease.New(lease.Config{Endpoint: srv.URL, ProjectID: project, Auth: &lease.AKSK{AK: testAK, SK: testSK}, RetryBudget: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = tc.call(c)
			if k := lease.KindOf(err); k != tc.kind {
				t.Fatalf("err = %v, kind %v; want %v", err, k, tc.kind)
			}
			if n := requests.Load(); n != 1 {
				t.Errorf("%d requests, want 1 (not retried)", n)
			}
			if tc.kind == lease.KindConfig {
				if !errors.Is(err, lease.ErrConfig) || errors.Is(err, lease.ErrNotFound) {
					t.Errorf("errors.Is: config %v, not found %v", errors.Is(err, lease.ErrConfig), errors.Is(err, lease.ErrNotFound))
				}
				if msg := err.Error(); !strings.Contains(msg, "configuration error") || !strings.Contains(msg, "check modelarts.endpoint and project_id") {
					t.Errorf("Error() = %q, want a hint for the operator", msg)
				}
			}
		})
	}
}

// TestIAM404IsConfiguration: a wrong IAM endpoint is a configuration error
// that names the IAM setting.
func TestIAM404IsConfiguration(t *testing.T) {
	f, _ := iamSetup(t, 24*time.Hour, iamPassword)
	id := running(f)
	// A server that has no token API: another ModelArts, say.
	other := httptest.NewServer(simulator.New(simulator.Options{ProjectID: project}))
	defer other.Close()
	f.cfg.Auth = &lease.IAMPassword{Endpoint: other.URL, Username: iamUser, Password: iamPassword, Domain: iamDomain, ProjectID: project}
	c, err := lease.New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), id)
	if lease.KindOf(err) != lease.KindConfig || !strings.Contains(err.Error(), "check modelarts.iam_endpoint") ||
		strings.Contains(err.Error(), "check modelarts.endpoint") {
		t.Errorf("err = %v, want a configuration error about the IAM endpoint", err)
	}
}
