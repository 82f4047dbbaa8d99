package lease_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// TestRedactBeforeCut has the server echo a secret across the point where
// long messages are cut (300 bytes): no part of the secret may survive, and
// the cut must never split a UTF-8 sequence.
func TestRedactBeforeCut(t *testing.T) {
	const cut = 300
	straddle := func(secret string) string {
		return strings.Repeat("x", cut-len(secret)/2) + secret + " trailing text"
	}
	akskFixture := func(t *testing.T) *fixture { return setup(t, with{}) }
	iamFixture := func(t *testing.T) *fixture { f, _ := iamSetup(t, 24*time.Hour, iamPassword); return f }
	for _, tc := range []struct {
		name   string
		fix    func(*testing.T) *fixture
		route  string
		status int
		msg    string
		secret string // must not appear, not even its first half
	}{
		{"AK/SK: secret key across the cut", akskFixture, simulator.RouteGet, 400, straddle(testSK), testSK},
		{"IAM: password across the cut", iamFixture, simulator.RouteToken, 401, straddle(iamPassword), iamPassword},
		{"cut inside a multi-byte rune", akskFixture, simulator.RouteGet, 400, "x" + strings.Repeat("é", 200), ""},
		{"cut inside a 4-byte rune", iamFixture, simulator.RouteToken, 401, "xx" + strings.Repeat("😀", 100), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fix(t)
			id := running(f)
			f.sim.Inject(simulator.Fault{Route: tc.route, Status: tc.status, Code: "ModelArts.0101", Msg: tc.msg})
			_, err := f.c.Get(context.Background(), id)
			if err == nil {
				t.Fatal("Get succeeded")
			}
			var e *lease.Error
			if !asError(err, &e) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			// A token failure is an *Error inside the call's *Error.
			var inner *lease.Error
			if e.Message == "" && asError(e.Err, &inner) {
				e = inner
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret[:len(tc.secret)/2]) {
				t.Errorf("part of the secret leaks: %v", err)
			}
			if !utf8.ValidString(e.Message) || !utf8.ValidString(err.Error()) {
				t.Errorf("message cut inside a rune: %q", e.Message)
			}
			if body := strings.TrimSuffix(e.Message, "…"); len(body) > cut || len(body) < cut-3 {
				t.Errorf("message of %d bytes, want about %d", len(body), cut)
			}
		})
	}
}
