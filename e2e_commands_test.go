package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease/simulator"
)

func TestExtendByIDAndByName(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("ml-train", 3*time.Hour)
	before := stopOf(t, h.sim, nb.ID)

	resp := h.command(alice, chML, "extend "+nb.ID+" 2h")
	if resp.ResponseType != "in_channel" {
		t.Errorf("a successful extension should be in_channel, got %q: %s", resp.ResponseType, resp.Text)
	}
	after := stopOf(t, h.sim, nb.ID)
	if !near(after, before.Add(2*time.Hour), 2*time.Second) {
		t.Errorf("stop moved from %v to %v, want +2h", before, after)
	}
	for _, want := range []string{"<@" + alice + ">", "ml-train", nb.ID, "by 2h", fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|", after.Unix()), "in 5h"} {
		if !strings.Contains(resp.Text, want) {
			t.Errorf("reply %q lacks %q", resp.Text, want)
		}
	}

	resp = h.command(alice, chML, "extend ml-train 90m")
	if got := stopOf(t, h.sim, nb.ID); !near(got, after.Add(90*time.Minute), 2*time.Second) {
		t.Errorf("by name: stop %v, want %v (reply %q)", got, after.Add(90*time.Minute), resp.Text)
	}
	if len(h.auditLines()) != 2 {
		t.Errorf("want 2 audit lines, got %d", len(h.auditLines()))
	}
}

func TestExtendUntilInCallersTimeZone(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("until-me", 2*time.Hour)
	loc, _ := time.LoadLocation("Asia/Kolkata") // carol's zone
	now := time.Now().In(loc)
	target := time.Date(now.Year(), now.Month(), now.Day()+1, 9, 0, 0, 0, loc)
	if time.Until(target) > 8*time.Hour {
		target = time.Now().Add(5 * time.Hour).In(loc).Truncate(time.Minute)
	}
	text := fmt.Sprintf("extend %s until %s", nb.ID, target.Format("2006-01-02 15:04"))
	resp := h.command(carol, chML, text) // carol is allowed through the user group
	if got := stopOf(t, h.sim, nb.ID); !near(got, target, 2*time.Second) {
		t.Fatalf("until: stop %v, want %v; reply %q", got, target, resp.Text)
	}
}

func TestACL(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("acl-nb", 3*time.Hour)
	teamB := h.sim.AddRunning("team-b-box", 3*time.Hour)
	cases := []struct {
		name, user, channel, text, want string
	}{
		{"user not on the list", bob, chML, "extend acl-nb 1h", "not on this channel"},
		{"unlisted channel", alice, chUnknown, "extend acl-nb 1h", "not set up for this channel"},
		{"direct message", alice, "D0DIRECT", "extend acl-nb 1h", "direct messages"},
		{"notebook not covered", alice, chOther, "extend acl-nb 1h", "not managed from this channel"},
		{"list in unlisted channel", alice, chUnknown, "list", "not set up for this channel"},
		{"help in a DM", bob, "D0DIRECT", "help", "direct messages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			renews := h.sim.Count(simulator.RouteRenew)
			resp := h.command(c.user, c.channel, c.text)
			if !strings.Contains(resp.Text, c.want) || resp.ResponseType != "ephemeral" {
				t.Errorf("reply %q (%s), want ephemeral containing %q", resp.Text, resp.ResponseType, c.want)
			}
			if h.sim.Count(simulator.RouteRenew) != renews {
				t.Error("a refused command reached ModelArts' renew")
			}
		})
	}
	before := stopOf(t, h.sim, teamB.ID)
	h.command(alice, chOther, "extend team-b-box 1h")
	if !stopOf(t, h.sim, teamB.ID).After(before) {
		t.Error("alice could not extend a notebook her channel covers")
	}
	before = stopOf(t, h.sim, nb.ID)
	h.command(adminUser, chOther, "extend acl-nb 1h")
	if !stopOf(t, h.sim, nb.ID).After(before) {
		t.Error("an admin could not extend from another configured channel")
	}
}

func TestRefusalsMakeNoAPICall(t *testing.T) {
	h := newHarness(t, harnessOptions{maxExtend: "4h"})
	nb := h.sim.AddRunning("limits", 3*time.Hour)
	stopped := h.sim.AddRunning("parked", 2*time.Hour)
	h.sim.SetStatus(stopped.ID, "STOPPED")
	far := h.sim.AddRunning("far-away", 70*time.Hour)
	h.sim.AddRunning("twin", 2*time.Hour)
	h.sim.AddRunning("twin", 4*time.Hour)
	cases := []struct{ text, want string }{
		{"extend limits 5h", "at most 4h"},
		{"extend far-away 4h", "at most 2h"},
		{"extend parked 1h", "STOPPED"},
		{"extend twin 1h", "2 notebooks are called"},
		{"extend limits 2", "unit"},
		{"extend limits -1h", ""},
		{"extend limits 0m", ""},
		{"extend limits", ""},
		{"extend", ""},
		{"extnd limits 1h", "extend"},
		{"frobnicate", ""},
		{"extend limits 2h please", ""},
		{"extend limits until 25:99", ""},
		{"extend limits until yesterday", ""},
		{"extend limits until 2001-01-01 10:00", ""},
		{"extend limits abc", ""},
		{"extend limits 1y", ""},
		{"extend limits 99999999h", ""},
		{"extend <script> 1h", ""},
		{"extend " + strings.Repeat("x", 300) + " 1h", ""},
		{"status", ""},
		{"status no-such-notebook", "No notebook is called"},
		{"extend no-such-notebook 1h", "No notebook is called"},
		{"extend 00000000-0000-4000-8000-000000000000 1h", "No such notebook"},
		{"extend limits PT", ""},
		{"extend limits 1.5.5h", ""},
		{"extend limits until", ""},
	}
	renews := h.sim.Count(simulator.RouteRenew)
	time.Sleep(100 * time.Millisecond) // let the watcher's first listing finish
	for _, c := range cases {
		requests := len(h.sim.Requests())
		resp := h.command(alice, chML, c.text)
		// A command the grammar refuses must not reach ModelArts at all.
		if c.want == "" && len(h.sim.Requests()) != requests {
			t.Errorf("%q: a malformed command made %d ModelArts requests", c.text, len(h.sim.Requests())-requests)
		}
		if resp.ResponseType != "ephemeral" || strings.TrimSpace(resp.Text) == "" {
			t.Errorf("%q: want a non-empty ephemeral reply, got %q (%s)", c.text, resp.Text, resp.ResponseType)
		}
		if c.want != "" && !strings.Contains(resp.Text, c.want) {
			t.Errorf("%q: reply %q lacks %q", c.text, resp.Text, c.want)
		}
	}
	if got := h.sim.Count(simulator.RouteRenew); got != renews {
		t.Errorf("refused commands made %d renew calls", got-renews)
	}
	if !near(stopOf(t, h.sim, far.ID), time.Now().Add(70*time.Hour), time.Minute) || !near(stopOf(t, h.sim, nb.ID), time.Now().Add(3*time.Hour), time.Minute) {
		t.Error("a refused command changed a stop time")
	}
}

func TestRaisedToOneHour(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("almost-gone", 5*time.Minute)
	resp := h.command(alice, chML, "extend "+nb.ID+" 10m")
	if got := stopOf(t, h.sim, nb.ID); !near(got, time.Now().Add(time.Hour), 5*time.Second) {
		t.Errorf("stop %v, want 1h from now", got)
	}
	if !strings.Contains(resp.Text, "at least 1h") {
		t.Errorf("reply %q should say it was raised to 1h", resp.Text)
	}
}

func TestModelArtsErrorsInWords(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("flaky", 3*time.Hour)
	cases := []struct {
		fault simulator.Fault
		want  string
	}{
		{simulator.Fault{Route: simulator.RouteRenew, Status: 403, Code: "ModelArts.0108", Times: 1}, "credentials were refused"},
		{simulator.Fault{Route: simulator.RouteRenew, Status: 401, Times: 5}, "credentials were refused"},
		{simulator.Fault{Route: simulator.RouteRenew, Status: 400, Code: "ModelArts.6357", Times: 1}, "busy"},
		{simulator.Fault{Route: simulator.RouteRenew, Status: 400, Code: "ModelArts.6327", Times: 1}, "not running"},
		{simulator.Fault{Route: simulator.RouteRenew, Status: 400, Code: "ModelArts.6349", Times: 1}, "out of range"},
		{simulator.Fault{Route: simulator.RouteGet, Status: 400, Code: "ModelArts.6309", Times: 1}, "No such notebook"},
	}
	for _, c := range cases {
		h.sim.Inject(c.fault)
		resp := h.command(alice, chML, "extend "+nb.ID+" 1h")
		if !strings.Contains(resp.Text, c.want) || resp.ResponseType != "ephemeral" {
			t.Errorf("%s %s: reply %q, want ephemeral with %q", c.fault.Route, c.fault.Code, resp.Text, c.want)
		}
		h.sim.Reset()
	}
	if !strings.Contains(h.stderr.String(), "ModelArts.0108") {
		t.Error("the refused-credentials error code was not logged")
	}
}

func TestRetryKeepsTargetStopTime(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("retry-me", 3*time.Hour)
	before := stopOf(t, h.sim, nb.ID)
	h.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Status: 500, Times: 2, Latency: 300 * time.Millisecond})
	resp := h.command(alice, chML, "extend "+nb.ID+" 2h")
	if got := stopOf(t, h.sim, nb.ID); !near(got, before.Add(2*time.Hour), 2*time.Second) {
		t.Errorf("after 500, 500, 200: stop %v, want %v (reply %q)", got, before.Add(2*time.Hour), resp.Text)
	}
	if n := h.sim.Count(simulator.RouteRenew); n != 3 {
		t.Errorf("want 3 renew attempts, got %d", n)
	}
}

func TestRedeliveredEnvelopeActsOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("once", 3*time.Hour)
	env := h.slack.SlashCommand(alice, chML, "extend "+nb.ID+" 1h")
	if _, ok := h.slack.WaitResponse(env, 10*time.Second); !ok {
		t.Fatal("no reply")
	}
	h.slack.Redeliver(env)
	time.Sleep(300 * time.Millisecond)
	if n := h.sim.Count(simulator.RouteRenew); n != 1 {
		t.Errorf("a redelivered envelope was acted on again: %d renews", n)
	}
	if h.slack.Acks(env.ID) < 2 {
		t.Error("the redelivery was not acked")
	}
}

func TestListAndStatus(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	a := h.sim.AddRunning("list-a", 5*time.Hour)
	h.sim.AddRunning("list-b", 2*time.Hour)
	s := h.sim.AddRunning("list-stopped", 2*time.Hour)
	h.sim.SetStatus(s.ID, "STOPPED")
	resp := h.command(alice, chML, "list")
	ia, ib, is := strings.Index(resp.Text, "list-a"), strings.Index(resp.Text, "list-b"), strings.Index(resp.Text, "list-stopped")
	if ia < 0 || ib < 0 || is < 0 || !(ib < ia && ia < is) {
		t.Errorf("list should show running first (soonest first), then stopped: %q", resp.Text)
	}
	resp = h.command(alice, chML, "status "+a.ID)
	for _, want := range []string{"list-a", a.ID, "RUNNING", "<!date^", "in 5h"} {
		if !strings.Contains(resp.Text, want) {
			t.Errorf("status %q lacks %q", resp.Text, want)
		}
	}
	if resp.ResponseType != "ephemeral" {
		t.Error("status should be ephemeral")
	}
	if resp := h.command(alice, chML, "help"); !strings.Contains(resp.Text, "extend") {
		t.Errorf("help: %q", resp.Text)
	}
}

func TestLimitRefusalsMakeNoModelArtsRequestAtAll(t *testing.T) {
	h := newHarness(t, harnessOptions{maxExtend: "4h"})
	h.sim.AddRunning("untouched", 3*time.Hour)
	time.Sleep(100 * time.Millisecond) // let the watcher's first listing finish
	before := len(h.sim.Requests())
	for _, text := range []string{"extend untouched 5h", "extend untouched 73h", "extend untouched 2", "extend untouched", "frobnicate untouched 1h"} {
		if resp := h.command(alice, chML, text); resp.ResponseType != "ephemeral" {
			t.Errorf("%q: %q", text, resp.Text)
		}
	}
	if got := len(h.sim.Requests()) - before; got != 0 {
		t.Errorf("refusals made %d ModelArts requests, want none", got)
	}
	if n := len(h.auditLines()); n != 4 {
		t.Errorf("want an audit line for each refused extend (4), got %d", n)
	}
}
