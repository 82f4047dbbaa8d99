package lease_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

const (
	iamUser     = "svc-leasebot"
	iamPassword = "pw-Hunter2-Correct-Horse"
	iamDomain   = "OTC-EU-DE-00000000001000000001"
)

// iamSetup serves IAM from the simulator and authenticates the client with
// a password; ttl is the token validity.
func iamSetup(t *testing.T, ttl time.Duration, password string) (*fixture, *lease.IAMPassword) {
	var auth *lease.IAMPassword
	f := setup(t, with{
		sim: func(o *simulator.Options) {
			o.IAM = &simulator.IAMUser{Name: iamUser, Password: iamPassword, Domain: iamDomain, TTL: ttl}
		},
		cfg: func(f *fixture, c *lease.Config) {
			auth = &lease.IAMPassword{Endpoint: f.srv.URL + "/v3", Username: iamUser, Password: password, Domain: iamDomain, ProjectID: project}
			c.Auth = auth
		},
	})
	return f, auth
}

func TestIAMTokenCached(t *testing.T) {
	f, _ := iamSetup(t, 24*time.Hour, iamPassword)
	id := running(f)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := f.c.Get(context.Background(), id); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := f.c.GetLease(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Count("token"); n != 1 {
		t.Errorf("%d token requests for 9 calls, want 1", n)
	}
}

func TestIAMTokenRefetchedBeforeExpiry(t *testing.T) {
	// Valid for 5 minutes and 300ms: cacheable for 300ms only.
	f, _ := iamSetup(t, 5*time.Minute+300*time.Millisecond, iamPassword)
	id := running(f)
	for range 2 {
		if _, err := f.c.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := f.c.Get(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Count("token"); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

func TestIAM401RefetchesOnce(t *testing.T) {
	for _, tc := range []struct {
		name          string
		times         int
		ok            bool
		tokens, calls int
	}{
		{"recovers", 1, true, 2, 2},
		{"gives up", 0, false, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := iamSetup(t, 24*time.Hour, iamPassword)
			id := running(f)
			f.sim.Inject(simulator.Fault{Route: "get", Status: 401, Code: "APIG.0307", Msg: "The token must be updated.", Times: tc.times})
			_, err := f.c.Get(context.Background(), id)
			if (err == nil) != tc.ok || !tc.ok && !errors.Is(err, lease.ErrAuth) {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
			if n, m := f.sim.Count("token"), f.sim.Count("get"); n != tc.tokens || m != tc.calls {
				t.Errorf("%d token requests and %d gets, want %d and %d", n, m, tc.tokens, tc.calls)
			}
		})
	}
}

func TestIAMExpiredTokenRejected(t *testing.T) {
	f, _ := iamSetup(t, 24*time.Hour, iamPassword)
	id := running(f)
	if _, err := f.c.Get(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(25 * time.Hour) // the server now sees the cached token as expired
	f.sim.SetStop(id, f.clk.Now().Add(time.Hour))
	if _, err := f.c.Get(context.Background(), id); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := f.sim.Count("token"); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

func TestIAMWrongPassword(t *testing.T) {
	f, _ := iamSetup(t, 24*time.Hour, "not-the-password")
	_, err := f.c.Get(context.Background(), running(f))
	if !errors.Is(err, lease.ErrAuth) {
		t.Fatalf("err = %v, want auth refused", err)
	}
	if f.sim.Count("get") != 0 || f.sim.Count("token") != 1 {
		t.Errorf("requests: %+v", f.sim.Requests())
	}
}

// Every error path the tests can force, checked for every secret.
func TestNoSecretsInErrors(t *testing.T) {
	const secToken = "sec-token-ZXCVBNMASDFGHJKL"
	secrets := []string{testSK, iamPassword, secToken, "MIIT"}
	ctx := context.Background()
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Errorf("error path %d did not fail", len(errs))
		}
		errs = append(errs, err)
	}

	f := setup(t, with{})
	id := running(f)
	for _, auth := range []lease.Authenticator{
		&lease.AKSK{AK: testAK, SK: testSK + "x", Now: f.clk.Now},
		&lease.AKSK{AK: testAK, SK: testSK, SecurityToken: secToken, Now: func() time.Time { return f.clk.Now().Add(-time.Hour) }},
	} {
		c, err := lease.New(withAuth(f.cfg, auth))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Get(ctx, id)
		collect(err)
		_, err = c.Renew(ctx, id, time.Now().Add(time.Hour))
		collect(err)
		_, err = c.List(ctx, lease.ListOptions{})
		collect(err)
	}
	// A server echoing secrets into its messages.
	f.sim.Inject(simulator.Fault{Route: "get", Status: 400, Code: "ModelArts.0101", Msg: "bad key " + testSK, Times: 1})
	_, err := f.c.Get(ctx, id)
	collect(err)
	f.sim.Inject(simulator.Fault{Route: "renew", Status: 500, Msg: "secret " + testSK})
	_, err = f.c.Renew(ctx, id, time.Now())
	collect(err)
	for _, ep := range []string{"https://ak:" + testSK + "@modelarts.example.com", "https://x.example.com/%zz" + testSK, "http://" + testSK + ".example.com"} {
		_, err := lease.New(lease.Config{Endpoint: ep, ProjectID: project, Auth: &lease.AKSK{AK: testAK, SK: testSK}})
		collect(err)
	}

	fi, _ := iamSetup(t, 24*time.Hour, iamPassword+"!")
	_, err = fi.c.Get(ctx, running(fi))
	collect(err)
	fi, _ = iamSetup(t, 24*time.Hour, iamPassword)
	fi.sim.Inject(simulator.Fault{Route: "token", Status: 401, Msg: "password " + iamPassword + " refused"})
	_, err = fi.c.Get(ctx, running(fi))
	collect(err)
	fi, _ = iamSetup(t, 24*time.Hour, iamPassword)
	idi := running(fi)
	_, _ = fi.c.Get(ctx, idi)
	fi.sim.Inject(simulator.Fault{Route: "get", Status: 401})
	_, err = fi.c.Get(ctx, idi)
	collect(err)
	fi.srv.Close()
	fi.cfg.Auth.(*lease.IAMPassword).Invalidate()
	_, err = fi.c.Get(ctx, idi)
	collect(err)
	_, err = lease.New(withAuth(f.cfg, &lease.IAMPassword{Endpoint: "https://u:" + iamPassword + "@iam.example.com", Username: "u", Password: iamPassword, Domain: "d", ProjectID: project}))
	collect(err)

	for i, err := range errs {
		if err == nil {
			continue
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %d leaks %q: %v", i, s, err)
			}
		}
	}
}

func TestIAMOutageIsRetried(t *testing.T) {
	f, _ := iamSetup(t, 24*time.Hour, iamPassword)
	f.sim.Inject(simulator.Fault{Route: "token", Status: 503, Times: 1})
	if _, err := f.c.Get(context.Background(), running(f)); err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Count("token"); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

// TestIAMTokenRedactedAfterCache: a token the cache no longer holds (IAM
// issued it for no longer than the 5-minute margin, so it was never
// cached) is still redacted from what a server echoes.
func TestIAMTokenRedactedAfterCache(t *testing.T) {
	var mu sync.Mutex
	var used []string
	var echo atomic.Bool
	var auth *lease.IAMPassword
	f := setup(t, with{
		sim: func(o *simulator.Options) {
			o.IAM = &simulator.IAMUser{Name: iamUser, Password: iamPassword, Domain: iamDomain, TTL: 5 * time.Minute}
		},
		cfg: func(f *fixture, c *lease.Config) {
			auth = &lease.IAMPassword{Endpoint: f.srv.URL, Username: iamUser, Password: iamPassword, Domain: iamDomain, ProjectID: project}
			c.Auth = auth
		},
		front: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			tok := r.Header.Get("X-Auth-Token")
			if tok != "" {
				mu.Lock()
				used = append(used, tok)
				mu.Unlock()
			}
			if tok != "" && echo.Load() {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error_code":"ModelArts.0101","error_msg":"bad token %s"}`, tok)
				return
			}
			next.ServeHTTP(w, r)
		},
	})
	id := running(f)
	if _, err := f.c.Get(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	first := used[len(used)-1]
	mu.Unlock()
	if !slices.Contains(auth.Secrets(), first) {
		t.Error("Secrets() lacks the token just used")
	}
	echo.Store(true)
	_, err := f.c.Get(context.Background(), id)
	mu.Lock()
	last := used[len(used)-1]
	mu.Unlock()
	if err == nil || strings.Contains(err.Error(), last) || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("err = %v; want the echoed token redacted", err)
	}
}
