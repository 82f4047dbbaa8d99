package main

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// fakeClock is a clock the test moves, shared by leasebot (through main's
// clock) and the simulator: a keep of days runs in seconds.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// useFakeClock makes leasebot and the harness's simulator read clk.
func useFakeClock(t *testing.T) (*fakeClock, func(*simulator.Options)) {
	clk := &fakeClock{t: time.Now().Truncate(time.Second)}
	clock = clk.Now
	t.Cleanup(func() { clock = time.Now })
	return clk, func(o *simulator.Options) { o.Now = clk.Now }
}

const keepChannel = `  C0KEEP:
    users: [U0ALICE]
    notebooks: ["*"]
    max_keep: 7d
    warn: false
`

// waitFor polls cond every 20ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// Three consecutive renewals of a kept notebook, across a restart, then the
// keep ends at its time, through the real wiring, with the clock moved forward.
func TestKeepEndToEnd(t *testing.T) {
	clk, simClock := useFakeClock(t)
	h := newHarness(t, harnessOptions{defaults: "  poll_interval: 1s\n  warn_before: [30m]\n", extraConfig: keepChannel, simOptions: simClock, noStart: true})
	nb := h.sim.AddRunning("marathon", 3*time.Hour)
	h.start()
	until := clk.Now().Add(6*24*time.Hour + 12*time.Hour).Truncate(time.Minute)
	r := h.command(alice, "C0KEEP", "keep marathon until "+until.UTC().Format("2006-01-02 15:04")) // alice's zone is Berlin: say UTC times in her zone
	if !strings.Contains(r.Text, "keeps") {
		// her zone is Europe/Berlin; the time above was read there
		t.Logf("keep reply: %q", r.Text)
	}
	if r.ResponseType != "in_channel" {
		t.Fatalf("keep: %q", r.Text)
	}
	kept := h.command(alice, "C0KEEP", "status marathon")
	if !strings.Contains(kept.Text, "Kept running until") {
		t.Errorf("status: %q", kept.Text)
	}
	renewals := 0
	for step := 0; step < 20 && renewals < 4; step++ {
		stop := stopOf(t, h.sim, nb.ID)
		clk.Set(stop.Add(-time.Hour + 30*time.Second))
		before := h.sim.Count(simulator.RouteRenew)
		if !waitFor(5*time.Second, func() bool { return h.sim.Count(simulator.RouteRenew) > before }) {
			break // the last lease ends with the keep: nothing more to renew
		}
		renewals++
		if got := stopOf(t, h.sim, nb.ID); got.After(until) || got.Sub(clk.Now()) > lease.MaxDuration {
			t.Errorf("renewal %d set %v: beyond the keep's end %v or 72h", renewals, got, until)
		}
		if renewals == 1 {
			h.restart() // the keep lives in the store: a restart loses nothing
			if n := h.sim.Count(simulator.RouteRenew); n != before+1 {
				t.Errorf("a restart renewed again: %d renewals", n-before)
			}
		}
	}
	if renewals < 3 {
		t.Fatalf("%d renewals, want at least 3; stderr:\n%s", renewals, h.stderr.String())
	}
	final := stopOf(t, h.sim, nb.ID)
	clk.Set(final.Add(time.Minute)) // past the keep's end
	if _, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == "C0KEEP" && strings.Contains(m.Text, "has ended, as planned")
	}, 10*time.Second); !ok {
		t.Error("the keep's end was not told")
	}
	n := 0
	for _, rec := range h.auditLines() {
		if rec["verb"] == "keep-renew" {
			n++
			if rec["user"] != alice {
				t.Errorf("keep-renew audited for %v, want the person who set the keep", rec["user"])
			}
		}
	}
	if n != renewals {
		t.Errorf("%d keep-renew audit lines for %d renewals", n, renewals)
	}
}

const approvalChannel = `  C0APPR:
    users: [U0ALICE, U0BOB]
    notebooks: ["*"]
    max_extend: 2h
    warn: false
    approvers:
      users: [U0ADMIN]
`

// blockButtonsOf lists the buttons in raw blocks.
func blockButtonsOf(t *testing.T, raw json.RawMessage) []blockButton {
	t.Helper()
	return buttons(t, slackfake.Message{Blocks: raw})
}

func TestApprovalEndToEndAndAcrossARestart(t *testing.T) {
	h := newHarness(t, harnessOptions{extraConfig: approvalChannel})
	nb := h.sim.AddRunning("needs-more", 2*time.Hour)
	before := stopOf(t, h.sim, nb.ID)
	r := h.command(alice, "C0APPR", "extend needs-more 10h")
	bs := blockButtonsOf(t, r.Blocks)
	if len(bs) != 1 || bs[0].Text.Text != "Ask for approval" || r.ResponseType != "ephemeral" {
		t.Fatalf("the refusal carries no Ask for approval: %q %+v", r.Text, bs)
	}
	h.click(alice, slackfake.Message{Channel: "C0APPR"}, bs[0])
	req, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == "C0APPR" && strings.Contains(m.Text, "asks to extend") && !m.Ephemeral
	}, 10*time.Second)
	if !ok {
		t.Fatalf("no request posted; stderr:\n%s", h.stderr.String())
	}
	if !strings.Contains(req.Text, "<@"+adminUser+">") {
		t.Errorf("the request does not mention the approver: %q", req.Text)
	}
	// A restart with the request pending loses nothing.
	h.restart()
	h.click(alice, req, buttonLabeled(t, req, "Approve")) // the requester cannot
	h.click(adminUser, req, buttonLabeled(t, req, "Approve"))
	h.click(adminUser, req, buttonLabeled(t, req, "Approve")) // a double click
	if _, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.TS == req.TS && strings.Contains(m.Text, "approved") && len(buttons(t, m)) == 0
	}, 10*time.Second); !ok {
		t.Fatal("the request was not updated after the approval")
	}
	time.Sleep(500 * time.Millisecond)
	if got := stopOf(t, h.sim, nb.ID); !near(got, before.Add(10*time.Hour), 3*time.Second) {
		t.Errorf("stop %v, want +10h from %v", got, before)
	}
	if n := h.sim.Count(simulator.RouteRenew); n != 1 {
		t.Errorf("%d renewals for one approved request", n)
	}
	if _, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == slackfake.DMChannel(alice) && strings.Contains(m.Text, "Your request")
	}, 5*time.Second); !ok {
		t.Error("the requester was not told")
	}
	var approval map[string]any
	for _, rec := range h.auditLines() {
		// The double click's refusal may be logged before or after it.
		if rec["verb"] == "approve" && rec["outcome"] != "refused" {
			approval = rec
		}
	}
	if approval == nil || approval["user"] != alice || approval["approver"] != adminUser {
		t.Errorf("the approval's audit line names requester and approver: %v", approval)
	}
}

const startStopChannel = `  C0OPS:
    users: [U0ALICE]
    notebooks: ["*"]
    actions: [extend, start, stop]
    warn: false
`

func TestStartAndStopEndToEnd(t *testing.T) {
	h := newHarness(t, harnessOptions{extraConfig: startStopChannel, simOptions: func(o *simulator.Options) { o.Transition = time.Second }})
	parked := h.sim.Add(lease.Notebook{Name: "parked", Status: lease.StatusStopped})
	broken := h.sim.Add(lease.Notebook{Name: "broken", Status: lease.StatusStopped})
	running := h.sim.AddRunning("busy", 3*time.Hour)

	// Refused where the channel does not allow it, before any ModelArts
	// call (but the watcher's listings of running notebooks, which go on).
	about := func() int {
		n := 0
		for _, r := range h.sim.Requests() {
			if r.Route != simulator.RouteList || !strings.Contains(r.Query, "status=RUNNING") {
				n++
			}
		}
		return n
	}
	requests := about()
	for _, text := range []string{"start parked", "stop busy"} {
		if r := h.command(alice, chML, text); !strings.Contains(r.Text, "does not allow members") {
			t.Errorf("%q in a channel without the action: %q", text, r.Text)
		}
	}
	if n := about() - requests; n != 0 {
		t.Errorf("refused actions made %d ModelArts requests", n)
	}

	// Start: announced at once, updated with the stop time once running.
	h.command(alice, "C0OPS", "start parked 2h")
	announced, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == "C0OPS" && strings.Contains(m.Text, "started") && strings.Contains(m.Text, parked.ID)
	}, 10*time.Second)
	if !ok {
		t.Fatalf("no start announced; stderr:\n%s", h.stderr.String())
	}
	if _, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.TS == announced.TS && strings.Contains(m.Text, "running and stops") && strings.Contains(m.Text, "<!date^")
	}, 20*time.Second); !ok {
		t.Error("the start announcement was not updated with the stop time")
	}
	if q := lastQuery(h.sim, simulator.RouteStart); !strings.Contains(q, "duration=7200000") || !strings.Contains(q, "type=timing") {
		t.Errorf("start sent %q, want duration=7200000 and type=timing", q)
	}

	// A start that fails says why.
	h.sim.FailStart(broken.ID, "insufficient backend resources")
	h.command(alice, "C0OPS", "start broken")
	if _, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == "C0OPS" && strings.Contains(m.Text, "did not start") && strings.Contains(m.Text, "insufficient backend resources")
	}, 20*time.Second); !ok {
		t.Error("a failed start was not reported with its reason")
	}
	if r := h.command(alice, "C0OPS", "start busy"); !strings.Contains(r.Text, "already running") {
		t.Errorf("starting a running notebook: %q", r.Text)
	}

	// Stop: asks first; Stop now stops once, even clicked twice.
	r := h.command(alice, "C0OPS", "stop busy")
	bs := blockButtonsOf(t, r.Blocks)
	if len(bs) != 2 || bs[0].Text.Text != "Stop now" || h.sim.Count(simulator.RouteStop) != 0 {
		t.Fatalf("stop did not ask first: %q %+v", r.Text, bs)
	}
	h.click(alice, slackfake.Message{Channel: "C0OPS"}, bs[0])
	h.click(alice, slackfake.Message{Channel: "C0OPS"}, bs[0])
	if _, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == "C0OPS" && strings.Contains(m.Text, "stopped") && strings.Contains(m.Text, running.ID)
	}, 10*time.Second); !ok {
		t.Error("the stop was not announced")
	}
	time.Sleep(500 * time.Millisecond)
	if n := h.sim.Count(simulator.RouteStop); n != 1 {
		t.Errorf("%d stop calls after a double click", n)
	}
	if r := h.command(alice, "C0OPS", "stop busy"); !strings.Contains(r.Text, "only a running notebook can be stopped") {
		t.Errorf("stopping a stopped notebook: %q", r.Text)
	}
}

// lastQuery is the query of the last request to route.
func lastQuery(sim *simulator.Server, route string) string {
	q := ""
	for _, r := range sim.Requests() {
		if r.Route == route {
			q = r.Query
		}
	}
	return q
}

// A start announced by a leasebot that is then stopped (as on SIGTERM) is
// finished by the leasebot that runs next on the same store: the
// announcement is updated once the notebook runs, once.
func TestStartFinishedAfterARestart(t *testing.T) {
	h := newHarness(t, harnessOptions{extraConfig: startStopChannel, simOptions: func(o *simulator.Options) { o.Transition = 3 * time.Second }})
	parked := h.sim.Add(lease.Notebook{Name: "across-restart", Status: lease.StatusStopped})
	h.command(alice, "C0OPS", "start across-restart 2h")
	announced, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == "C0OPS" && strings.Contains(m.Text, "started") && strings.Contains(m.Text, parked.ID)
	}, 10*time.Second)
	if !ok {
		t.Fatalf("no start announced; stderr:\n%s", h.stderr.String())
	}
	h.restart()
	if _, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.TS == announced.TS && strings.Contains(m.Text, "running and stops")
	}, 30*time.Second); !ok {
		t.Fatalf("the announcement was not updated after the restart; stderr:\n%s", h.stderr.String())
	}
	time.Sleep(2 * time.Second) // another cycle
	if n := h.slack.Calls("chat.update"); n != 1 {
		t.Errorf("chat.update called %d times, want 1", n)
	}
}
