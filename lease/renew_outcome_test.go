package lease_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// A handler in front of the simulator for one route; it may call next.
type intercept func(w http.ResponseWriter, r *http.Request, next http.Handler)

// applyThenHang lets the simulator apply the request, then never answers:
// the client gives up with the change made.
func applyThenHang(w http.ResponseWriter, r *http.Request, next http.Handler) {
	next.ServeHTTP(httptest.NewRecorder(), r)
	<-r.Context().Done()
}

// hang never answers and applies nothing. It reads the body, or the server
// would not notice the client going away.
func hang(_ http.ResponseWriter, r *http.Request, _ http.Handler) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// applyThenAnswer lets the simulator apply the request, then answers status
// with body instead of the simulator's answer.
func applyThenAnswer(status int, body string) intercept {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(httptest.NewRecorder(), r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// applyThenShift lets the simulator answer, then moves the stop time in its
// lease answer by d.
func applyThenShift(d time.Duration) intercept {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var l lease.Lease
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
			panic(err)
		}
		l.Duration += d.Milliseconds()
		b, _ := json.Marshal(l)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		w.Write(b)
	}
}

// TestRenewOutcome checks that Renew never reports a plain failure for a
// renewal that may have been applied, and never returns a stop time it has
// no reason to believe.
func TestRenewOutcome(t *testing.T) {
	const target = 4 * time.Hour
	bogus := `{"create_at":1,"duration":1,"enable":true,"type":"TIMING"}` // stops in 1970
	for _, tc := range []struct {
		name           string
		reply204       bool
		stopped        bool
		renew, lease   intercept
		fault          *simulator.Fault
		ctxTimeout     time.Duration // caller's deadline; 0: none
		budget         time.Duration // retry budget; 0: the fixture's
		kind           lease.Kind    // KindOther with ok: success
		ok             bool
		ctxErr         error // must stay visible through errors.Is
		leaseReads     int
		appliedInStore bool
	}{
		{name: "plain success", ok: true, appliedInStore: true},
		{name: "caller's deadline passes in flight, renewal applied", renew: applyThenHang, ctxTimeout: 300 * time.Millisecond,
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "caller's deadline passes in flight, nothing applied", renew: hang, ctxTimeout: 300 * time.Millisecond,
			kind: lease.KindUnknown, ctxErr: context.DeadlineExceeded, leaseReads: 1},
		{name: "retry budget ends in flight, renewal applied", renew: applyThenHang, budget: 300 * time.Millisecond,
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "2xx that cannot be decoded, applied", renew: applyThenAnswer(200, `{"create_at":`),
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "gateway timeout after applying", renew: applyThenAnswer(504, `{"error_code":"APIG.0201","error_msg":"Backend timeout."}`), budget: 500 * time.Millisecond,
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "gateway timeout, nothing applied", fault: &simulator.Fault{Route: simulator.RouteRenew, Status: 504}, budget: 500 * time.Millisecond,
			kind: lease.KindUnknown, leaseReads: 1},
		{name: "bad gateway after applying", renew: applyThenAnswer(502, `{"error_code":"APIG.0202","error_msg":"Backend unavailable."}`), budget: 500 * time.Millisecond,
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "bad gateway, nothing applied", fault: &simulator.Fault{Route: simulator.RouteRenew, Status: 502}, budget: 500 * time.Millisecond,
			kind: lease.KindUnknown, leaseReads: 1},
		{name: "applied, then 502 on every attempt", fault: &simulator.Fault{Route: simulator.RouteRenew, Status: 502, Apply: true}, budget: 500 * time.Millisecond,
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "applied, then 504 on every attempt", fault: &simulator.Fault{Route: simulator.RouteRenew, Status: 504, Apply: true}, budget: 500 * time.Millisecond,
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "applied, then 502, and the read-back fails", fault: &simulator.Fault{Route: simulator.RouteRenew, Status: 502, Apply: true},
			lease: applyThenAnswer(403, `{"error_code":"ModelArts.0108"}`), budget: 500 * time.Millisecond,
			kind: lease.KindUnknown, leaseReads: 1, appliedInStore: true},
		{name: "bad gateway, then applied on a retry", fault: &simulator.Fault{Route: simulator.RouteRenew, Status: 502, Times: 1},
			ok: true, appliedInStore: true},
		{name: "200 with a stop in 1970 is read back", renew: applyThenAnswer(200, bogus),
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "200 with a stop in 1970, read back the same", renew: applyThenAnswer(200, bogus), lease: applyThenAnswer(200, bogus),
			kind: lease.KindUnknown, leaseReads: 1, appliedInStore: true},
		{name: "200 with a stop within the limits but far from the one asked", renew: applyThenShift(60 * time.Hour),
			ok: true, leaseReads: 1, appliedInStore: true},
		{name: "200 and read-back both far from the one asked", renew: applyThenShift(60 * time.Hour), lease: applyThenShift(60 * time.Hour),
			kind: lease.KindUnknown, leaseReads: 1, appliedInStore: true},
		{name: "204 read back unbelievable", reply204: true, lease: applyThenAnswer(200, bogus),
			kind: lease.KindUnknown, leaseReads: 1, appliedInStore: true},
		{name: "204 whose read-back fails returns the stop asked for", reply204: true,
			fault: &simulator.Fault{Route: simulator.RouteLease, Status: 403}, ok: true, leaseReads: 1, appliedInStore: true},
		{name: "500s are refusals: nothing read back", fault: &simulator.Fault{Route: simulator.RouteRenew, Status: 500}, budget: 500 * time.Millisecond,
			kind: lease.KindUnavailable},
		{name: "not running stays not running", stopped: true, kind: lease.KindNotRunning},
		{name: "not running after a lost answer stays not running", stopped: true,
			fault: &simulator.Fault{Route: simulator.RouteRenew, Status: 504, Times: 1}, kind: lease.KindNotRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, with{
				sim: func(o *simulator.Options) { o.Reply204 = tc.reply204 },
				cfg: func(_ *fixture, c *lease.Config) {
					if tc.budget != 0 {
						c.RetryBudget = tc.budget
					}
				},
				front: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					switch {
					case r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/lease") && tc.renew != nil:
						tc.renew(w, r, next)
					case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/lease") && tc.lease != nil:
						tc.lease(w, r, next)
					default:
						next.ServeHTTP(w, r)
					}
				},
			})
			var nb lease.Notebook
			if tc.stopped {
				nb = f.sim.Add(lease.Notebook{Status: lease.StatusStopped})
			} else {
				nb = f.sim.AddRunning("nb", time.Hour)
			}
			if tc.fault != nil {
				f.sim.Inject(*tc.fault)
			}
			ctx := context.Background()
			if tc.ctxTimeout != 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
				defer cancel()
			}
			want := f.clk.Now().Add(target)
			got, err := f.c.Renew(ctx, nb.ID, want)
			if tc.ok {
				if err != nil || !got.Equal(want) {
					t.Errorf("Renew = %v, %v; want %v", got, err, want)
				}
			} else {
				if k := lease.KindOf(err); k != tc.kind || !got.IsZero() {
					t.Errorf("Renew = %v, %v (kind %v); want kind %v", got, err, k, tc.kind)
				}
				if tc.kind == lease.KindUnknown && !errors.Is(err, lease.ErrUnknown) {
					t.Errorf("errors.Is(%v, ErrUnknown) = false", err)
				}
				if tc.kind == lease.KindUnknown && (errors.Is(err, lease.ErrUnavailable) || errors.Is(err, lease.ErrNotRunning)) {
					t.Errorf("an outcome-unknown error also matches another kind: %v", err)
				}
			}
			if err != nil {
				t.Log(err)
			}
			if tc.ctxErr != nil && !errors.Is(err, tc.ctxErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.ctxErr)
			}
			if n := f.sim.Count(simulator.RouteLease); n != tc.leaseReads {
				t.Errorf("%d lease reads, want %d", n, tc.leaseReads)
			}
			if stored, _ := f.sim.Notebook(nb.ID); stored.StopTime().Equal(want) != tc.appliedInStore {
				t.Errorf("simulator stop %v, target %v, applied should be %v", stored.StopTime(), want, tc.appliedInStore)
			}
		})
	}
}

// TestStartStopOutcome checks that Start and Stop, like Renew, never report
// a plain failure for a change that may have been made.
func TestStartStopOutcome(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start      bool // Start a stopped notebook; else Stop a running one
		front      intercept
		fault      *simulator.Fault
		ctxTimeout time.Duration
		kind       lease.Kind // KindOther with ok
		ok         bool
		applied    bool // the simulator shows the start or stop made
	}{
		{name: "start answered", start: true, ok: true},
		{name: "stop answered", ok: true},
		{name: "start applied, caller's deadline passes in flight", start: true, front: applyThenHang, ctxTimeout: 300 * time.Millisecond, kind: lease.KindUnknown},
		{name: "stop applied, caller's deadline passes in flight", front: applyThenHang, ctxTimeout: 300 * time.Millisecond, kind: lease.KindUnknown},
		{name: "start applied, 2xx that cannot be read", start: true, front: applyThenAnswer(200, `{"id":`), kind: lease.KindUnknown},
		{name: "stop applied, gateway timeout", front: applyThenAnswer(504, `{"error_code":"APIG.0201","error_msg":"Backend timeout."}`), kind: lease.KindUnknown},
		{name: "stop applied, bad gateway", front: applyThenAnswer(502, `{"error_code":"APIG.0202","error_msg":"Backend unavailable."}`), kind: lease.KindUnknown},
		{name: "start applied, bad gateway", start: true, front: applyThenAnswer(502, `{"error_code":"APIG.0202","error_msg":"Backend unavailable."}`), kind: lease.KindUnknown},
		{name: "start refused with 500: nothing made", start: true, fault: &simulator.Fault{Route: simulator.RouteStart, Status: 500}, kind: lease.KindUnavailable},
		{name: "start applied, then 502", start: true, fault: &simulator.Fault{Route: simulator.RouteStart, Status: 502, Apply: true}, kind: lease.KindUnknown, applied: true},
		{name: "start applied, then 504", start: true, fault: &simulator.Fault{Route: simulator.RouteStart, Status: 504, Apply: true}, kind: lease.KindUnknown, applied: true},
		{name: "stop applied, then 502", fault: &simulator.Fault{Route: simulator.RouteStop, Status: 502, Apply: true}, kind: lease.KindUnknown, applied: true},
		{name: "stop applied, then 504", fault: &simulator.Fault{Route: simulator.RouteStop, Status: 504, Apply: true}, kind: lease.KindUnknown, applied: true},
		{name: "stop not applied, 502", fault: &simulator.Fault{Route: simulator.RouteStop, Status: 502}, kind: lease.KindUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			route := "/stop"
			if tc.start {
				route = "/start"
			}
			f := setup(t, with{
				cfg: func(_ *fixture, c *lease.Config) { c.RetryBudget = time.Second },
				front: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, route) && tc.front != nil {
						tc.front(w, r, next)
						return
					}
					next.ServeHTTP(w, r)
				},
			})
			var nb lease.Notebook
			if tc.start {
				nb = f.sim.Add(lease.Notebook{Status: lease.StatusStopped})
			} else {
				nb = f.sim.AddRunning("nb", 3*time.Hour)
			}
			if tc.fault != nil {
				f.sim.Inject(*tc.fault)
			}
			ctx := context.Background()
			if tc.ctxTimeout != 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
				defer cancel()
			}
			var err error
			if tc.start {
				_, err = f.c.Start(ctx, nb.ID, 2*time.Hour)
			} else {
				_, err = f.c.Stop(ctx, nb.ID)
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if k := lease.KindOf(err); k != tc.kind {
				t.Errorf("err = %v (kind %v), want kind %v", err, k, tc.kind)
			}
			if tc.kind == lease.KindUnknown && errors.Is(err, lease.ErrUnavailable) {
				t.Errorf("an outcome-unknown error also matches unavailable: %v", err)
			}
			if tc.fault != nil {
				stored, _ := f.sim.Notebook(nb.ID)
				made := stored.Status != lease.StatusStopped
				if !tc.start {
					made = stored.Status == lease.StatusStopping || stored.Status == lease.StatusStopped
				}
				if made != tc.applied {
					t.Errorf("simulator status %s: applied %v, want %v", stored.Status, made, tc.applied)
				}
			}
		})
	}
}
