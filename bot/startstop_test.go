package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store"
)

const startStopConfig = `modelarts:
  endpoint: %[1]s
  project_id: %[2]s
admins: [U0ADMIN]
defaults:
  max_extend: 8h
channels:
  C0ML:
    users: [U0ALICE]
    notebooks: ["*"]
`

// newStartWorld is a world whose simulator takes transition time to start
// and stop notebooks, and whose core watches starts quickly.
func newStartWorld(t *testing.T, transition time.Duration) *world {
	t.Helper()
	w := newWorldSim(t, startStopConfig, simulator.Options{Transition: transition}, false, func(o *bot.Options) {
		o.StartPoll, o.StartWatch = 20*time.Millisecond, 5*time.Second
	})
	t.Cleanup(w.bot.Close)
	return w
}

func (w *world) waitUpdate(t *testing.T, p posted, contains string) bot.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ups := w.chat.Updates(p); len(ups) > 0 && strings.Contains(ups[len(ups)-1].Text.String(), contains) {
			return ups[len(ups)-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("message %q was never updated to say %q (updates: %v)", p.msg.Text, contains, w.chat.Updates(p))
	return bot.Message{}
}

func TestStartAnnouncesThenUpdatesWithTheStopTime(t *testing.T) {
	w := newStartWorld(t, 200*time.Millisecond)
	nb := w.sim.Add(lease.Notebook{Name: "sleepy", Status: lease.StatusStopped})
	r := command(w.bot, "U0ADMIN", "C0ML", "start sleepy 2h")
	if r.InChannel || !strings.Contains(r.Text.String(), "Starting sleepy") {
		t.Errorf("the start was answered %q, want a short note to the caller", r.Text)
	}
	ps := postsIn(w.chat.Posts(), "C0ML")
	if len(ps) != 1 || !strings.Contains(ps[0].msg.Text.String(), "@U0ADMIN started sleepy") || !ps[0].msg.InChannel {
		t.Fatalf("want one announcement in the channel, got %v", ps)
	}
	done := w.waitUpdate(t, ps[0], "running")
	var stop time.Time
	for _, s := range done.Text {
		if s.Kind == bot.Time {
			stop = s.Time
		}
	}
	if got := w.stop(t, nb.ID); stop.IsZero() || !stop.Equal(got) {
		t.Errorf("the update shows %v, the notebook stops %v", stop, got)
	}
	if left := time.Until(stop); left < 110*time.Minute || left > 2*time.Hour {
		t.Errorf("started for 2h, stops in %v", left)
	}
	if n := w.sim.Count(simulator.RouteStart); n != 1 {
		t.Errorf("%d start calls", n)
	}
}

func TestStartRefusals(t *testing.T) {
	w := newStartWorld(t, 0)
	running := w.sim.AddRunning("busy", 3*time.Hour)
	w.sim.Add(lease.Notebook{Name: "idle", Status: lease.StatusStopped})
	tests := []struct {
		user, text, want string
	}{
		{"U0ADMIN", "start busy", "already running"},
		{"U0ADMIN", "start idle 9h", "at most 8h"},
		{"U0ADMIN", "start idle 80h", "at most 72h"},
		{"U0ADMIN", "start idle 30m", "at least 1h"},
		{"U0ADMIN", "start idle 4", "needs a unit"},
		{"U0ALICE", "start idle", "does not allow members to start"}, // the channel's actions are [extend]
		{"U0BOB", "start idle", "not on this channel"},
	}
	for _, tt := range tests {
		r := command(w.bot, tt.user, "C0ML", tt.text)
		if !strings.Contains(r.Text.String(), tt.want) || r.InChannel {
			t.Errorf("%s %q: reply %q, want ephemeral containing %q", tt.user, tt.text, r.Text, tt.want)
		}
	}
	if n := w.sim.Count(simulator.RouteStart); n != 0 {
		t.Errorf("a refused start reached ModelArts %d times", n)
	}
	_ = running
}

func TestStopAsksThenStopsOnce(t *testing.T) {
	w := newStartWorld(t, 100*time.Millisecond)
	nb := w.sim.AddRunning("doomed", 3*time.Hour)
	r := command(w.bot, "U0ADMIN", "C0ML", "stop doomed")
	if r.InChannel || len(r.Buttons) != 2 || r.Buttons[0].Label != "Stop now" || !r.Buttons[0].Danger {
		t.Fatalf("stop should ask for confirmation first: %+v", r)
	}
	if w.sim.Count(simulator.RouteStop) != 0 {
		t.Fatal("stop was called before the confirmation")
	}
	// A double click, and a click by someone who may not stop notebooks.
	if got := press(w.bot, testClick{User: "U0ALICE", Channel: "C0ML", Ref: "eph", Action: r.Buttons[0].Action, Value: r.Buttons[0].Value}); got == nil || !strings.Contains(got.Text.String(), "does not allow") {
		t.Errorf("a member without the stop action: %v", got)
	}
	var wg sync.WaitGroup
	replies := make([]*bot.Message, 2)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = press(w.bot, testClick{User: "U0ADMIN", Channel: "C0ML", Ref: "eph", Action: r.Buttons[0].Action, Value: r.Buttons[0].Value})
		}()
	}
	wg.Wait()
	if n := w.sim.Count(simulator.RouteStop); n != 1 {
		t.Errorf("%d stop calls after a double click, want 1", n)
	}
	stopped, already := 0, 0
	for _, m := range replies {
		switch s := m.Text.String(); {
		case strings.Contains(s, "Stopped doomed"):
			stopped++
		case strings.Contains(s, "already"):
			already++
		}
	}
	if stopped != 1 || already != 1 {
		t.Errorf("replies %v %v: want one stopped, one already", replies[0].Text, replies[1].Text)
	}
	ps := postsIn(w.chat.Posts(), "C0ML")
	if len(ps) != 1 || !strings.Contains(ps[0].msg.Text.String(), "@U0ADMIN stopped doomed") {
		t.Errorf("want one announcement of the stop, got %v", ps)
	}
	cur, _ := w.sim.Notebook(nb.ID)
	if cur.Running() {
		t.Error("the notebook still runs")
	}
	// Cancel changes nothing.
	other := w.sim.AddRunning("spared", 3*time.Hour)
	r = command(w.bot, "U0ADMIN", "C0ML", "stop spared")
	if got := press(w.bot, testClick{User: "U0ADMIN", Channel: "C0ML", Ref: "eph2", Action: r.Buttons[1].Action, Value: r.Buttons[1].Value}); got == nil || !strings.Contains(got.Text.String(), "Cancelled") {
		t.Errorf("cancel answered %v", got)
	}
	if cur, _ := w.sim.Notebook(other.ID); !cur.Running() || w.sim.Count(simulator.RouteStop) != 1 {
		t.Error("cancel stopped the notebook")
	}
}

// homeChat is a recChat with a home view.
type homeChat struct {
	*recChat
	mu    sync.Mutex
	homes map[string][]bot.Home
}

func (h *homeChat) PublishHome(_ context.Context, user string, v bot.Home) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.homes[user] = append(h.homes[user], v)
	return nil
}

func (h *homeChat) last(user string) (bot.Home, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	vs := h.homes[user]
	if len(vs) == 0 {
		return bot.Home{}, 0
	}
	return vs[len(vs)-1], len(vs)
}

func TestHomeShowsOwnAndChannelNotebooksAndRefreshesAfterAClick(t *testing.T) {
	const cfg = `modelarts:
  endpoint: %[1]s
  project_id: %[2]s
people:
  alice-iam: U0ALICE
defaults:
  extend_buttons: [1h, 4h]
channels:
  C0TEAM:
    users: [U0ALICE]
    notebooks: ["team-*"]
`
	w := newWorldWith(t, cfg)
	hc := &homeChat{recChat: w.chat, homes: map[string][]bot.Home{}}
	w.opts.Chat = hc
	w.bot = bot.New(w.opts)
	t.Cleanup(w.bot.Close)
	now := w.clk.Now()
	mk := func(name, owner string, left time.Duration) lease.Notebook {
		return w.sim.Add(lease.Notebook{Name: name, Status: lease.StatusRunning, User: lease.User{Name: owner},
			Lease: lease.Lease{CreateAt: now.Add(-time.Hour).UnixMilli(), Duration: (time.Hour + left).Milliseconds(), Enable: true}})
	}
	own := mk("alice-solo", "alice-iam", 2*time.Hour)
	team := mk("team-x", "bob-iam", 3*time.Hour)
	other := mk("carols", "carol-iam", 3*time.Hour)
	w.bot.Handle(context.Background(), bot.Event{Kind: bot.HomeOpenedEvent, User: "U0ALICE", Surface: bot.InHome})
	h, n := hc.last("U0ALICE")
	if n != 1 {
		t.Fatalf("%d home views published on open, want 1", n)
	}
	text := fmt.Sprint(h.Items)
	if !strings.Contains(text, own.ID) {
		t.Errorf("the home lacks alice's own notebook: %s", text)
	}
	if !strings.Contains(text, team.ID) || strings.Contains(text, other.ID) {
		t.Errorf("the home shows the wrong notebooks: %s", text)
	}
	var btn bot.Button
	for _, it := range h.Items {
		if strings.Contains(it.Text.String(), team.ID) {
			btn = it.Buttons[0]
		}
	}
	before := w.stop(t, team.ID)
	click := bot.Event{Kind: bot.ClickEvent, User: "U0ALICE", Surface: bot.InHome, Action: btn.Action, Value: btn.Value}
	w.bot.Handle(context.Background(), click)
	w.bot.Handle(context.Background(), click) // a double click extends once
	if got := w.stop(t, team.ID); !got.Equal(before.Add(time.Hour)) {
		t.Errorf("stop %v, want +1h from %v", got, before)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if _, n := hc.last("U0ALICE"); n >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, n := hc.last("U0ALICE"); n < 2 {
		t.Error("the home view was not refreshed after the click")
	}
	// Someone with no route to the notebook changes nothing.
	bob := click
	bob.User = "U0BOB"
	if r := w.bot.Handle(context.Background(), bob); r == nil || r.Message.InChannel {
		t.Errorf("a stranger's home click was answered %v", r)
	}
	if got := w.stop(t, team.ID); !got.Equal(before.Add(time.Hour)) {
		t.Error("a stranger's click changed the stop time")
	}
	// A forged amount over the owner's limit changes nothing and says why.
	ownStop := w.stop(t, own.ID)
	forged := bot.Event{Kind: bot.ClickEvent, User: "U0ALICE", Surface: bot.InHome, Action: bot.ActionExtend,
		Value: fmt.Sprintf("%s|%d|%d", own.ID, ownStop.UnixMilli(), int64(10*time.Hour/time.Second))}
	if r := w.bot.Handle(context.Background(), forged); r == nil || !strings.Contains(r.Message.Text.String(), "at most 8h") {
		t.Errorf("a forged home click over the owner limit: %v", r)
	}
	if !w.stop(t, own.ID).Equal(ownStop) {
		t.Error("a forged home click over the owner limit changed the stop time")
	}
	_ = json.Marshal
}

// In a direct message, owners manage their own notebooks, within the owner
// limit; everything else is refused as before.
func TestOwnersInDirectMessages(t *testing.T) {
	const cfg = `modelarts:
  endpoint: %[1]s
  project_id: %[2]s
people:
  alice-iam: U0ALICE
defaults:
  max_extend: 8h
  owner_max_extend: 2h
channels:
  C0TEAM:
    users: [U0BOB]
    notebooks: ["*"]
`
	w := newWorldWith(t, cfg)
	now := w.clk.Now()
	mk := func(name, owner string) lease.Notebook {
		return w.sim.Add(lease.Notebook{Name: name, Status: lease.StatusRunning, User: lease.User{Name: owner},
			Lease: lease.Lease{CreateAt: now.Add(-time.Hour).UnixMilli(), Duration: (3 * time.Hour).Milliseconds(), Enable: true}})
	}
	own := mk("alice-solo", "alice-iam")
	theirs := mk("bobs", "bob-iam")
	dm := func(user, text string) bot.Message {
		r := w.bot.Handle(context.Background(), bot.Event{Kind: bot.CommandEvent, User: user, Channel: "D0" + user, Surface: bot.InDirect, Text: text})
		return r.Message
	}
	before := w.stop(t, own.ID)
	if r := dm("U0ALICE", "extend alice-solo 1h"); !r.InChannel || !strings.Contains(r.Text.String(), "extended alice-solo") {
		t.Errorf("owner's extension in a DM: %q", r.Text)
	}
	if got := w.stop(t, own.ID); !got.Equal(before.Add(time.Hour)) {
		t.Errorf("stop %v, want +1h", got)
	}
	renews := w.sim.Count(simulator.RouteRenew)
	for _, c := range []struct{ user, text, want string }{
		{"U0ALICE", "extend alice-solo 3h", "at most 2h"},               // the owner limit, before any API call
		{"U0ALICE", "extend bobs 1h", "does not exist or is not yours"}, // someone else's: like a missing one
		{"U0ALICE", "status " + theirs.ID, "or it is not yours"},
		{"U0BOB", "extend bobs 1h", "direct messages"}, // bob owns nothing leasebot knows of
	} {
		if r := dm(c.user, c.text); r.InChannel || !strings.Contains(r.Text.String(), c.want) {
			t.Errorf("%s %q: %q, want %q", c.user, c.text, r.Text, c.want)
		}
	}
	if w.sim.Count(simulator.RouteRenew) != renews {
		t.Error("a refused DM command reached ModelArts' renew")
	}
	if r := dm("U0ALICE", "list"); !strings.Contains(r.Text.String(), "alice-solo") || strings.Contains(r.Text.String(), "bobs") {
		t.Errorf("an owner's list in a DM: %q", r.Text)
	}
}

// countingStore counts the questions asked of HasHome.
type countingStore struct {
	store.API
	hasHome atomic.Int64
}

func (s *countingStore) HasHome(ctx context.Context, user string) (bool, error) {
	s.hasHome.Add(1)
	return s.API.HasHome(ctx, user)
}

// Refreshing home views after changes asks the store once per person, not
// once per change: a home once opened stays, and one never opened is
// believed closed for a while.
func TestHomeRefreshAsksTheStoreOnce(t *testing.T) {
	const cfg = `modelarts:
  endpoint: %[1]s
  project_id: %[2]s
defaults:
  extend_buttons: [1h]
channels:
  C0TEAM:
    users: [U0ALICE, U0BOB]
    notebooks: ["*"]
`
	w := newWorldWith(t, cfg)
	hc := &homeChat{recChat: w.chat, homes: map[string][]bot.Home{}}
	cs := &countingStore{API: w.opts.Store}
	w.opts.Chat, w.opts.Store = hc, cs
	w.bot = bot.New(w.opts)
	t.Cleanup(w.bot.Close)
	nb := w.addRunning("team-x", 3*time.Hour)
	extend := func(user string) {
		w.bot.Handle(context.Background(), bot.Event{Kind: bot.CommandEvent, User: user, Channel: "C0TEAM", Text: "extend " + nb.ID + " 1h"})
	}
	waitHomes := func(user string, want int) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, n := hc.last(user); n >= want {
				return
			}
		}
		_, n := hc.last(user)
		t.Fatalf("%s: %d home views published, want %d", user, n, want)
	}

	for range 3 {
		extend("U0BOB") // never opened the home view
	}
	w.bot.Close() // waits for the background refreshes
	if got := cs.hasHome.Load(); got != 1 {
		t.Errorf("three changes by someone without a home view asked the store %d times, want 1", got)
	}
	if _, n := hc.last("U0BOB"); n != 0 {
		t.Errorf("%d home views published for someone who never opened it", n)
	}

	w.bot = bot.New(w.opts)
	t.Cleanup(w.bot.Close)
	w.bot.Handle(context.Background(), bot.Event{Kind: bot.HomeOpenedEvent, User: "U0ALICE", Surface: bot.InHome})
	waitHomes("U0ALICE", 1)
	asked := cs.hasHome.Load()
	for i := range 3 {
		extend("U0ALICE")
		waitHomes("U0ALICE", 2+i)
	}
	if got := cs.hasHome.Load() - asked; got != 0 {
		t.Errorf("changes by someone whose home view is open asked the store %d times, want 0", got)
	}
}

// A start whose watching process went away (stopped, or killed: the
// watch stays in the store) has its announcement updated by the leader's
// next cycle, once, however many replicas poll.
func TestTheLeaderTellsTheEndOfAStartItsStarterLeft(t *testing.T) {
	w := newStartWorld(t, time.Second)
	w.sim.Add(lease.Notebook{Name: "orphaned", Status: lease.StatusStopped})
	command(w.bot, "U0ADMIN", "C0ML", "start orphaned 2h")
	ps := postsIn(w.chat.Posts(), "C0ML")
	if len(ps) != 1 {
		t.Fatalf("want one announcement, got %v", ps)
	}
	w.bot.Close() // the starter stops before the notebook runs
	time.Sleep(1200 * time.Millisecond)
	if ups := w.chat.Updates(ps[0]); len(ups) != 0 {
		t.Fatalf("the starter said %v as it stopped; the leader is to say the end", ups)
	}
	// Two replicas on the same store poll at once.
	var leaders []*bot.Bot
	for range 2 {
		l := bot.New(w.opts)
		t.Cleanup(l.Close)
		leaders = append(leaders, l)
	}
	var wg sync.WaitGroup
	for _, l := range leaders {
		wg.Add(1)
		go func() { defer wg.Done(); l.Poll(context.Background()) }()
	}
	wg.Wait()
	w.waitUpdate(t, ps[0], "it is running and stops")
	if ups := w.chat.Updates(ps[0]); len(ups) != 1 {
		t.Errorf("the announcement was updated %d times: %v", len(ups), ups)
	}
	leaders[0].Poll(context.Background())
	if ups := w.chat.Updates(ps[0]); len(ups) != 1 {
		t.Errorf("a later cycle updated it again: %v", ups)
	}
}

// A start its starter left that is still not running after the watch's
// time, or whose notebook was deleted meanwhile, is said so by the leader.
func TestTheLeaderGivesUpOnAStartItsStarterLeft(t *testing.T) {
	for _, c := range []struct {
		name   string
		delete bool
		want   string
	}{
		{"still starting", false, "still STARTING after"},
		{"deleted", true, "no longer exists"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newStartWorld(t, time.Hour)
			w.opts.StartWatch = 300 * time.Millisecond
			w.bot = bot.New(w.opts)
			nb := w.sim.Add(lease.Notebook{Name: "glacial", Status: lease.StatusStopped})
			command(w.bot, "U0ADMIN", "C0ML", "start glacial 2h")
			ps := postsIn(w.chat.Posts(), "C0ML")
			if len(ps) != 1 {
				t.Fatalf("want one announcement, got %v", ps)
			}
			w.bot.Close()
			if c.delete {
				w.sim.Delete(nb.ID)
			} else {
				time.Sleep(400 * time.Millisecond) // past the watch's time
			}
			leader := bot.New(w.opts)
			t.Cleanup(leader.Close)
			if err := leader.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
			w.waitUpdate(t, ps[0], c.want)
			leader.Poll(context.Background())
			if ups := w.chat.Updates(ps[0]); len(ups) != 1 {
				t.Errorf("the announcement was updated %d times: %v", len(ups), ups)
			}
		})
	}
}
