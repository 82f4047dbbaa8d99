package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store"
)

// gatedClaims holds every delivery claim until its gate opens, or fails it,
// as a slow or lost store would.
type gatedClaims struct {
	store.API
	gate chan struct{} // closed: claims go through
	fail bool
}

func (g *gatedClaims) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if g.fail {
		return false, fmt.Errorf("store: claim: %w", store.ErrUnavailable)
	}
	return g.API.Claim(ctx, key, ttl)
}

func deliver(b *bot.Bot, id, user, channel, text string) *bot.Reply {
	return b.Handle(context.Background(), bot.Event{Kind: bot.CommandEvent, ID: id, User: user, Channel: channel, Surface: bot.InChannel, Text: text})
}

// A command claims its delivery while it reads the notebook, and changes
// nothing until the claim is made: the read does not wait for the store,
// the renewal does.
func TestTheClaimIsMadeWhileTheNotebookIsRead(t *testing.T) {
	w := newWorld(t)
	g := &gatedClaims{API: w.opts.Store, gate: make(chan struct{})}
	w.opts.Store = g
	w.bot = bot.New(w.opts)
	t.Cleanup(w.bot.Close)
	nb := w.addRunning("overlapped", 3*time.Hour)
	before := w.stop(t, nb.ID)

	done := make(chan *bot.Reply)
	go func() { done <- deliver(w.bot, "Ev0OVERLAP", "U0ALICE", "C0ML", "extend "+nb.ID+" 1h") }()
	deadline := time.Now().Add(10 * time.Second)
	for w.sim.Count(simulator.RouteGet)+w.sim.Count(simulator.RouteLease) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the notebook was not read while the claim was pending")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // time enough for a renewal that did not wait
	if n := w.sim.Count(simulator.RouteRenew); n != 0 {
		t.Fatalf("%d renewals before the delivery was claimed", n)
	}
	close(g.gate)
	r := <-done
	if r == nil || !r.Message.InChannel || !w.stop(t, nb.ID).Equal(before.Add(time.Hour)) {
		t.Fatalf("after the claim: reply %+v, stop %v (was %v)", r, w.stop(t, nb.ID), before)
	}
}

// A delivery claimed before, or one the store cannot claim, changes
// nothing even though it was read; the first says nothing, the second
// says why, and a read is answered either way.
func TestDeliveriesThatMayNotChange(t *testing.T) {
	cases := []struct {
		name     string
		fail     bool
		first    bool   // deliver the command once before
		text     string // %s: the notebook ID
		want     string // in the reply; "" for no reply at all
		renewals int
	}{
		{"redelivered extension", false, true, "extend %s 1h", "", 1},
		{"redelivered status", false, true, "status %s", "", 0},
		{"extension, store lost", true, false, "extend %s 1h", "cannot record changes right now; nothing was changed", 0},
		{"start, store lost", true, false, "start %s", "cannot record changes right now; nothing was changed", 0},
		{"status, store lost", true, false, "status %s", "RUNNING", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			g := &gatedClaims{API: w.opts.Store, gate: make(chan struct{})}
			close(g.gate)
			w.opts.Store = g
			w.bot = bot.New(w.opts)
			t.Cleanup(w.bot.Close)
			nb := w.addRunning("twice", 3*time.Hour)
			text := fmt.Sprintf(c.text, nb.ID)
			if c.first {
				if r := deliver(w.bot, "Ev0TWICE", "U0ALICE", "C0ML", text); r == nil {
					t.Fatal("no reply to the first delivery")
				}
			}
			g.fail = c.fail
			r := deliver(w.bot, "Ev0TWICE", "U0ALICE", "C0ML", text)
			switch {
			case c.want == "" && r != nil:
				t.Errorf("reply %q to a delivery handled before", r.Message.Text)
			case c.want != "" && (r == nil || !strings.Contains(fmt.Sprint(r.Message.Text), c.want)):
				t.Errorf("reply %+v, want %q", r, c.want)
			}
			if n := w.sim.Count(simulator.RouteRenew) + w.sim.Count(simulator.RouteStart); n != c.renewals {
				t.Errorf("%d changes at ModelArts, want %d", n, c.renewals)
			}
		})
	}
}
