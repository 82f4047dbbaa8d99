package bot_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// newWorldWith is newWorld with a config of the test's own (its endpoint
// and project ID filled in with %[1]s and %[2]s).
func newWorldWith(t *testing.T, cfgText string) *world {
	t.Helper()
	return newWorldSim(t, cfgText, simulator.Options{}, true, nil)
}

// newWorldSim builds a world from cfgText (formatted with the simulator's
// URL and project) on a simulator with so, on a fake clock or real time,
// with the core's options adjusted by tune before it is built.
func newWorldSim(t *testing.T, cfgText string, so simulator.Options, fakeClock bool, tune func(*bot.Options)) *world {
	t.Helper()
	clk := &clock{t: time.Now().Truncate(time.Second)}
	var now func() time.Time
	if fakeClock {
		now = clk.Now
	}
	so.AK, so.SK, so.Now = "AK", "SK", now
	sim := simulator.New(so)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := lease.New(lease.Config{Endpoint: srv.URL, ProjectID: sim.ProjectID(), Auth: &lease.AKSK{AK: "AK", SK: "SK", Now: now}, Now: now, RetryBudget: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(cfgText, srv.URL, sim.ProjectID())), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{clk: clk, sim: sim, chat: &recChat{}}
	w.opts = bot.Options{Config: cfg, Leases: client, Chat: w.chat, Store: testStore(t), Now: now}
	if tune != nil {
		tune(&w.opts)
	}
	w.bot = bot.New(w.opts)
	return w
}

// Two extensions of one notebook at once: the second plans from the stop
// time the first set, so 1h and 4h end 5h after the original stop, even
// when ModelArts is slow on the first.
func TestConcurrentExtensionsOfOneNotebookSerialize(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("contended", 3*time.Hour)
	original := w.stop(t, nb.ID)
	w.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Latency: 700 * time.Millisecond, Times: 1})

	var wg sync.WaitGroup
	replies := make([]bot.Message, 2)
	for i, c := range []struct {
		user, by string
		after    time.Duration
	}{{"U0ALICE", "1h", 0}, {"U0CAROL", "4h", 150 * time.Millisecond}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(c.after)
			replies[i] = command(w.bot, c.user, "C0ML", "extend "+nb.ID+" "+c.by)
		}()
	}
	wg.Wait()
	final := w.stop(t, nb.ID)
	if want := original.Add(5 * time.Hour); !final.Equal(want) {
		t.Errorf("stop = %v, want the original + 5h = %v", final, want)
	}
	for i, r := range replies {
		if !r.InChannel {
			t.Fatalf("reply %d was not a success: %q", i, r.Text)
		}
		// No reply announces a stop later than the one the notebook has.
		for _, s := range r.Text {
			if s.Kind == bot.Time && s.Time.After(final) {
				t.Errorf("reply %q announces %v, after the real stop %v", r.Text, s.Time, final)
			}
		}
	}
	if n := w.sim.Count(simulator.RouteRenew); n != 2 {
		t.Errorf("%d renew calls, want 2", n)
	}
}

// A click racing a command on the same notebook is serialized too.
func TestClickAndCommandOnOneNotebookSerialize(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("raced", 20*time.Minute)
	original := w.stop(t, nb.ID)
	p, b := w.warningButton(t, "Extend 1h")
	w.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Latency: 500 * time.Millisecond, Times: 1})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		press(w.bot, testClick{User: "U0ALICE", Channel: "C0ML", Ref: p.ref, Action: b.Action, Value: b.Value})
	}()
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		command(w.bot, "U0CAROL", "C0ML", "extend "+nb.ID+" 2h")
	}()
	wg.Wait()
	if got, want := w.stop(t, nb.ID), original.Add(3*time.Hour); !got.Equal(want) {
		t.Errorf("stop = %v, want the original + 1h + 2h = %v", got, want)
	}
}

// What a channel may not see is answered exactly like what does not exist.
func TestOutOfScopeNotebooksAreNotDisclosed(t *testing.T) {
	const cfg = `modelarts:
  endpoint: %[1]s
  project_id: %[2]s
channels:
  C0SCOPED:
    users: [U0ALICE]
    notebooks: ["tag:team=a"]
  C0ALL:
    users: [U0ALICE]
    notebooks: ["*"]
`
	w := newWorldWith(t, cfg)
	mk := func(name, team string) lease.Notebook {
		now := w.clk.Now()
		return w.sim.Add(lease.Notebook{Name: name, Status: lease.StatusRunning, Tags: []lease.Tag{{Key: "team", Value: team}},
			Lease: lease.Lease{CreateAt: now.Add(-time.Hour).UnixMilli(), Duration: 3 * time.Hour.Milliseconds(), Enable: true}})
	}
	mine := mk("shared-name", "a")
	theirs := mk("shared-name", "b")
	hidden := mk("their-secret", "b")

	// An ambiguous name lists only the candidates the channel may see: here one, so no ambiguity.
	r := command(w.bot, "U0ALICE", "C0SCOPED", "status shared-name")
	if s := r.Text.String(); !strings.Contains(s, mine.ID) || strings.Contains(s, theirs.ID) || strings.Contains(s, "notebooks are called") {
		t.Errorf("status of a name shared with an out-of-scope notebook: %q", s)
	}
	// Where both are visible, both are listed.
	if s := command(w.bot, "U0ALICE", "C0ALL", "status shared-name").Text.String(); !strings.Contains(s, "2 notebooks are called") {
		t.Errorf("in a channel that sees both: %q", s)
	}
	// An out-of-scope name reads exactly like a missing one.
	for _, verb := range []string{"status %s", "extend %s 1h"} {
		out := command(w.bot, "U0ALICE", "C0SCOPED", fmt.Sprintf(verb, "their-secret")).Text.String()
		missing := command(w.bot, "U0ALICE", "C0SCOPED", fmt.Sprintf(verb, "never-existed")).Text.String()
		if strings.ReplaceAll(out, "their-secret", "X") != strings.ReplaceAll(missing, "never-existed", "X") {
			t.Errorf("%q: out of scope %q, missing %q", verb, out, missing)
		}
		if strings.Contains(out, hidden.ID) || strings.Contains(out, "RUNNING") {
			t.Errorf("%q discloses the notebook: %q", verb, out)
		}
	}
	// The same for an ID.
	out := command(w.bot, "U0ALICE", "C0SCOPED", "status "+hidden.ID).Text.String()
	missing := command(w.bot, "U0ALICE", "C0SCOPED", "status 00000000-0000-4000-8000-000000000000").Text.String()
	if strings.ReplaceAll(out, hidden.ID, "X") != strings.ReplaceAll(missing, "00000000-0000-4000-8000-000000000000", "X") {
		t.Errorf("by ID: out of scope %q, missing %q", out, missing)
	}
	if w.sim.Count(simulator.RouteRenew) != 0 {
		t.Error("an out-of-scope extension reached ModelArts")
	}
}

// A warning button whose stop time is over a week old, or far in the
// future, is not a button leasebot made recently: it is ignored, and no
// state is kept for it.
func TestClicksOnAncientOrFutureWarningsAreIgnored(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("old", 3*time.Hour)
	now := w.clk.Now()
	for _, shown := range []time.Time{now.Add(-8 * 24 * time.Hour), now.Add(80 * time.Hour)} {
		v := fmt.Sprintf("%s|%d|3600", nb.ID, shown.UnixMilli())
		if r := press(w.bot, testClick{User: "U0ALICE", Channel: "C0ML", Ref: "1.2", Action: bot.ActionExtend, Value: v}); r != nil {
			t.Errorf("answered %q", r.Text)
		}
	}
	if w.sim.Count(simulator.RouteGet)+w.sim.Count(simulator.RouteRenew) != 0 {
		t.Error("an ancient click reached ModelArts")
	}
}

// A time zone that cannot be read is said, not silently assumed.
func TestUnreadableTimeZoneIsSaid(t *testing.T) {
	w := newWorld(t)
	w.chat.tzErr = fmt.Errorf("users.info: ratelimited")
	nb := w.addRunning("tz", time.Hour)
	target := w.clk.Now().Add(3 * time.Hour).UTC()
	r := command(w.bot, "U0ALICE", "C0ML", "extend "+nb.ID+" until "+target.Format("15:04"))
	if s := r.Text.String(); !r.InChannel || !strings.Contains(s, "as UTC") || !strings.Contains(s, "time zone could not be read") {
		t.Errorf("reply %q does not say the time was read as UTC", s)
	}
	_ = context.Background
}

// panickyLeases renews for real, then panics, as a bug after a change would.
type panickyLeases struct{ bot.Leases }

func (p panickyLeases) Renew(ctx context.Context, id string, stop time.Time) (time.Time, error) {
	p.Leases.Renew(ctx, id, stop)
	panic("after the renewal")
}

// A panic after a change never answers "nothing was changed", and the bot
// keeps serving.
func TestPanicAfterAChangeDoesNotClaimNothingChanged(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("panicky", 2*time.Hour)
	real := w.opts.Leases
	w.opts.Leases = panickyLeases{real}
	w.bot = bot.New(w.opts)
	t.Cleanup(w.bot.Close)
	r := command(w.bot, "U0ALICE", "C0ML", "extend "+nb.ID+" 1h")
	text := r.Text.String()
	if strings.Contains(strings.ToLower(text), "nothing was changed") || !strings.Contains(text, "cannot tell whether anything changed") {
		t.Errorf("after a panic following a renewal the reply is %q", text)
	}
	if r := command(w.bot, "U0ALICE", "C0ML", "status "+nb.ID); !strings.Contains(r.Text.String(), nb.ID) && !strings.Contains(r.Text.String(), "panicky") {
		t.Errorf("the bot does not serve after a panic: %q", r.Text)
	}
}

// Commands that need the listing at the same moment share one: a burst of
// name look-ups on a cold cache lists once, not once per command.
func TestConcurrentCommandsShareOneListing(t *testing.T) {
	w := newWorld(t)
	w.addRunning("shared-listing", 3*time.Hour)
	w.sim.Inject(simulator.Fault{Route: simulator.RouteList, Latency: 200 * time.Millisecond, Times: 1})
	before := w.sim.Count(simulator.RouteList)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := command(w.bot, "U0ALICE", "C0ML", "status shared-listing"); !strings.Contains(r.Text.String(), "shared-listing") {
				t.Errorf("status: %q", r.Text)
			}
		}()
	}
	wg.Wait()
	if n := w.sim.Count(simulator.RouteList) - before; n != 1 {
		t.Errorf("8 concurrent look-ups listed %d times, want 1", n)
	}
}
