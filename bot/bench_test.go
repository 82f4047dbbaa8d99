package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/slackchat"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

type countChat struct{ posts, updates int }

func (c *countChat) Run(ctx context.Context, _ bot.Handler) error { <-ctx.Done(); return nil }
func (c *countChat) Post(_ context.Context, to bot.Target, _ bot.Message) (bot.MessageRef, error) {
	c.posts++
	return bot.MessageRef{Conversation: to.Channel, ID: strconv.Itoa(c.posts)}, nil
}
func (c *countChat) Update(context.Context, bot.MessageRef, bot.Message) error {
	c.updates++
	return nil
}
func (c *countChat) TimeZone(context.Context, string) (*time.Location, error) { return time.UTC, nil }
func (c *countChat) GroupMembers(context.Context, string) ([]string, error)   { return nil, nil }

// bigWorld is 10 000 running notebooks and 200 channels with a realistic mix
// of selectors: team globs, tags, exact names and IDs, and two "*" channels.
func bigWorld(tb testing.TB, notebooks, channels int) (*bot.Bot, *simulator.Server, *countChat) {
	tb.Helper()
	sim := simulator.New(simulator.Options{AK: "AK", SK: "SK"})
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	now := time.Now()
	var ids []string
	for i := range notebooks {
		team := i % 100
		created := now.Add(-time.Hour).UnixMilli()
		left := time.Duration(i%4320) * time.Minute // spread over 72h
		nb := sim.Add(lease.Notebook{
			Name: fmt.Sprintf("team-%03d-nb-%05d", team, i), Status: lease.StatusRunning,
			Tags:  []lease.Tag{{Key: "team", Value: strconv.Itoa(team)}},
			Lease: lease.Lease{CreateAt: created, Duration: now.Add(left+time.Minute).UnixMilli() - created, Enable: true, Type: "TIMING"},
		})
		ids = append(ids, nb.ID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "modelarts:\n  endpoint: %s\n  project_id: %s\ndefaults:\n  warn_before: [30m, 10m]\nchannels:\n", srv.URL, sim.ProjectID())
	for c := range channels {
		fmt.Fprintf(&b, "  C%05d:\n    users: [U0ALICE]\n", c)
		switch {
		case c < 2:
			b.WriteString("    notebooks: [\"*\"]\n    warn: false\n")
		case c < 60:
			fmt.Fprintf(&b, "    notebooks: [\"team-%03d-*\"]\n", c%100)
		case c < 160:
			fmt.Fprintf(&b, "    notebooks: [\"tag:team=%d\"]\n", c%100)
		default:
			fmt.Fprintf(&b, "    notebooks: [%q, %q]\n", ids[c*7%len(ids)], fmt.Sprintf("team-%03d-nb-%05d", c%100, c*13%notebooks))
		}
	}
	cfg, err := config.Parse([]byte(b.String()), "bench.yml")
	if err != nil {
		tb.Fatal(err)
	}
	client, err := lease.New(lease.Config{Endpoint: srv.URL, ProjectID: sim.ProjectID(), Auth: &lease.AKSK{AK: "AK", SK: "SK"}})
	if err != nil {
		tb.Fatal(err)
	}
	chat := &countChat{}
	core := bot.New(bot.Options{Config: cfg, Leases: client, Chat: chat, Store: testStore(tb)})
	return core, sim, chat
}

func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkWatcherCycle measures one steady-state watcher cycle at 10 000
// running notebooks and 200 channels (the first cycle, which posts the
// warnings, runs before the timer starts). requests/cycle must be ⌈N/50⌉.
// The time includes the in-process simulator serving the listing.
func BenchmarkWatcherCycle(b *testing.B) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	core, sim, chat := bigWorld(b, n, 200)
	ctx := context.Background()
	if err := core.Poll(ctx); err != nil {
		b.Fatal(err)
	}
	firstPosts := chat.posts
	sim.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := core.Poll(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(sim.Count(simulator.RouteList))/float64(b.N), "requests/cycle")
	b.ReportMetric(float64(chat.posts-firstPosts)/float64(b.N), "new-warnings/cycle")
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(rssMB(), "rss-MB")
}

func TestWatcherCycleCost(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	core, sim, chat := bigWorld(t, n, 200)
	if err := core.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := (n + 49) / 50; sim.Count(simulator.RouteList) != want {
		t.Errorf("one cycle made %d list requests, want ⌈%d/50⌉ = %d", sim.Count(simulator.RouteList), n, want)
	}
	if sim.Count(simulator.RouteGet)+sim.Count(simulator.RouteLease) != 0 {
		t.Error("the watcher made per-notebook requests")
	}
	if chat.posts == 0 {
		t.Error("no warnings at all: the fixture is wrong")
	}
}

// benchHomeChat is a chat adapter whose home view goes out through pub, the
// Slack adapter (rendered by it as Block Kit and sent with views.publish)
// or nil to only count what the core built.
type benchHomeChat struct {
	countChat
	pub   bot.HomePublisher
	homes atomic.Int64
	items atomic.Int64 // items in the last home view built
}

func (c *benchHomeChat) PublishHome(ctx context.Context, user string, h bot.Home) error {
	c.homes.Add(1)
	c.items.Store(int64(len(h.Items)))
	if c.pub == nil {
		return nil
	}
	return c.pub.PublishHome(ctx, user, h)
}

// slackStub is the Slack Web API reduced to views.publish answering ok,
// timing its own handler so that its share can be taken out.
type slackStub struct {
	calls atomic.Int64
	spent atomic.Int64 // ns inside the handler
	bytes atomic.Int64
}

func (s *slackStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	n, _ := io.Copy(io.Discard, r.Body)
	s.bytes.Add(n)
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/views.publish") {
		s.calls.Add(1)
		_, _ = io.WriteString(w, `{"ok":true}`)
	} else {
		_, _ = io.WriteString(w, `{"ok":false,"error":"unknown_method"}`)
	}
	s.spent.Add(int64(time.Since(t0)))
}

// BenchmarkHomeView measures leasebot's own time to build and publish the
// App Home view of a person whose channel covers 50 of 1 000 notebooks:
// Handle with a HomeOpenedEvent (the delivery claimed and the opened home
// recorded in a SQLite store, the notebooks picked from the listing and
// described), the listing cached (warm, as within ListTTL of the last
// one). "slack" renders it with the Slack adapter and sends views.publish
// to an in-process stub (its handler time is reported as stub-us/op, the
// rest is leasebot's); "core" stops at the core's Home.
func BenchmarkHomeView(b *testing.B) {
	for _, slack := range []bool{true, false} {
		name := "core"
		if slack {
			name = "slack"
		}
		b.Run(name, func(b *testing.B) { benchHomeView(b, slack) })
	}
}

func benchHomeView(b *testing.B, slack bool) {
	const user, covered, total = "U0ALICE", 50, 1000
	sim := simulator.New(simulator.Options{AK: "AK", SK: "SK"})
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	now := time.Now()
	for i := range total {
		name := fmt.Sprintf("other-%04d", i)
		if i%(total/covered) == 0 {
			name = fmt.Sprintf("home-%04d", i)
		}
		created := now.Add(-time.Hour).UnixMilli()
		sim.Add(lease.Notebook{Name: name, Status: lease.StatusRunning,
			Lease: lease.Lease{CreateAt: created, Duration: now.Add(time.Duration(i+60)*time.Minute).UnixMilli() - created, Enable: true, Type: "TIMING"}})
	}
	yml := fmt.Sprintf("modelarts:\n  endpoint: %s\n  project_id: %s\nchannels:\n  C0HOME:\n    users: [%s]\n    notebooks: [\"home-*\"]\n  C0OTHER:\n    users: [U0BOB]\n    notebooks: [\"*\"]\n",
		srv.URL, sim.ProjectID(), user)
	cfg, err := config.Parse([]byte(yml), "home.yml")
	if err != nil {
		b.Fatal(err)
	}
	client, err := lease.New(lease.Config{Endpoint: srv.URL, ProjectID: sim.ProjectID(), Auth: &lease.AKSK{AK: "AK", SK: "SK"}})
	if err != nil {
		b.Fatal(err)
	}
	chat := &benchHomeChat{}
	stub := &slackStub{}
	if slack {
		api := httptest.NewServer(stub)
		b.Cleanup(api.Close)
		chat.pub = slackchat.New(slackchat.Options{AppToken: "xapp-1", BotToken: "xoxb-1", APIURL: api.URL + "/api/",
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}
	core := bot.New(bot.Options{Config: cfg, Leases: client, Chat: chat, Store: testStore(b), ListTTL: time.Hour,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	open := func(i int) {
		core.Handle(ctx, bot.Event{Kind: bot.HomeOpenedEvent, ID: fmt.Sprintf("home-%d", i), User: user, Surface: bot.InHome})
	}
	open(-1) // lists the notebooks once: the listing is warm from here on
	if n := chat.items.Load(); n != covered {
		b.Fatalf("the home view holds %d notebooks, want %d", n, covered)
	}
	lists := sim.Count(simulator.RouteList)
	stub.spent.Store(0)
	stub.calls.Store(0)
	stub.bytes.Store(0)
	homes := chat.homes.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		open(i)
	}
	b.StopTimer()
	if got := chat.homes.Load() - homes; got != int64(b.N) {
		b.Fatalf("%d home views published for %d opens", got, b.N)
	}
	if sim.Count(simulator.RouteList) != lists {
		b.Fatal("the listing was fetched again: not warm")
	}
	if slack {
		if stub.calls.Load() != int64(b.N) {
			b.Fatalf("%d views.publish calls for %d opens", stub.calls.Load(), b.N)
		}
		b.ReportMetric(float64(stub.spent.Load())/float64(b.N)/1e3, "stub-us/op")
		b.ReportMetric(float64(stub.bytes.Load())/float64(b.N), "view-bytes/op")
	}
}
