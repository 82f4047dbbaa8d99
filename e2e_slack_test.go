package main

import (
	"context"
	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/lease/simulator"
	"strings"
	"testing"
	"time"
)

func TestReconnects(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("reconnect", 3*time.Hour)
	for i, disrupt := range []func(){
		func() { h.slack.Disconnect("refresh_requested") },
		func() { h.slack.Disconnect("warning") },
		h.slack.DropConnection,
	} {
		disrupt()
		if !h.slack.WaitConnected(i+2, 15*time.Second) {
			t.Fatalf("disruption %d: no reconnection (connections: %d)", i, h.slack.Connections())
		}
		resp := h.command(alice, chML, "status "+nb.ID)
		if !strings.Contains(resp.Text, "reconnect") {
			t.Errorf("after disruption %d: reply %q", i, resp.Text)
		}
	}
}

func TestFatalSlackAnswersExitNonZero(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(h *harness)
		reason string
		later  bool // break it once leasebot is connected
	}{
		{"invalid_auth at connect", func(h *harness) { h.slack.FailConnectionsOpen("invalid_auth") }, "invalid_auth", false},
		{"token_revoked at connect", func(h *harness) { h.slack.FailConnectionsOpen("token_revoked") }, "token_revoked", false},
		{"link_disabled", func(h *harness) { h.slack.Disconnect("link_disabled") }, "link_disabled", true},
		// The app token still opens connections, but the bot token is dead:
		// every reply and warning would fail, so leasebot must not run.
		{"bot token revoked at start", func(h *harness) { h.slack.FailMethod("auth.test", "token_revoked", 1) }, "token_revoked", false},
		{"bot account inactive at start", func(h *harness) { h.slack.FailMethod("auth.test", "account_inactive", 1) }, "account_inactive", false},
		{"bot token refused by a later call", func(h *harness) {
			h.slack.FailMethod("users.info", "invalid_auth", 1)
			h.slack.SlashCommand(alice, chML, "extend some-notebook until 23:59")
		}, "invalid_auth", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{noStart: true})
			if c.later {
				h.start()
			} else {
				c.break_(h)
				ctx, cancel := context.WithCancel(context.Background())
				h.cancel = cancel
				defer cancel()
				go func() {
					h.exit <- run(ctx, []string{"run", "-config", h.config}, strings.NewReader(""), &syncBuffer{}, h.stderr, func(k string) string { return h.env[k] })
				}()
			}
			if c.later {
				c.break_(h)
			}
			select {
			case code := <-h.exit:
				if code == 0 {
					t.Errorf("exit code 0 after %s", c.reason)
				}
				h.exit <- code // for the harness clean-up
			case <-time.After(10 * time.Second):
				t.Fatalf("leasebot kept running after %s; stderr:\n%s", c.reason, h.stderr.String())
			}
			if !strings.Contains(h.stderr.String(), c.reason) {
				t.Errorf("the reason %s was not reported", c.reason)
			}
			h.assertNoSecrets()
		})
	}
}

func TestLinkDisabledTextInACommandIsHarmless(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.command(alice, chML, `status "reason":"link_disabled"`)
	select {
	case <-h.exit:
		t.Fatal("a command's text made leasebot exit")
	case <-time.After(300 * time.Millisecond):
	}
}

func TestSIGTERMFinishesInFlightWorkAndExitsZero(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("slow", 3*time.Hour)
	h.sim.Inject(simulatorSlowRenew())
	env := h.slack.SlashCommand(alice, chML, "extend "+nb.ID+" 1h")
	if _, ok := env.WaitAck(3 * time.Second); !ok {
		t.Fatal("not acked")
	}
	time.Sleep(100 * time.Millisecond) // the renew call is in flight
	h.cancel()
	select {
	case code := <-h.exit:
		if code != 0 {
			t.Errorf("exit code %d on SIGTERM, want 0; stderr:\n%s", code, h.stderr.String())
		}
		h.exit <- code
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if _, ok := h.slack.WaitResponse(env, time.Second); !ok {
		t.Error("the command in flight at SIGTERM was not answered")
	}
}

func TestMissingSecretsRefuseToStart(t *testing.T) {
	h := newHarness(t, harnessOptions{noStart: true})
	for _, unset := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "MODELARTS_SK"} {
		env := map[string]string{}
		for k, v := range h.env {
			if k != unset {
				env[k] = v
			}
		}
		var stderr syncBuffer
		code := run(context.Background(), []string{"run", "-config", h.config}, strings.NewReader(""), &syncBuffer{}, &stderr, func(k string) string { return env[k] })
		if code == 0 || !strings.Contains(stderr.String(), strings.TrimSuffix(unset, "_SK")) {
			t.Errorf("without %s: exit %d, stderr %q", unset, code, stderr.String())
		}
		for _, secret := range []string{testAppToken, testBotToken, testSK} {
			if strings.Contains(stderr.String(), secret) {
				t.Errorf("without %s: a secret was printed", unset)
			}
		}
	}
}

// A Slack Web API call that never answers must not wedge the bot: Web API
// calls time out, jobs have deadlines, and concurrent commands share one
// look-up of a user group. A person on the plain access list is answered
// while 64 commands from a user-group member wait on a hanging
// usergroups.users.list.
func TestAHangingSlackCallDoesNotWedgeTheBot(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.sim.AddRunning("wedge", 3*time.Hour)
	h.slack.HangMethod("usergroups.users.list", time.Hour, 1000)
	var stuck []*slackfake.Envelope
	for range 64 {
		stuck = append(stuck, h.slack.SlashCommand(carol, chML, "status wedge"))
	}
	start := time.Now()
	env := h.slack.SlashCommand(alice, chML, "status wedge")
	if _, ok := env.WaitAck(3 * time.Second); !ok {
		t.Fatal("alice's command was not acked")
	}
	resp, ok := h.slack.WaitResponse(env, 25*time.Second)
	if !ok || !strings.Contains(resp.Text, "wedge") {
		t.Fatalf("alice was not answered within 25s while Slack hung (%v): %q", time.Since(start), resp.Text)
	}
	for _, e := range stuck {
		r, ok := h.slack.WaitResponse(e, 30*time.Second)
		if !ok {
			t.Fatal("a command from the group member was never answered")
		}
		if !strings.Contains(r.Text, "user groups") {
			t.Errorf("the group member was told %q", r.Text)
		}
	}
	if n := h.slack.Calls("usergroups.users.list"); n > 8 {
		t.Errorf("%d usergroups.users.list calls for 64 commands: look-ups of one group are not shared", n)
	}
}

// A change in flight at SIGTERM gets its honest answer: the drain outlasts
// ModelArts' 15s retry budget, and the reply goes out on a fresh context.
// With a drain shorter than that (it used to be 10s), the renewal below was
// applied at ModelArts while the person got no answer and the audit said
// "failed".
func TestSIGTERMDuringASlowRenewalStillAnswersHonestly(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	nb := h.sim.AddRunning("very-slow", 3*time.Hour)
	before := stopOf(t, h.sim, nb.ID)
	h.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Latency: 12 * time.Second, Times: 1})
	env := h.slack.SlashCommand(alice, chML, "extend "+nb.ID+" 2h")
	if _, ok := env.WaitAck(3 * time.Second); !ok {
		t.Fatal("not acked")
	}
	time.Sleep(300 * time.Millisecond) // the renewal is in flight
	h.cancel()
	resp, ok := h.slack.WaitResponse(env, 20*time.Second)
	if !ok {
		t.Fatalf("no answer to a change in flight at SIGTERM; stderr:\n%s", h.stderr.String())
	}
	after := stopOf(t, h.sim, nb.ID)
	if !near(after, before.Add(2*time.Hour), 3*time.Second) {
		t.Fatalf("stop %v, want +2h", after)
	}
	if !strings.Contains(resp.Text, "extended") || resp.ResponseType != "in_channel" {
		t.Errorf("the applied change was answered %q", resp.Text)
	}
	select {
	case code := <-h.exit:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
		h.exit <- code
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	for _, rec := range h.auditLines() {
		if rec["notebook"] == nb.ID && rec["outcome"] != "extended" {
			t.Errorf("audit outcome %v for a renewal that was applied", rec["outcome"])
		}
	}
}
