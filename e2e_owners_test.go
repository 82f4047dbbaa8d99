package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// ownersConfig maps alice's IAM user to her Slack user and turns on owner
// warnings; people is a top-level key, so it follows the channels.
const ownersConfig = `people:
  alice-iam: U0ALICE
`

const ownerDefaults = "  warn_before: [30m]\n  extend_buttons: [1h, 4h]\n  poll_interval: 1s\n  notify_owner: true\n  owner_max_extend: 2h\n"

// addOwned adds a running notebook owned by IAM user owner, stopping after left.
func addOwned(sim *simulator.Server, name, owner string, left time.Duration) lease.Notebook {
	now := time.Now()
	created := now.Add(-time.Hour).UnixMilli()
	return sim.Add(lease.Notebook{Name: name, Status: lease.StatusRunning, User: lease.User{Name: owner},
		Lease: lease.Lease{CreateAt: created, Duration: now.Add(left).UnixMilli() - created, Enable: true, Type: "TIMING"}})
}

// noButtonsLeft waits until message (channel, ts) has been replaced by one
// without buttons, and returns it.
func (h *harness) noButtonsLeft(channel, ts string) slackfake.Message {
	h.t.Helper()
	m, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == channel && m.TS == ts && m.Updated > 0 && !strings.Contains(string(m.Blocks), `"button"`)
	}, 10*time.Second)
	if !ok {
		cur, _ := h.slack.Message(channel, ts)
		h.t.Fatalf("message %s/%s was not replaced without buttons: %q", channel, ts, cur.Text)
	}
	return m
}

func TestOwnerGetsTheWarningByDirectMessageAndEitherCopyExtendsOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: ownerDefaults, extraConfig: ownersConfig})
	dm := slackfake.DMChannel(alice)
	for _, from := range []string{"dm", "channel"} {
		t.Run("click on the "+from+" copy", func(t *testing.T) {
			nb := addOwned(h.sim, "owned-"+from, "alice-iam", 20*time.Minute)
			before := stopOf(t, h.sim, nb.ID)
			inChannel := h.warningFor(chML, nb.ID)
			inDM := h.warningFor(dm, nb.ID)
			if len(buttons(t, inDM)) == 0 {
				t.Fatal("the owner's copy has no buttons")
			}
			renews := h.sim.Count(simulator.RouteRenew)
			clicked, other := inDM, inChannel
			if from == "channel" {
				clicked, other = inChannel, inDM
			}
			h.click(alice, clicked, buttonLabeled(t, clicked, "Extend 1h"))
			h.noButtonsLeft(clicked.Channel, clicked.TS)
			updated := h.noButtonsLeft(other.Channel, other.TS)
			if !strings.Contains(updated.Text, "extended") {
				t.Errorf("the other copy says %q", updated.Text)
			}
			if got := stopOf(t, h.sim, nb.ID); !near(got, before.Add(time.Hour), 2*time.Second) {
				t.Errorf("stop %v, want +1h from %v", got, before)
			}
			// A second click, on the other copy's old buttons, extends nothing more.
			h.click(alice, clicked, buttonLabeled(t, clicked, "Extend 1h"))
			time.Sleep(300 * time.Millisecond)
			if n := h.sim.Count(simulator.RouteRenew) - renews; n != 1 {
				t.Errorf("%d renewals, want 1", n)
			}
		})
	}
	// An owner who is not mapped gets channel warnings only.
	unmapped := addOwned(h.sim, "carols", "carol-iam", 20*time.Minute)
	h.warningFor(chML, unmapped.ID)
	for _, m := range h.slack.Messages() {
		if strings.HasPrefix(m.Channel, "D") && strings.Contains(m.Text, unmapped.ID) {
			t.Errorf("a direct message about an unmapped owner's notebook went to %s", m.Channel)
		}
	}
	for _, rec := range h.auditLines() {
		if rec["notebook_name"] == "owned-dm" && rec["outcome"] == "extended" && rec["via"] != "owner" {
			t.Errorf("a click on the owner's copy was audited via %v, want owner", rec["via"])
		}
	}
}

func TestOwnersDirectMessages(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: "  poll_interval: 1h\n  owner_max_extend: 2h\n", extraConfig: ownersConfig})
	own := addOwned(h.sim, "alices-box", "alice-iam", 3*time.Hour)
	addOwned(h.sim, "bobs-box", "bob-iam", 3*time.Hour)
	cases := []struct{ user, text, want, kind string }{
		{alice, "extend alices-box 3h", "at most 2h", "ephemeral"},             // the owner limit, before any call
		{alice, "extend bobs-box 1h", "not yours", "ephemeral"},                // not hers: like a missing one
		{bob, "extend bobs-box 1h", "direct messages", "ephemeral"},            // bob is not linked to any IAM user
		{alice, "extend alices-box 1h", "extended *alices-box*", "in_channel"}, // her own, within the limit
	}
	for _, c := range cases {
		renews := h.sim.Count(simulator.RouteRenew)
		r := h.command(c.user, slackfake.DMChannel(c.user), c.text)
		if !strings.Contains(r.Text, c.want) || r.ResponseType != c.kind {
			t.Errorf("%s %q in a DM: %q (%s), want %s containing %q", c.user, c.text, r.Text, r.ResponseType, c.kind, c.want)
		}
		if c.kind == "ephemeral" && h.sim.Count(simulator.RouteRenew) != renews {
			t.Errorf("%s %q reached ModelArts' renew", c.user, c.text)
		}
	}
	_ = own
}

// homeButton finds, in a published home view, the button labelled label in
// the section about notebook id.
func homeButton(t *testing.T, view json.RawMessage, id, label string) blockButton {
	t.Helper()
	var v struct {
		Blocks []struct {
			Type     string          `json:"type"`
			Text     json.RawMessage `json:"text"`
			Elements []blockButton   `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		t.Fatal(err)
	}
	about := false
	for _, b := range v.Blocks {
		switch b.Type {
		case "section":
			about = strings.Contains(string(b.Text), id)
		case "actions":
			if about {
				for _, e := range b.Elements {
					if e.Text.Text == label {
						return e
					}
				}
			}
		}
	}
	t.Fatalf("no %q button for %s in the home view %s", label, id, view)
	return blockButton{}
}

func TestAppHomeShowsMyNotebooksAndRefreshesAfterAClick(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: "  poll_interval: 1h\n  extend_buttons: [1h, 4h]\n", extraConfig: ownersConfig})
	inML := addOwned(h.sim, "team-box", "bob-iam", 3*time.Hour)
	h.slack.AppHomeOpened(alice)
	view, ok := h.slack.WaitHome(alice, func(v json.RawMessage) bool { return strings.Contains(string(v), inML.ID) }, 10*time.Second)
	if !ok {
		t.Fatalf("no home view with alice's notebooks; stderr:\n%s", h.stderr.String())
	}
	if !strings.Contains(string(view), "My notebooks") || !strings.Contains(string(view), "<!date^") {
		t.Errorf("the home view lacks its title or the date token: %s", view)
	}
	_, version, _ := h.slack.Home(alice)
	before := stopOf(t, h.sim, inML.ID)
	b := homeButton(t, view, inML.ID, "Extend 1h")
	env := h.slack.ClickHome(alice, b.ActionID, b.Value)
	if _, ok := env.WaitAck(3 * time.Second); !ok {
		t.Fatal("the home click was not acked")
	}
	if _, ok := h.slack.WaitHome(alice, func(json.RawMessage) bool {
		_, v, _ := h.slack.Home(alice)
		return v > version
	}, 10*time.Second); !ok {
		t.Error("the home view was not refreshed after the click")
	}
	if got := stopOf(t, h.sim, inML.ID); !near(got, before.Add(time.Hour), 2*time.Second) {
		t.Errorf("stop %v, want +1h from %v", got, before)
	}
	// bob is on no list: his forged click on the same button changes nothing.
	renews := h.sim.Count(simulator.RouteRenew)
	env = h.slack.ClickHome(bob, b.ActionID, b.Value)
	env.WaitAck(3 * time.Second)
	time.Sleep(500 * time.Millisecond)
	if h.sim.Count(simulator.RouteRenew) != renews {
		t.Error("a stranger's home click renewed the lease")
	}
	if len(h.slack.Violations()) > 0 {
		t.Errorf("Slack protocol violations: %v", h.slack.Violations())
	}
}
