package lease_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// signer is an Authenticator written outside the lease package: it signs
// with an access key pair and holds one more secret of its own.
type signer struct {
	ak, sk, extra string
	now           func() time.Time
}

func (s *signer) Authenticate(_ context.Context, req *http.Request, body []byte) error {
	return lease.Sign(req, body, s.ak, s.sk, s.now())
}

type secretSigner struct{ signer }

func (s *secretSigner) Secrets() []string { return []string{s.sk, s.extra} }

type checkedSigner struct{ signer }

func (s *checkedSigner) Validate() error { return errors.New("custom auth: no key configured") }

type refreshingSigner struct {
	signer
	invalidated atomic.Int32
}

func (s *refreshingSigner) Invalidate() { s.invalidated.Add(1) }

// TestAuthenticatorAbilities checks that the client finds the optional
// abilities on an Authenticator it does not know.
func TestAuthenticatorAbilities(t *testing.T) {
	const extra = "custom-Secret-0a1b2c3d4e5f"
	for _, tc := range []struct {
		name string
		auth func(f *fixture) lease.Authenticator
		run  func(t *testing.T, f *fixture, a lease.Authenticator)
	}{
		{"SecretHolder: echoed secrets are redacted", func(f *fixture) lease.Authenticator {
			return &secretSigner{signer{testAK, testSK, extra, f.clk.Now}}
		}, func(t *testing.T, f *fixture, a lease.Authenticator) {
			c, err := lease.New(withAuth(f.cfg, a))
			if err != nil {
				t.Fatal(err)
			}
			f.sim.Inject(simulator.Fault{Route: simulator.RouteGet, Status: 400, Code: "ModelArts.0101", Msg: "bad key " + testSK + " and " + extra})
			_, err = c.Get(context.Background(), running(f))
			if err == nil || strings.Contains(err.Error(), testSK) || strings.Contains(err.Error(), extra) || !strings.Contains(err.Error(), "[redacted]") {
				t.Errorf("err = %v, want both secrets redacted", err)
			}
		}},
		{"Validator: New refuses what Validate refuses", func(f *fixture) lease.Authenticator {
			return &checkedSigner{signer{testAK, testSK, extra, f.clk.Now}}
		}, func(t *testing.T, f *fixture, a lease.Authenticator) {
			if _, err := lease.New(withAuth(f.cfg, a)); err == nil || !strings.Contains(err.Error(), "no key configured") {
				t.Errorf("New = %v, want the validation error", err)
			}
		}},
		{"Invalidator: a 401 invalidates once and retries", func(f *fixture) lease.Authenticator {
			return &refreshingSigner{signer: signer{testAK, testSK, extra, f.clk.Now}}
		}, func(t *testing.T, f *fixture, a lease.Authenticator) {
			c, err := lease.New(withAuth(f.cfg, a))
			if err != nil {
				t.Fatal(err)
			}
			f.sim.Inject(simulator.Fault{Route: simulator.RouteGet, Status: 401, Times: 1})
			if _, err := c.Get(context.Background(), running(f)); err != nil {
				t.Fatal(err)
			}
			if n := a.(*refreshingSigner).invalidated.Load(); n != 1 || f.sim.Count(simulator.RouteGet) != 2 {
				t.Errorf("Invalidate called %d times, %d gets; want 1 and 2", n, f.sim.Count(simulator.RouteGet))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, with{})
			tc.run(t, f, tc.auth(f))
		})
	}
}
