package bot_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store"
)

// clock is a settable clock shared by the simulator, the client and the core.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type posted struct {
	channel, ref string
	msg          bot.Message
}

// recChat records what the core posts and replaces.
type recChat struct {
	tzErr   error // TimeZone fails with it when set
	mu      sync.Mutex
	posts   []posted
	updates map[string][]bot.Message // ref -> replacements
}

func (r *recChat) Run(ctx context.Context, _ bot.Handler) error { <-ctx.Done(); return nil }

func (r *recChat) Post(_ context.Context, to bot.Target, m bot.Message) (bot.MessageRef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	channel := to.Channel
	if to.User != "" {
		channel = "D-" + to.User
	}
	ref := fmt.Sprintf("%d.000100", 1700000000+len(r.posts))
	r.posts = append(r.posts, posted{channel, ref, m})
	return bot.MessageRef{Conversation: channel, ID: ref}, nil
}

func (r *recChat) Update(_ context.Context, ref bot.MessageRef, m bot.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.updates == nil {
		r.updates = map[string][]bot.Message{}
	}
	r.updates[ref.Conversation+"/"+ref.ID] = append(r.updates[ref.Conversation+"/"+ref.ID], m)
	return nil
}

func (r *recChat) TimeZone(context.Context, string) (*time.Location, error) {
	if r.tzErr != nil {
		return nil, r.tzErr
	}
	return time.UTC, nil
}
func (r *recChat) GroupMembers(context.Context, string) ([]string, error) { return nil, nil }

// testClick is a press on a button in a channel.
type testClick struct{ User, Channel, Ref, Action, Value string }

// press sends c to the core and returns its reply to the clicker, if any.
func press(b *bot.Bot, c testClick) *bot.Message {
	r := b.Handle(context.Background(), bot.Event{Kind: bot.ClickEvent, User: c.User, Channel: c.Channel, Surface: bot.InChannel,
		Action: c.Action, Value: c.Value, Message: bot.MessageRef{Conversation: c.Channel, ID: c.Ref}})
	if r == nil {
		return nil
	}
	return &r.Message
}

// command types a command in a channel and returns the reply.
func command(b *bot.Bot, user, channel, text string) bot.Message {
	r := b.Handle(context.Background(), bot.Event{Kind: bot.CommandEvent, User: user, Channel: channel, Surface: bot.InChannel, Text: text})
	if r == nil {
		return bot.Message{}
	}
	return r.Message
}

func (r *recChat) Posts() []posted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]posted(nil), r.posts...)
}

func (r *recChat) Updates(p posted) []bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Message(nil), r.updates[p.channel+"/"+p.ref]...)
}

type world struct {
	clk  *clock
	sim  *simulator.Server
	chat *recChat
	bot  *bot.Bot
	opts bot.Options
}

const warnConfig = `modelarts:
  endpoint: %s
  project_id: %s
defaults:
  warn_before: [30m, 10m]
  extend_buttons: [1h, 4h]
channels:
  C0ML:
    users: [U0ALICE, U0CAROL]
    notebooks: ["*"]
  C0QUIET:
    users: [U0ALICE]
    notebooks: ["*"]
    warn: false
  C0TEAMB:
    users: [U0ALICE]
    notebooks: ["team-b-*"]
    max_extend: 2h
    extend_buttons: [1h]
`

func newWorld(t *testing.T) *world {
	t.Helper()
	clk := &clock{t: time.Now().Truncate(time.Second)}
	sim := simulator.New(simulator.Options{AK: "AK", SK: "SK", Now: clk.Now})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := lease.New(lease.Config{Endpoint: srv.URL, ProjectID: sim.ProjectID(), Auth: &lease.AKSK{AK: "AK", SK: "SK", Now: clk.Now}, Now: clk.Now, RetryBudget: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(warnConfig, srv.URL, sim.ProjectID())), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{clk: clk, sim: sim, chat: &recChat{}}
	w.opts = bot.Options{Config: cfg, Leases: client, Chat: w.chat, Store: testStore(t), Now: clk.Now}
	w.bot = bot.New(w.opts)
	return w
}

// warningButton runs a watcher cycle and returns the first warning posted
// in C0ML and its button labelled label.
func (w *world) warningButton(t *testing.T, label string) (posted, bot.Button) {
	t.Helper()
	w.poll(t)
	ps := postsIn(w.chat.Posts(), "C0ML")
	if len(ps) == 0 {
		t.Fatal("no warning was posted in C0ML")
	}
	return ps[0], button(t, ps[0], label)
}

func (w *world) poll(t *testing.T) {
	t.Helper()
	if err := w.bot.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// addRunning adds a running notebook whose stop time is left from the test clock.
func (w *world) addRunning(name string, left time.Duration) lease.Notebook {
	now := w.clk.Now()
	created := now.Add(-time.Hour).UnixMilli()
	return w.sim.Add(lease.Notebook{Name: name, Status: lease.StatusRunning,
		Lease: lease.Lease{CreateAt: created, Duration: now.Add(left).UnixMilli() - created, Enable: true, Type: "TIMING"}})
}

func (w *world) stop(t *testing.T, id string) time.Time {
	nb, ok := w.sim.Notebook(id)
	if !ok {
		t.Fatal("notebook vanished")
	}
	return nb.StopTime()
}

func postsIn(ps []posted, channel string) []posted {
	var out []posted
	for _, p := range ps {
		if p.channel == channel {
			out = append(out, p)
		}
	}
	return out
}

func button(t *testing.T, p posted, label string) bot.Button {
	t.Helper()
	for _, b := range p.msg.Buttons {
		if b.Label == label {
			return b
		}
	}
	t.Fatalf("no button %q on %q", label, p.msg.Text)
	return bot.Button{}
}

func TestOneWarningPerThresholdOverManyPolls(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("long-job", 45*time.Minute)
	for range 5 {
		w.poll(t)
	}
	if n := len(w.chat.Posts()); n != 0 {
		t.Fatalf("%d warnings before any threshold", n)
	}
	w.clk.Advance(16 * time.Minute) // 29m left: inside 30m
	for range 5 {
		w.poll(t)
		w.clk.Advance(time.Minute)
	}
	ps := postsIn(w.chat.Posts(), "C0ML")
	if len(ps) != 1 {
		t.Fatalf("want 1 warning in C0ML after crossing 30m, got %d", len(ps))
	}
	w.clk.Advance(15 * time.Minute) // 9m left: inside 10m
	for range 5 {
		w.poll(t)
	}
	ps = postsIn(w.chat.Posts(), "C0ML")
	if len(ps) != 2 {
		t.Fatalf("want 2 warnings after crossing 10m, got %d", len(ps))
	}
	for _, want := range []string{nb.Name, nb.ID} {
		if !strings.Contains(ps[1].msg.Text.String(), want) {
			t.Errorf("warning %q lacks %q", ps[1].msg.Text, want)
		}
	}
	if got := len(ps[1].msg.Buttons); got != 3 {
		t.Errorf("want 2 extend buttons and Let it stop, got %d", got)
	}
	if n := len(postsIn(w.chat.Posts(), "C0QUIET")); n != 0 {
		t.Errorf("a warn:false channel got %d warnings", n)
	}
	if n := len(postsIn(w.chat.Posts(), "C0TEAMB")); n != 0 {
		t.Errorf("a channel whose selectors do not cover the notebook got %d warnings", n)
	}
}

func TestFirstSeenInsideThresholdsWarnsOnceForTheSmallest(t *testing.T) {
	w := newWorld(t)
	w.addRunning("nearly-done", 5*time.Minute)
	w.poll(t)
	w.poll(t)
	ps := postsIn(w.chat.Posts(), "C0ML")
	if len(ps) != 1 {
		t.Fatalf("want exactly one warning, got %d", len(ps))
	}
	if !strings.Contains(ps[0].msg.Text.String(), "in 5m") {
		t.Errorf("warning %q should say the time left", ps[0].msg.Text)
	}
}

func TestClickExtendsOnceFromTheShownStopTime(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("click-me", 20*time.Minute)
	shown := w.stop(t, nb.ID)
	p, b := w.warningButton(t, "Extend 1h")
	w.clk.Advance(3 * time.Minute)

	var wg sync.WaitGroup
	replies := make([]*bot.Message, 2)
	for i, user := range []string{"U0ALICE", "U0CAROL"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = press(w.bot, testClick{User: user, Channel: "C0ML", Ref: p.ref, Action: b.Action, Value: b.Value})
		}()
	}
	wg.Wait()
	if got := w.stop(t, nb.ID); !got.Equal(shown.Add(time.Hour)) {
		t.Errorf("stop %v, want the shown stop + 1h = %v", got, shown.Add(time.Hour))
	}
	if n := w.sim.Count(simulator.RouteRenew); n != 1 {
		t.Errorf("two clicks made %d renew calls, want 1", n)
	}
	told := 0
	for _, r := range replies {
		if r != nil {
			told++
			if s := r.Text.String(); !strings.Contains(s, "already extended") && !strings.Contains(s, "right now") {
				t.Errorf("the second clicker was told %q", s)
			}
		}
	}
	if told != 1 {
		t.Errorf("want exactly one clicker told it was already done, got %d", told)
	}
	ups := w.chat.Updates(p)
	if len(ups) != 1 {
		t.Fatalf("the warning was replaced %d times, want 1", len(ups))
	}
	if got := ups[0]; len(got.Buttons) != 0 || !strings.Contains(got.Text.String(), "extended") || !strings.Contains(got.Text.String(), "by 1h") {
		t.Errorf("replacement %q (%d buttons) should say who extended by how much, without buttons", got.Text, len(got.Buttons))
	}
	// A third, later click: told who did it, nothing changes.
	r := press(w.bot, testClick{User: "U0CAROL", Channel: "C0ML", Ref: p.ref, Action: b.Action, Value: b.Value})
	if r == nil || !strings.Contains(r.Text.String(), "already extended") {
		t.Errorf("a later click should be told it was already extended, got %v", r)
	}
	if n := w.sim.Count(simulator.RouteRenew); n != 1 {
		t.Errorf("renews after a later click: %d", n)
	}
}

func TestRefusedClickerChangesNothing(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("guarded", 20*time.Minute)
	before := w.stop(t, nb.ID)
	p, b := w.warningButton(t, "Extend 4h")
	r := press(w.bot, testClick{User: "U0BOB", Channel: "C0ML", Ref: p.ref, Action: b.Action, Value: b.Value})
	if r == nil || r.InChannel || !strings.Contains(r.Text.String(), "not on this channel") {
		t.Errorf("refused clicker got %v", r)
	}
	if !w.stop(t, nb.ID).Equal(before) || w.sim.Count(simulator.RouteRenew) != 0 || len(w.chat.Updates(p)) != 0 {
		t.Error("a refused click changed something")
	}
}

func TestLetItStopSilencesLaterThresholds(t *testing.T) {
	w := newWorld(t)
	w.addRunning("let-go", 25*time.Minute)
	p, b := w.warningButton(t, "Let it stop")
	if r := press(w.bot, testClick{User: "U0ALICE", Channel: "C0ML", Ref: p.ref, Action: b.Action, Value: b.Value}); r != nil {
		t.Errorf("dismiss answered %q", r.Text)
	}
	ups := w.chat.Updates(p)
	if len(ups) != 1 || len(ups[0].Buttons) != 0 || !strings.Contains(ups[0].Text.String(), "chose to let") {
		t.Fatalf("dismiss should replace the warning, got %v", ups)
	}
	w.clk.Advance(20 * time.Minute) // inside 10m now
	w.poll(t)
	if n := len(postsIn(w.chat.Posts(), "C0ML")); n != 1 {
		t.Errorf("after Let it stop, %d warnings (want no new one)", n)
	}
	if w.sim.Count(simulator.RouteRenew) != 0 {
		t.Error("Let it stop renewed the lease")
	}
}

func TestWarningUpdatedWhenNotebookStopsOrMoves(t *testing.T) {
	w := newWorld(t)
	moving := w.addRunning("moving", 20*time.Minute)
	stopping := w.addRunning("stopping", 15*time.Minute)
	w.poll(t)
	ps := postsIn(w.chat.Posts(), "C0ML")
	if len(ps) != 2 {
		t.Fatalf("want 2 warnings, got %d", len(ps))
	}
	byName := map[string]posted{}
	for _, p := range ps {
		if strings.Contains(p.msg.Text.String(), "moving") {
			byName["moving"] = p
		} else {
			byName["stopping"] = p
		}
	}
	w.sim.SetStop(moving.ID, w.clk.Now().Add(5*time.Hour))
	w.sim.SetStatus(stopping.ID, lease.StatusStopped)
	w.poll(t)
	w.poll(t)
	if ups := w.chat.Updates(byName["moving"]); len(ups) != 1 || !strings.Contains(ups[0].Text.String(), "moved") {
		t.Errorf("moved notebook: updates %v", ups)
	}
	if ups := w.chat.Updates(byName["stopping"]); len(ups) != 1 || !strings.Contains(ups[0].Text.String(), "no longer running") {
		t.Errorf("stopped notebook: updates %v", ups)
	}
}

func TestStateFileStopsRepeatsAfterRestart(t *testing.T) {
	w := newWorld(t)
	w.addRunning("persist", 20*time.Minute)
	w.poll(t)
	if len(w.chat.Posts()) == 0 {
		t.Fatal("no warning")
	}
	// A restart keeps the store: no warning is repeated.
	restarted := bot.New(w.opts)
	before := len(w.chat.Posts())
	if err := restarted.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(w.chat.Posts()); got != before {
		t.Errorf("after a restart with the store, %d new warnings", got-before)
	}
	fresh := w.opts // without the state: warns again
	fresh.Store = testStore(t)
	if err := bot.New(fresh).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(w.chat.Posts()) == before {
		t.Error("the control bot without state did not warn: the test proves nothing")
	}
}

func TestMalformedClicksAreIgnored(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("target", 20*time.Minute)
	for _, c := range []testClick{
		{Action: bot.ActionExtend, Value: ""},
		{Action: bot.ActionExtend, Value: "garbage"},
		{Action: bot.ActionExtend, Value: nb.ID + "|notanumber|3600"},
		{Action: bot.ActionExtend, Value: nb.ID + "|1|-5"},
		{Action: bot.ActionExtend, Value: nb.ID + "|1700000000000|99999999999"},
		{Action: bot.ActionDismiss, Value: "x|y"},
		{Action: "something_else", Value: nb.ID},
	} {
		c.User, c.Channel, c.Ref = "U0ALICE", "C0ML", "1.2"
		if r := press(w.bot, c); r != nil {
			t.Errorf("%+v: answered %q", c, r.Text)
		}
	}
	if w.sim.Count(simulator.RouteRenew)+w.sim.Count(simulator.RouteGet) != 0 {
		t.Error("a malformed click reached ModelArts")
	}
}

func TestStaleClickAfterStopTimeMoved(t *testing.T) {
	w := newWorld(t)
	nb := w.addRunning("stale", 20*time.Minute)
	p, b := w.warningButton(t, "Extend 1h")
	later := w.clk.Now().Add(6 * time.Hour)
	w.sim.SetStop(nb.ID, later)
	r := press(w.bot, testClick{User: "U0ALICE", Channel: "C0ML", Ref: p.ref, Action: b.Action, Value: b.Value})
	if r == nil || !strings.Contains(r.Text.String(), "already stops") {
		t.Errorf("stale click answered %v", r)
	}
	if !w.stop(t, nb.ID).Equal(later) || w.sim.Count(simulator.RouteRenew) != 0 {
		t.Error("a stale click moved the stop time")
	}
}

func TestIdleLeasesAreNeitherWarnedNorExtended(t *testing.T) {
	w := newWorld(t)
	now := w.clk.Now()
	created := now.Add(-time.Hour).UnixMilli()
	nb := w.sim.Add(lease.Notebook{Name: "idle-one", Status: lease.StatusRunning,
		Lease: lease.Lease{CreateAt: created, Duration: now.Add(5*time.Minute).UnixMilli() - created, Enable: true, Type: "IDLE"}})
	w.poll(t)
	if n := len(w.chat.Posts()); n != 0 {
		t.Errorf("a stop-when-idle notebook was warned about (%d posts)", n)
	}
	reply := command(w.bot, "U0ALICE", "C0ML", "extend "+nb.ID+" 1h")
	if !strings.Contains(reply.Text.String(), "idle") || reply.InChannel {
		t.Errorf("extending an idle lease: %q", reply.Text)
	}
	if w.sim.Count(simulator.RouteRenew) != 0 {
		t.Error("an idle lease was renewed (which would turn it into a scheduled stop)")
	}
}

// statusBlind lists every notebook whatever status is asked for, as a server
// that ignores the status filter would.
type statusBlind struct{ bot.Leases }

func (s statusBlind) List(ctx context.Context, _ lease.ListOptions) ([]lease.Notebook, error) {
	return s.Leases.List(ctx, lease.ListOptions{})
}

func TestStoppedNotebookReportedEvenIfListedAnyway(t *testing.T) {
	w := newWorld(t)
	w.opts.Leases = statusBlind{w.opts.Leases}
	w.bot = bot.New(w.opts)
	nb := w.addRunning("still-listed", 15*time.Minute)
	w.poll(t)
	ps := postsIn(w.chat.Posts(), "C0ML")
	if len(ps) != 1 {
		t.Fatalf("want 1 warning, got %d", len(ps))
	}
	w.sim.SetStatus(nb.ID, lease.StatusStopped)
	w.poll(t)
	if ups := w.chat.Updates(ps[0]); len(ups) != 1 || !strings.Contains(ups[0].Text.String(), "no longer running") {
		t.Errorf("a stopped notebook still in the listing: updates %v", ups)
	}
}

// testStore is a fresh SQLite store in the test's temporary directory.
func testStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "leasebot.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// failingUpdates fails the next n Update calls, as a store that went away
// for a moment would.
type failingUpdates struct {
	store.API
	n atomic.Int32
}

func (f *failingUpdates) Update(ctx context.Context, fn func(tx *store.Tx) error) error {
	if f.n.Add(-1) >= 0 {
		return fmt.Errorf("the store is unavailable: %w", store.ErrUnavailable)
	}
	return f.API.Update(ctx, fn)
}

// When recording how a warning ended fails after the extension was made,
// the extension's history entry is still written on its own.
func TestClickExtensionHistoryKeptWhenEndingTheWarningFails(t *testing.T) {
	w := newWorld(t)
	fu := &failingUpdates{API: w.opts.Store}
	w.opts.Store = fu
	w.bot = bot.New(w.opts)
	t.Cleanup(w.bot.Close)
	nb := w.addRunning("flaky-store", 20*time.Minute)
	p, b := w.warningButton(t, "Extend 1h")
	fu.n.Store(1)
	press(w.bot, testClick{User: "U0ALICE", Channel: "C0ML", Ref: p.ref, Action: b.Action, Value: b.Value})
	if n := w.sim.Count(simulator.RouteRenew); n != 1 {
		t.Fatalf("%d renewals, want 1", n)
	}
	es, err := w.opts.Store.History(context.Background(), store.HistoryQuery{Notebooks: []string{nb.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Outcome != "extended" {
		t.Errorf("history of an extension whose warning could not be ended: %+v, want one extended entry", es)
	}
}
