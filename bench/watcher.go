package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/access"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store"
)

// ---- 4. Watcher cycle ------------------------------------------------------------

// WatcherResult is figure 4 measured on the real binary: the simulator
// serves the listing from this process, so the process's CPU is leasebot's
// alone.
type WatcherResult struct {
	Fleet               string
	Notebooks, Channels int
	Requests            []int // list requests in each cycle, the first included
	Want                int   // ⌈Notebooks/50⌉
	PerNotebook         int   // get and lease requests (must be 0)
	CPU                 Dist  // leasebot process CPU per steady cycle
	FirstCPU            time.Duration
	Fetch               Dist // first → last page request of each steady cycle (simulator-bound)
	RSS, PeakRSS        float64
	Warnings            int // chat.postMessage calls (all in the first cycle)
	// Store operations (leasebot_store_operations_total by op) in each
	// steady cycle, from the end of the one before to the end of this
	// one, and the chat.postMessage and chat.update calls in the same
	// span; nil for a bot without metrics.
	Ops     []map[string]float64
	Changes []int
}

// StoreWrites counts the writes among ops (see Writes), leadership left out.
func StoreWrites(ops map[string]float64) float64 {
	var n float64
	for op, v := range ops {
		if Writes[op] {
			n += v
		}
	}
	return n
}

// settled waits until p's CPU time grows by less than 2 ms in 100 ms, or 10 s.
func settled(p *Proc) time.Duration {
	prev := p.CPU()
	for range 100 {
		time.Sleep(100 * time.Millisecond)
		c := p.CPU()
		if c-prev < 2*time.Millisecond {
			return c
		}
		prev = c
	}
	return prev
}

// WatcherReal runs the fleet's bot (one process: the leader) on notebooks
// running notebooks and channels channels polling every interval, and
// measures its CPU time over steady cycles after the first (0: only the
// first cycle, which also posts the warnings and overlaps start-up). Stop
// times lie on whole minutes from the world's creation, so no threshold is
// crossed and nothing changes in the cycles measured within its first
// minute: a steady cycle must then write nothing to the store.
func WatcherReal(ctx context.Context, f Fleet, dir string, notebooks, channels, cycles int, interval time.Duration) (*WatcherResult, error) {
	o := WorldOptions{Notebooks: notebooks, Channels: channels, PollInterval: interval}
	w, err := NewWorld(dir, o)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	res := &WatcherResult{Fleet: f.Name(), Notebooks: notebooks, Channels: channels, Want: (notebooks + 49) / 50}
	lists := func() int { return w.Sim.Count(simulator.RouteList) }
	waitFor := func(n int) error {
		deadline := time.Now().Add(30 * time.Second)
		for lists() < n {
			if time.Now().After(deadline) {
				return fmt.Errorf("watcher: %d list requests after 30s, want %d", lists(), n)
			}
			if err := waitCtx(ctx, time.Millisecond); err != nil {
				return err
			}
		}
		return nil
	}
	f.Replicas = 1
	procs, err := f.start(w, dir)
	if err != nil {
		return nil, err
	}
	lb := procs[0]
	fail := func(err error) (*WatcherResult, error) {
		return nil, fmt.Errorf("%w\nleasebot stderr:\n%s", errors.Join(err, stopAll(lb)), tail(lb.Stderr(), 3000))
	}
	changes := func() int { return w.Slack.Calls("chat.postMessage") + w.Slack.Calls("chat.update") }
	var ops0 map[string]float64
	if err := waitFor(res.Want); err != nil {
		return fail(err)
	}
	res.FirstCPU = settled(lb)
	ch0 := changes()
	if f.Bot.Admin {
		if ops0, err = lb.StoreOps(); err != nil {
			return fail(err)
		}
	}
	for j := 1; j <= cycles; j++ {
		if err := waitFor(j*res.Want + 1); err != nil {
			return fail(err)
		}
		c0 := lb.CPU()
		if err := waitFor((j + 1) * res.Want); err != nil {
			return fail(err)
		}
		res.CPU = append(res.CPU, settled(lb)-c0)
		ch := changes()
		res.Changes = append(res.Changes, ch-ch0)
		ch0 = ch
		if f.Bot.Admin {
			ops, err := lb.StoreOps()
			if err != nil {
				return fail(err)
			}
			res.Ops = append(res.Ops, OpsDiff(ops, ops0))
			ops0 = ops
		}
	}
	res.RSS, res.PeakRSS = lb.Memory()
	if err := stopAll(lb); err != nil {
		return fail(err)
	}

	// Split the list requests into cycles where a listing starts again
	// from offset 0 (gaps in time would merge cycles that follow each
	// other closely on a slow machine).
	var last time.Time
	var first time.Time
	for _, r := range w.Sim.Requests() {
		switch r.Route {
		case simulator.RouteGet, simulator.RouteLease:
			res.PerNotebook++
		case simulator.RouteList:
			q, _ := url.ParseQuery(r.Query)
			if last.IsZero() || q.Get("offset") == "0" || q.Get("offset") == "" {
				if len(res.Requests) > 1 {
					res.Fetch = append(res.Fetch, last.Sub(first))
				}
				res.Requests = append(res.Requests, 0)
				first = r.Time
			}
			res.Requests[len(res.Requests)-1]++
			last = r.Time
		}
	}
	if len(res.Requests) > 1 {
		res.Fetch = append(res.Fetch, last.Sub(first))
	}
	res.Warnings = w.Slack.Calls("chat.postMessage")
	var errs []error
	for i, n := range res.Requests {
		if n != res.Want {
			errs = append(errs, fmt.Errorf("cycle %d made %d list requests, want ⌈%d/50⌉ = %d", i+1, n, notebooks, res.Want))
		}
	}
	if res.PerNotebook > 0 {
		errs = append(errs, fmt.Errorf("the watcher made %d per-notebook requests", res.PerNotebook))
	}
	if res.Warnings == 0 {
		errs = append(errs, errors.New("no warning posted: the fixture is wrong"))
	}
	for j, ops := range res.Ops {
		if res.Changes[j] == 0 && StoreWrites(ops) > 0 {
			errs = append(errs, fmt.Errorf("steady cycle %d changed nothing in the chat but wrote to the store: %v", j+1, ops))
		}
	}
	return res, errors.Join(errs...)
}

// OwnResult is figure 4 in process with the simulator out of the way: the
// listing pages are rendered once and then served from memory by the lease
// client's transport, so each cycle costs only the bot (lease client JSON
// decoding, ACL index, thresholds), without HTTP, TCP or the simulator.
type OwnResult struct {
	Notebooks, Channels, Cycles int
	RequestsPerCycle            float64
	CPU, Wall                   time.Duration // per cycle
	Allocs, Bytes               uint64        // per cycle
	HeapMB                      float64       // heap in use after GC, simulator and page cache included
	PageBytes                   int           // JSON bytes of one full listing

	// Where a cycle's time goes, each measured on its own over the same
	// pages and notebooks (per cycle):
	Decode     time.Duration // json.Unmarshal of every page into lease.Notebook, as the lease client does
	DecodeSlim time.Duration // the same into only the fields the watcher reads (id, name, status, lease, tags)
	Match      time.Duration // access.Index.Channels for every running notebook, as Poll does
	MatchNear  time.Duration // the same for only the notebooks inside some channel's largest warn_before
	Near       int           // how many notebooks that is
}

// pageCache is an http.RoundTripper that asks the simulator once per URL and
// then replays the answer.
type pageCache struct {
	sim   http.Handler
	mu    sync.Mutex
	pages map[string][]byte
	n     atomic.Int64
}

func (c *pageCache) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	key := req.Method + " " + req.URL.RequestURI()
	c.mu.Lock()
	body, ok := c.pages[key]
	c.mu.Unlock()
	if !ok {
		in := req.Clone(req.Context())
		if in.Body == nil {
			in.Body = http.NoBody
		}
		if in.Host == "" {
			in.Host = req.URL.Host
		}
		rec := httptest.NewRecorder()
		c.sim.ServeHTTP(rec, in)
		if rec.Code != http.StatusOK {
			return nil, fmt.Errorf("simulator answered %d: %s", rec.Code, rec.Body)
		}
		body = rec.Body.Bytes()
		c.mu.Lock()
		c.pages[key] = body
		c.mu.Unlock()
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(body))}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}, nil
}

// countChat is a chat adapter that only counts what the core posts.
type countChat struct{ posts, updates atomic.Int64 }

func (c *countChat) Run(ctx context.Context, _ bot.Handler) error { <-ctx.Done(); return nil }

func (c *countChat) Post(_ context.Context, to bot.Target, _ bot.Message) (bot.MessageRef, error) {
	return bot.MessageRef{Conversation: to.Channel, ID: strconv.FormatInt(c.posts.Add(1), 10)}, nil
}

func (c *countChat) Update(context.Context, bot.MessageRef, bot.Message) error {
	c.updates.Add(1)
	return nil
}

func (c *countChat) TimeZone(context.Context, string) (*time.Location, error) { return time.UTC, nil }
func (c *countChat) GroupMembers(context.Context, string) ([]string, error)   { return nil, nil }

// WatcherOwn measures cycles steady watcher cycles of the command core in
// this process against pre-rendered pages (see OwnResult).
func WatcherOwn(notebooks, channels, cycles int) (*OwnResult, error) {
	o := WorldOptions{Notebooks: notebooks, Channels: channels}
	sim, ids, names := newSim(o)
	const endpoint = "http://127.0.0.1:9" // never dialled: the transport answers
	cfg, err := config.Parse(configText(endpoint, sim.ProjectID(), o, ids, names), "bench.yml")
	if err != nil {
		return nil, err
	}
	pages := &pageCache{sim: sim, pages: map[string][]byte{}}
	client, err := lease.New(lease.Config{Endpoint: endpoint, ProjectID: sim.ProjectID(),
		Auth: &lease.AKSK{AK: AK, SK: SK}, HTTPClient: &http.Client{Transport: pages}})
	if err != nil {
		return nil, err
	}
	chat := &countChat{}
	dir, err := os.MkdirTemp("", "leasebench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "leasebot.db")})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	core := bot.New(bot.Options{Config: cfg, Leases: client, Chat: chat, Store: db,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	ctx := context.Background()
	if err := core.Poll(ctx); err != nil { // posts the warnings, renders the pages
		return nil, err
	}
	if chat.posts.Load() == 0 {
		return nil, errors.New("no warning posted: the fixture is wrong")
	}
	res := &OwnResult{Notebooks: notebooks, Channels: channels, Cycles: cycles}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	req0, cpu0, t0 := pages.n.Load(), SelfCPU(), time.Now()
	for range cycles {
		if err := core.Poll(ctx); err != nil {
			return nil, err
		}
	}
	res.Wall = time.Since(t0) / time.Duration(cycles)
	res.CPU = (SelfCPU() - cpu0) / time.Duration(cycles)
	runtime.ReadMemStats(&m1)
	res.RequestsPerCycle = float64(pages.n.Load()-req0) / float64(cycles)
	res.Allocs = (m1.Mallocs - m0.Mallocs) / uint64(cycles)
	res.Bytes = (m1.TotalAlloc - m0.TotalAlloc) / uint64(cycles)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	res.HeapMB = float64(m1.HeapInuse) / (1 << 20)
	breakdown(res, pages, core, cfg, cycles)
	if want := float64((notebooks + 49) / 50); res.RequestsPerCycle != want {
		return res, fmt.Errorf("%.1f list requests per cycle, want ⌈%d/50⌉ = %.0f", res.RequestsPerCycle, notebooks, want)
	}
	runtime.KeepAlive(sim)
	return res, nil
}

// breakdown times the parts of a cycle on their own (see OwnResult).
func breakdown(res *OwnResult, pages *pageCache, core *bot.Bot, cfg *config.Config, cycles int) {
	var bodies [][]byte
	for _, b := range pages.pages {
		bodies = append(bodies, b)
		res.PageBytes += len(b)
	}
	var all []lease.Notebook
	t0 := time.Now()
	for k := range cycles {
		for _, b := range bodies {
			var page struct {
				Data  []lease.Notebook `json:"data"`
				Total int              `json:"total"`
			}
			_ = json.Unmarshal(b, &page)
			if k == 0 {
				all = append(all, page.Data...)
			}
		}
	}
	res.Decode = time.Since(t0) / time.Duration(cycles)
	type slim struct {
		ID     string      `json:"id"`
		Name   string      `json:"name"`
		Status string      `json:"status"`
		Lease  lease.Lease `json:"lease"`
		Tags   []lease.Tag `json:"tags"`
	}
	t0 = time.Now()
	for range cycles {
		for _, b := range bodies {
			var page struct {
				Data  []slim `json:"data"`
				Total int    `json:"total"`
			}
			_ = json.Unmarshal(b, &page)
		}
	}
	res.DecodeSlim = time.Since(t0) / time.Duration(cycles)
	var horizon time.Duration
	for _, ch := range cfg.Channels {
		if ch.Warn && len(ch.WarnBefore) > 0 {
			horizon = max(horizon, ch.WarnBefore[0]) // sorted descending
		}
	}
	now := time.Now()
	var near []lease.Notebook
	for _, nb := range all {
		if left := nb.StopTime().Sub(now); left > 0 && left <= horizon {
			near = append(near, nb)
		}
	}
	res.Near = len(near)
	index := access.New(cfg, nil, 0).Index()
	match := func(nbs []lease.Notebook) time.Duration {
		var dst []string
		t0 := time.Now()
		for range cycles {
			for _, nb := range nbs {
				dst = index.Channels(dst[:0], nb)
			}
		}
		return time.Since(t0) / time.Duration(cycles)
	}
	res.Match, res.MatchNear = match(all), match(near)
}
