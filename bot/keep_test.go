package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store"
)

const keepConfig = `modelarts:
  endpoint: %[1]s
  project_id: %[2]s
admins: [U0ADMIN]
defaults:
  poll_interval: 60s
  warn_before: [30m]
channels:
  C0ML:
    users: [U0ALICE]
    notebooks: ["*"]
    max_keep: 7d
  C0NOKEEP:
    users: [U0ALICE]
    notebooks: ["*"]
`

func (w *world) entries(t *testing.T, verb string) []store.Entry {
	t.Helper()
	es, err := w.opts.Store.History(context.Background(), store.HistoryQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Entry
	for _, e := range es {
		if e.Verb == verb {
			out = append(out, e)
		}
	}
	return out
}

func warningsAbout(w *world, id string) int {
	n := 0
	for _, p := range w.chat.Posts() {
		if s := p.msg.Text.String(); strings.Contains(s, id) && strings.Contains(s, "will stop") {
			n++
		}
	}
	return n
}

// A keep renews the lease whenever less than an hour and a poll interval
// is left, three times over six and a half days here, never warns until the last
// lease, and ends at its time.
func TestKeepRenewsPast72HoursAndEndsAtItsTime(t *testing.T) {
	w := newWorldWith(t, keepConfig)
	nb := w.addRunning("long-run", 3*time.Hour)
	start := w.clk.Now()
	until := start.Add(6*24*time.Hour + 12*time.Hour).Truncate(time.Minute)
	r := command(w.bot, "U0ALICE", "C0ML", "keep long-run until "+until.UTC().Format("2006-01-02 15:04"))
	if !r.InChannel || !strings.Contains(r.Text.String(), "keeps long-run") {
		t.Fatalf("keep: %q", r.Text)
	}
	if s := command(w.bot, "U0ALICE", "C0ML", "status long-run").Text.String(); !strings.Contains(s, "Kept running until") || !strings.Contains(s, "@U0ALICE") {
		t.Errorf("status of a kept notebook: %q", s)
	}
	renewals := 0
	for step := 0; step < 200 && w.clk.Now().Before(until.Add(time.Hour)); step++ {
		// Jump to just inside the renewal window, poll, and look.
		stop := w.stop(t, nb.ID)
		if next := stop.Add(-time.Hour - 30*time.Second); next.After(w.clk.Now()) {
			w.clk.Advance(next.Sub(w.clk.Now()))
		} else {
			w.clk.Advance(30 * time.Second)
		}
		before := w.sim.Count(simulator.RouteRenew)
		w.poll(t)
		if w.sim.Count(simulator.RouteRenew) > before {
			renewals++
			got := w.stop(t, nb.ID)
			want := until
			if cap := w.clk.Now().Add(lease.MaxDuration); cap.Before(until) {
				want = cap
			}
			if !got.Equal(want) {
				t.Errorf("renewal %d set %v, want the earlier of the keep's end and 72h: %v", renewals, got, want)
			}
		}
		if cur, _ := w.sim.Notebook(nb.ID); !cur.Running() && w.clk.Now().Before(until) {
			t.Fatalf("the kept notebook stopped at %v, before the keep's end %v", w.clk.Now(), until)
		}
		if w.stop(t, nb.ID).Before(until) && warningsAbout(w, nb.ID) > 0 {
			t.Fatalf("a warning before the last lease of a kept notebook")
		}
	}
	if renewals < 3 {
		t.Errorf("%d renewals over six and a half days, want at least 3", renewals)
	}
	if n := len(w.entries(t, "keep-renew")); n != renewals {
		t.Errorf("%d keep-renew history entries for %d renewals", n, renewals)
	}
	for _, e := range w.entries(t, "keep-renew") {
		if e.User != "U0ALICE" || e.Outcome != "extended" {
			t.Errorf("keep-renew entry %+v: want alice, who set the keep, and extended", e)
		}
	}
	if _, kept, _ := w.opts.Store.Keep(context.Background(), nb.ID); kept {
		t.Error("the keep did not end at its time")
	}
	ended := false
	for _, p := range w.chat.Posts() {
		if strings.Contains(p.msg.Text.String(), "has ended, as planned") {
			ended = true
		}
	}
	if !ended {
		t.Error("the channel was not told the keep ended")
	}
}

func TestKeepRefusals(t *testing.T) {
	w := newWorldWith(t, keepConfig)
	w.addRunning("kept-one", 3*time.Hour)
	w.sim.Add(lease.Notebook{Name: "sleeping", Status: lease.StatusStopped})
	now := w.clk.Now()
	created := now.Add(-time.Hour).UnixMilli()
	w.sim.Add(lease.Notebook{Name: "idler", Status: lease.StatusRunning,
		Lease: lease.Lease{CreateAt: created, Duration: now.Add(2*time.Hour).UnixMilli() - created, Enable: true, Type: "IDLE"}})
	in := func(d time.Duration) string { return now.Add(d).UTC().Format("2006-01-02 15:04") }
	tests := []struct{ channel, text, want string }{
		{"C0NOKEEP", "keep kept-one until " + in(48*time.Hour), "Keeping notebooks is off"},
		{"C0ML", "keep kept-one until " + in(8*24*time.Hour), "at most 7d ahead (max_keep)"},
		{"C0ML", "keep kept-one until 2020-01-01 09:00", "That time has passed"},
		{"C0ML", "keep sleeping until " + in(48*time.Hour), "only a running notebook can be kept"},
		{"C0ML", "keep idler until " + in(48*time.Hour), "stops when it has been idle"},
		{"C0ML", "keep kept-one off", "is not kept"},
		{"C0ML", "keep kept-one until " + in(time.Hour), "no keep is needed"},
		{"C0ML", "keep kept-one for 2d", "A keep runs until a time"},
	}
	for _, tt := range tests {
		r := command(w.bot, "U0ALICE", tt.channel, tt.text)
		if !strings.Contains(r.Text.String(), tt.want) || r.InChannel {
			t.Errorf("%q in %s: %q, want %q", tt.text, tt.channel, r.Text, tt.want)
		}
	}
	if n := w.sim.Count(simulator.RouteRenew); n != 0 {
		t.Errorf("a refused keep renewed a lease %d times", n)
	}
	if ks, _ := w.opts.Store.Keeps(context.Background()); len(ks) != 0 {
		t.Errorf("a refused keep was stored: %+v", ks)
	}
	// keep … off ends a keep and leaves the lease as it is.
	command(w.bot, "U0ALICE", "C0ML", "keep kept-one until "+in(48*time.Hour))
	r := command(w.bot, "U0ALICE", "C0ML", "keep kept-one off")
	if !r.InChannel || !strings.Contains(r.Text.String(), "ended the keep") {
		t.Errorf("keep off: %q", r.Text)
	}
	if ks, _ := w.opts.Store.Keeps(context.Background()); len(ks) != 0 {
		t.Error("keep off left the keep")
	}
}

// A kept notebook that stops anyway ends its keep, and the channel is told;
// a renewal ModelArts refuses is tried again next cycle, and the channel is
// told once.
func TestKeptNotebookStoppingAndFailingRenewals(t *testing.T) {
	w := newWorldWith(t, keepConfig)
	nb := w.addRunning("fragile", 3*time.Hour)
	until := w.clk.Now().Add(6*24*time.Hour + 20*time.Hour).Truncate(time.Minute) // past the 72h a renewal gives
	command(w.bot, "U0ALICE", "C0ML", "keep fragile until "+until.UTC().Format("2006-01-02 15:04"))
	w.clk.Advance(w.stop(t, nb.ID).Sub(w.clk.Now()) - 50*time.Minute)
	w.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Status: 500, Times: 100})
	w.poll(t)
	w.clk.Advance(time.Minute)
	w.poll(t)
	told := 0
	for _, p := range w.chat.Posts() {
		if strings.Contains(p.msg.Text.String(), "could not renew the lease of") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the channel was told %d times about a failing renewal, want once", told)
	}
	w.sim.Reset()
	w.clk.Advance(time.Minute)
	w.poll(t)
	if got := w.stop(t, nb.ID); got.Sub(w.clk.Now()) < 71*time.Hour {
		t.Errorf("the renewal was not retried after ModelArts recovered: stops %v", got)
	}
	w.sim.SetStatus(nb.ID, lease.StatusStopped)
	w.poll(t)
	if _, kept, _ := w.opts.Store.Keep(context.Background(), nb.ID); kept {
		t.Error("a kept notebook that stopped kept its keep")
	}
	found := false
	for _, p := range w.chat.Posts() {
		if strings.Contains(p.msg.Text.String(), "the keep has ended") {
			found = true
		}
	}
	if !found {
		t.Error("the channel was not told that a kept notebook stopped")
	}
	_ = bot.Usage
}

// Two leaders whose cycles overlap (one overran its leadership) renew a kept
// notebook once: the second sees, under the notebook's lock, that the
// lease is no longer short.
func TestOverlappingLeadersRenewAKeepOnce(t *testing.T) {
	w := newWorldWith(t, keepConfig)
	nb := w.addRunning("overlap", 30*time.Minute)
	until := w.clk.Now().Add(6*24*time.Hour + 20*time.Hour).Truncate(time.Minute) // past the 72h a renewal gives
	if r := command(w.bot, "U0ALICE", "C0ML", "keep overlap until "+until.UTC().Format("2006-01-02 15:04")); !r.InChannel {
		t.Fatalf("keep: %q", r.Text)
	}
	// Into the renewal window of the lease the keep set.
	w.clk.Advance(w.stop(t, nb.ID).Add(-time.Hour - 30*time.Second).Sub(w.clk.Now()))
	before := w.sim.Count(simulator.RouteRenew)
	renewsBefore := len(w.entries(t, "keep-renew"))
	other := bot.New(w.opts) // same store and lock, same ModelArts
	t.Cleanup(other.Close)
	w.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Latency: 400 * time.Millisecond, Times: 1})
	done := make(chan error, 2)
	for _, b := range []*bot.Bot{w.bot, other} {
		go func() { done <- b.Poll(context.Background()) }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := w.sim.Count(simulator.RouteRenew) - before; n != 1 {
		t.Errorf("%d renewals of %s by two overlapping leaders, want 1", n, nb.ID)
	}
	if n := len(w.entries(t, "keep-renew")) - renewsBefore; n != 1 {
		t.Errorf("%d keep-renew history entries, want 1", n)
	}
}
