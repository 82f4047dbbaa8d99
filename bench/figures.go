package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/lease/simulator"
)

const (
	ackWait   = 3 * time.Second // Slack's ack deadline
	replyWait = 30 * time.Second
	warmUp    = 10 // unrecorded commands before a measurement
)

// stopAll stops processes and joins their errors.
func stopAll(ps ...*Proc) error {
	var errs []error
	for _, p := range ps {
		if p != nil {
			if err := p.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.cmd.Path, err))
			}
		}
	}
	return errors.Join(errs...)
}

// checkOnce checks that every envelope was acked exactly once and answered
// exactly once, and that the fake saw no protocol violation.
func checkOnce(s *slackfake.Server, envs []*slackfake.Envelope, answered bool) error {
	var errs []error
	if v := s.Violations(); len(v) > 0 {
		errs = append(errs, fmt.Errorf("%d Socket Mode violations, first: %s", len(v), v[0]))
	}
	replies := map[string]int{}
	for _, r := range s.Responses() {
		replies[r.EnvelopeID]++
	}
	for _, e := range envs {
		if n := s.Acks(e.ID); n != 1 {
			errs = append(errs, fmt.Errorf("%s acked %d times", e.ID, n))
		}
		if n := replies[e.ID]; answered && n != 1 {
			errs = append(errs, fmt.Errorf("%s answered %d times", e.ID, n))
		}
		if len(errs) > 5 {
			break
		}
	}
	return errors.Join(errs...)
}

// own is the end-to-end time of one command minus the time its notebook's
// requests, between sent and at, spent inside the simulator handler.
func (w *World) own(id string, sent, at time.Time) (own, fake time.Duration, spans []Span) {
	for _, s := range w.Timer.Spans(id) {
		if !s.Start.Before(sent) && !s.End.After(at) {
			spans = append(spans, s)
			fake += s.End.Sub(s.Start)
		}
	}
	return at.Sub(sent) - fake, fake, spans
}

// ---- 1. Ack latency against the floor --------------------------------------

// AckResult is figure 1: ack latency of leasebot and of the floor clients,
// measured in turn on an idle machine, and leasebot's idle reply latency.
type AckResult struct {
	N        int
	Leasebot Dist   // ack latency
	Floor    Dist   // ack latency of the bare floor
	Variants []Dist // ack latency of each diagnostic floor variant
	Reply    Dist   // leasebot: envelope sent → reply received
	Own      Dist   // that minus the simulator's time
}

// settle is the pause after each command, so that the tail of one client's
// work (reading the response_url answer) never overlaps the next ack.
const settle = time.Millisecond

// AckLatency sends n `extend` commands to each of leasebot, the floor (bare
// slack-go, bench/floor) and bench/floor started with each of variants (e.g.
// {"-adapter"}), one at a time, rotating which goes first, each client on its
// own fake Slack. Every reply a client sends is awaited and followed by a
// 1 ms pause before the next envelope, so every ack is measured with nothing
// in flight.
func AckLatency(ctx context.Context, bins *Binaries, dir string, n int, variants ...[]string) (*AckResult, error) {
	w, err := NewWorld(dir, WorldOptions{Notebooks: n + warmUp})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	lb, err := w.StartLeasebot(dir, bins.Leasebot)
	if err != nil {
		return nil, err
	}
	procs := []*Proc{lb}
	fail := func(err error) (*AckResult, error) {
		return nil, errors.Join(err, stopAll(procs...))
	}
	type client struct {
		s       *slackfake.Server
		replies bool
		acks    *Dist
		envs    []*slackfake.Envelope
	}
	res := &AckResult{N: n, Variants: make([]Dist, len(variants))}
	clients := []*client{{s: w.Slack, replies: true, acks: &res.Leasebot}}
	for k, args := range append([][]string{nil}, variants...) {
		c := &client{s: slackfake.New(slackfake.Options{AppToken: AppToken, BotToken: BotToken}), acks: &res.Floor}
		if k > 0 {
			c.acks = &res.Variants[k-1]
			c.replies = slices.Contains(args, "-adapter")
		}
		defer c.s.Close()
		clients = append(clients, c)
		p, err := Start(dir, bins.Floor, SlackEnv(c.s), args...)
		if err != nil {
			return fail(err)
		}
		procs = append(procs, p)
		if !c.s.WaitConnected(1, 15*time.Second) {
			return fail(fmt.Errorf("floor %v never connected: %s", args, p.Stderr()))
		}
	}
	step := func(k, i int) error {
		c := clients[k]
		env := c.s.SlashCommand(User, Channel, Extend(w.IDs[i]))
		c.envs = append(c.envs, env)
		ack, ok := env.WaitAck(ackWait)
		if !ok {
			return fmt.Errorf("client %d: command %d not acked within %v", k, i, ackWait)
		}
		var resp slackfake.Response
		if c.replies {
			if resp, ok = c.s.WaitResponse(env, replyWait); !ok {
				return fmt.Errorf("client %d: command %d not answered within %v", k, i, replyWait)
			}
		}
		if k == 0 && resp.ResponseType != "in_channel" {
			return fmt.Errorf("leasebot: command %d failed: %s", i, resp.Text)
		}
		time.Sleep(settle)
		if i < warmUp {
			return nil
		}
		*c.acks = append(*c.acks, ack.Latency)
		if k == 0 {
			own, _, _ := w.own(w.IDs[i], env.Sent, resp.At)
			res.Reply = append(res.Reply, resp.At.Sub(env.Sent))
			res.Own = append(res.Own, own)
		}
		return nil
	}
	var runErr error
	for i := 0; i < n+warmUp && runErr == nil; i++ {
		if runErr = ctx.Err(); runErr != nil {
			break
		}
		for j := range clients {
			if runErr = step((i+j)%len(clients), i); runErr != nil {
				break
			}
		}
	}
	for _, c := range clients {
		if runErr == nil {
			runErr = checkOnce(c.s, c.envs, c.replies)
		}
	}
	if err := stopAll(procs...); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return nil, fmt.Errorf("%w\nleasebot stderr:\n%s", runErr, tail(lb.Stderr(), 3000))
	}
	return res, nil
}

// ---- 2. Reply latency, leasebot's own share ---------------------------------

// ReplyResult is figure 2.
type ReplyResult struct {
	N, InFlight int
	Latency     time.Duration // mean simulated ModelArts time per call (see WorldOptions.Latency)
	E2E         Dist          // envelope sent → reply received
	Fake        Dist          // time inside the simulator handler (2 requests)
	Own         Dist          // E2E − Fake: leasebot's own share
	Intake      Dist          // envelope sent → first ModelArts request (read, ack, queue, ACL, sign)
	Between     Dist          // end of the get → start of the renew
	Tail        Dist          // end of the renew → reply received
	Ack         Dist          // ack latency under this load
	Rate        float64       // commands per second
	CPU         time.Duration // bot processes' CPU per command
	Conns       float64       // new TCP connections to ModelArts per command
	FakeCPU     time.Duration // this process's CPU (the fakes and the driver) per command
	Bot         string
	// Store is the store operations per command during the measurement:
	// how many of each and their mean time (leasebot's metrics; empty
	// for a bot without them).
	Store string
}

// Fleet is how the bot under test runs: Replicas processes of Bot (0 means
// one), each with a SQLite store of its own, or all on the PostgreSQL
// database DatabaseURL names.
type Fleet struct {
	Bot         Bot
	Replicas    int
	DatabaseURL string
}

// Name describes the fleet for the table: "leasebot", "leasebot on
// PostgreSQL", "3 leasebot replicas on PostgreSQL".
func (f Fleet) Name() string {
	s := f.Bot.Name
	if f.Replicas > 1 {
		s = fmt.Sprintf("%d %s replicas", f.Replicas, s)
	}
	if f.DatabaseURL != "" {
		s += " on PostgreSQL"
	}
	return s
}

// start runs the fleet on w and waits for all its Socket Mode connections.
func (f Fleet) start(w *World, dir string) ([]*Proc, error) {
	w.DatabaseURL = f.DatabaseURL
	return w.StartBots(dir, f.Bot, max(1, f.Replicas))
}

// cpu is the CPU time all of ps have used.
func cpu(ps []*Proc) time.Duration {
	var d time.Duration
	for _, p := range ps {
		d += p.CPU()
	}
	return d
}

// stderrs is the tail of every process's stderr.
func stderrs(ps []*Proc) string {
	var b strings.Builder
	for i, p := range ps {
		fmt.Fprintf(&b, "--- process %d:\n%s\n", i+1, tail(p.Stderr(), 3000/len(ps)))
	}
	return b.String()
}

// ReplyLatency keeps inflight `extend` commands outstanding (closed loop:
// each answer lets the next command go) until n have been answered, each
// ModelArts call taking latency on average. Each command extends its own
// notebook, so its simulator requests (get, renew) are found by notebook ID
// and their time is subtracted from its end-to-end time. With several
// replicas the fake Slack spreads the commands over their connections.
func ReplyLatency(ctx context.Context, f Fleet, dir string, n, inflight int, latency time.Duration) (*ReplyResult, error) {
	w, err := NewWorld(dir, WorldOptions{Notebooks: n + inflight, Latency: latency})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	procs, err := f.start(w, dir)
	if err != nil {
		return nil, err
	}
	res := &ReplyResult{N: n, InFlight: inflight, Latency: latency, Bot: f.Name()}
	type sample struct {
		env  *slackfake.Envelope
		ack  time.Duration
		resp slackfake.Response
		id   string
	}
	samples := make([]sample, n+inflight)
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	drive := func(from, to int64) time.Duration {
		next.Store(from)
		start := time.Now()
		var wg sync.WaitGroup
		for range inflight {
			wg.Go(func() {
				for ctx.Err() == nil {
					i := next.Add(1) - 1
					if i >= to {
						return
					}
					id := w.IDs[i]
					env := w.Slack.SlashCommand(User, Channel, Extend(id))
					ack, ok := env.WaitAck(ackWait)
					resp, answered := w.Slack.WaitResponse(env, replyWait)
					samples[i] = sample{env, ack.Latency, resp, id}
					if !ok || !answered || resp.ResponseType != "in_channel" {
						mu.Lock()
						errs = append(errs, fmt.Errorf("command %d: acked %v, answered %v: %s", i, ok, answered, resp.Text))
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	drive(0, int64(inflight)) // warm-up: connections to the simulator and Slack
	var st0 map[string]OpStat
	if f.Bot.Admin {
		if st0, err = StoreTimesOf(procs); err != nil {
			return nil, errors.Join(err, stopAll(procs...))
		}
	}
	cpu0, conns0, self0 := cpu(procs), w.SimConnections(), SelfCPU()
	took := drive(int64(inflight), int64(n+inflight))
	res.CPU = (cpu(procs) - cpu0) / time.Duration(n)
	if f.Bot.Admin {
		time.Sleep(100 * time.Millisecond) // the background work after each reply (the home view check)
		st, err := StoreTimesOf(procs)
		if err != nil {
			return nil, errors.Join(err, stopAll(procs...))
		}
		res.Store = StoreSummary(st, st0, n)
	}
	res.FakeCPU = (SelfCPU() - self0) / time.Duration(n)
	res.Conns = float64(w.SimConnections()-conns0) / float64(n)
	res.Rate = float64(n) / took.Seconds()
	var envs []*slackfake.Envelope
	for _, s := range samples[inflight:] {
		if s.env == nil {
			continue
		}
		envs = append(envs, s.env)
		own, fake, spans := w.own(s.id, s.env.Sent, s.resp.At)
		res.E2E = append(res.E2E, s.resp.At.Sub(s.env.Sent))
		res.Fake = append(res.Fake, fake)
		res.Own = append(res.Own, own)
		res.Ack = append(res.Ack, s.ack)
		if len(spans) == 2 {
			res.Intake = append(res.Intake, spans[0].Start.Sub(s.env.Sent))
			res.Between = append(res.Between, spans[1].Start.Sub(spans[0].End))
			res.Tail = append(res.Tail, s.resp.At.Sub(spans[1].End))
		} else {
			errs = append(errs, fmt.Errorf("notebook %s: %d ModelArts requests, want get and renew", s.id, len(spans)))
		}
	}
	errs = append(errs, ctx.Err(), checkOnce(w.Slack, envs, true), stopAll(procs...))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w\nleasebot stderr:\n%s", err, stderrs(procs))
	}
	return res, nil
}

// ---- 3. Burst ----------------------------------------------------------------

// BurstResult is figure 3, and with several replicas figure 8.
type BurstResult struct {
	Fleet       string
	N           int
	Over        time.Duration // the commands are sent evenly over this time
	Latency     time.Duration // mean simulated ModelArts time per call
	SendSpan    time.Duration // first to last envelope actually written
	Ack, Reply  Dist          // every delivery's ack (redeliveries included); first reply
	Redelivered int           // envelopes sent a second time, on another connection
	AckedIn3s   int           // commands whose every delivery was acked once, within Slack's deadline
	Answered    int           // exactly one reply
	Extended    int           // answered with the in-channel success message
	Renewed     int           // renew requests the simulator served
	Once        int           // commands whose notebook got exactly one renew
	PerConn     []int         // deliveries per Socket Mode connection, by Conn.ID
	Problems    []string
}

// Burst sends n `extend` commands evenly over `over`, each for its own
// notebook, to the fleet, and redelivers a fraction of them (0 ≤ redeliver
// ≤ 1, every ⌈1/redeliver⌉-th command) on another connection, as Slack
// does when an ack is late, 0 to 1½ mean ModelArts times after the first
// delivery. It checks that every delivery is acked
// exactly once within 3 s, that every command is answered exactly once
// (response_url posts per envelope) and carried out exactly once (renew
// requests per notebook in the simulator's log), with no Socket Mode
// violation.
func Burst(ctx context.Context, f Fleet, dir string, n int, over, latency time.Duration, redeliver float64) (*BurstResult, error) {
	w, err := NewWorld(dir, WorldOptions{Notebooks: n, Latency: latency})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	procs, err := f.start(w, dir)
	if err != nil {
		return nil, err
	}
	res := &BurstResult{Fleet: f.Name(), N: n, Over: over, Latency: latency}
	every := 0
	if redeliver > 0 {
		every = int(1/redeliver + 0.999999)
	}
	envs := make([]*slackfake.Envelope, n)
	again := make([]*slackfake.Envelope, n)
	resps := make([]slackfake.Response, n)
	answered := make([]bool, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if waitCtx(ctx, time.Until(start.Add(over*time.Duration(i)/time.Duration(n)))) != nil {
			break
		}
		envs[i] = w.Slack.SlashCommand(User, Channel, Extend(w.IDs[i]))
		wg.Go(func() {
			if every > 0 && i%every == every/2 {
				// The second delivery races the first: at once, or while
				// the first replica is inside ModelArts (0, ½, 1 or 1½
				// times the mean ModelArts time after it).
				time.Sleep(time.Duration(i/every%4) * latency / 2)
				again[i] = w.Slack.Redeliver(envs[i])
			}
			envs[i].WaitAck(ackWait + time.Second)
			if again[i] != nil {
				again[i].WaitAck(ackWait + time.Second)
			}
			resps[i], answered[i] = w.Slack.WaitResponse(envs[i], replyWait)
		})
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // room for a late duplicate
	if envs[0] != nil && envs[n-1] != nil {
		res.SendSpan = envs[n-1].Sent.Sub(envs[0].Sent)
	}
	replies := map[string]int{}
	for _, r := range w.Slack.Responses() {
		replies[r.EnvelopeID]++
	}
	renews := map[string]int{}
	for _, r := range w.Sim.Requests() {
		if r.Route == simulator.RouteRenew {
			res.Renewed++
			p := strings.Split(strings.Trim(r.Path, "/"), "/")
			if len(p) > 3 {
				renews[p[3]]++
			}
		}
	}
	problem := func(format string, args ...any) {
		if len(res.Problems) < 10 {
			res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
		}
	}
	for i, e := range envs {
		if e == nil {
			problem("command %d never sent", i)
			continue
		}
		ds := w.Slack.Deliveries(e.ID)
		if again[i] != nil {
			res.Redelivered++
			if len(ds) != 2 || ds[0].Conn == ds[1].Conn {
				problem("command %d: redelivered, but %d deliveries", i, len(ds))
			}
		}
		ok := len(ds) > 0
		for _, d := range ds {
			for _, a := range d.Acks {
				res.Ack = append(res.Ack, a.Latency)
			}
			switch {
			case len(d.Acks) != 1:
				problem("command %d: delivery %d on connection %d acked %d times", i, d.Attempt, d.Conn, len(d.Acks))
				ok = false
			case d.Acks[0].Latency > ackWait:
				problem("command %d: delivery %d acked after %v", i, d.Attempt, d.Acks[0].Latency)
				ok = false
			}
			for len(res.PerConn) < d.Conn {
				res.PerConn = append(res.PerConn, 0)
			}
			if d.Conn > 0 {
				res.PerConn[d.Conn-1]++
			}
		}
		if ok {
			res.AckedIn3s++
		}
		if answered[i] {
			res.Reply = append(res.Reply, resps[i].At.Sub(e.Sent))
			if resps[i].ResponseType == "in_channel" {
				res.Extended++
			} else {
				problem("command %d: %s", i, resps[i].Text)
			}
		}
		if replies[e.ID] == 1 {
			res.Answered++
		} else {
			problem("command %d answered %d times", i, replies[e.ID])
		}
		if renews[w.IDs[i]] == 1 {
			res.Once++
		} else {
			problem("command %d carried out %d times (renews of its notebook)", i, renews[w.IDs[i]])
		}
	}
	for _, v := range w.Slack.Violations() {
		problem("violation: %s", v)
	}
	if res.Renewed != n {
		problem("the simulator served %d renews for %d commands", res.Renewed, n)
	}
	if err := errors.Join(ctx.Err(), stopAll(procs...)); err != nil {
		return nil, err
	}
	if len(res.Problems) > 0 {
		return res, fmt.Errorf("burst: %s\nleasebot stderr:\n%s", strings.Join(res.Problems, "; "), stderrs(procs))
	}
	return res, nil
}

// ---- 5. Start-up and size -------------------------------------------------------

// StartupResult is figure 5: process start → hello on the Socket Mode
// connection, for leasebot and the floor, and the binaries' sizes.
type StartupResult struct {
	Runs                    int
	Leasebot, Floor         Dist
	LeasebotSize, FloorSize int64
}

// Startup starts leasebot and the floor runs times each, alternately, and
// times process start (just before fork/exec) to the fake's hello being
// written on the new socket.
func Startup(ctx context.Context, bins *Binaries, dir string, runs int) (*StartupResult, error) {
	w, err := NewWorld(dir, WorldOptions{Notebooks: 10})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	fl := slackfake.New(slackfake.Options{AppToken: AppToken, BotToken: BotToken})
	defer fl.Close()
	res := &StartupResult{Runs: runs, LeasebotSize: bins.LeasebotSize, FloorSize: bins.FloorSize}
	once := func(s *slackfake.Server, bin string, env []string, args ...string) (time.Duration, error) {
		n := s.Connections()
		p, err := Start(dir, bin, env, args...)
		if err != nil {
			return 0, err
		}
		ok := s.WaitConnected(n+1, 15*time.Second)
		took := time.Since(p.Started)
		err = p.Stop()
		if !ok {
			return 0, fmt.Errorf("%s never connected: %s", bin, tail(p.Stderr(), 2000))
		}
		return took, err
	}
	for i := range runs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lbFirst := i%2 == 0
		for k := range 2 {
			if (k == 0) == lbFirst {
				config, _, err := w.ConfigFile() // a fresh store each time
				if err != nil {
					return nil, err
				}
				d, err := once(w.Slack, bins.Leasebot, w.Env(), "run", "-config", config)
				if err != nil {
					return nil, err
				}
				res.Leasebot = append(res.Leasebot, d)
			} else {
				d, err := once(fl, bins.Floor, SlackEnv(fl))
				if err != nil {
					return nil, err
				}
				res.Floor = append(res.Floor, d)
			}
		}
	}
	return res, nil
}

// DefaultLatency is the mean time the simulated ModelArts takes per call in
// figures 2 and 3 (each call uniform in 10–30 ms); figure 2 subtracts it
// again. The real service is slower, which would only lower the command rate
// that 50 commands in flight produce.
const DefaultLatency = 20 * time.Millisecond
