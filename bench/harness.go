// Package bench measures leasebot against its floors: ack latency
// against a bare slack-go Socket Mode client, reply latency with the fakes'
// own time taken out, a burst of slash commands, the watcher cycle at 10 000
// notebooks, start-up time and binary size; and, since leasebot keeps its
// state in a store, the same reply latency on SQLite and PostgreSQL,
// /notebook history on a million entries, the store operations of a
// watcher cycle, and several replicas on one PostgreSQL database carrying
// out every command exactly once.
//
// Everything runs through the real binary (built here, as released with
// CGO_ENABLED=0 -trimpath -ldflags "-s -w" for full runs) as a subprocess,
// configured the way an operator would (run -config FILE and the documented
// environment variables), against bot/slackchat/slackfake and lease/simulator served
// from this process. The floor is the program in bench/floor, built the
// same way; bench/variant is leasebot's wiring with knobs, for what-ifs.
// Only WatcherOwn runs the command core in this process, on purpose: it
// replays pre-rendered pages to time the bot without HTTP or the simulator.
//
// The benchmarks in bench_test.go run each figure once (small under -short,
// where they check correctness only); `go run ./bench/cmd/leasebench` runs
// them all side by side and prints the table kept in README.md.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// Secrets and IDs of the bench workspace.
const (
	AppToken = "xapp-1-A0FAKE-1-benchappsecret"
	BotToken = "xoxb-1-benchbotsecret"
	AK       = "AKBENCH000000000000"
	SK       = "skbenchskbenchskbenchskbench"
	Channel  = "C0BENCH"
	User     = "U0ALICE"
)

// Binaries are the release builds of leasebot and of the floor client.
type Binaries struct {
	Dir, Leasebot, Floor, Variant string
	LeasebotSize, FloorSize       int64 // bytes
}

// ReleaseFlags are the release build flags (with CGO_ENABLED=0).
var ReleaseFlags = []string{"-trimpath", "-ldflags", "-s -w"}

// ModuleRoot is the directory holding leasebot's go.mod: the module this
// process was started in (go env GOMOD), or the nearest directory above it
// whose go.mod is leasebot's, since bench is a module of its own.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the leasebot module or its bench module")
	}
	for dir := filepath.Dir(mod); ; {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(b) == "github.com/leasebot/leasebot" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/leasebot/leasebot at or above %s", filepath.Dir(mod))
		}
		dir = parent
	}
}

// modulePath is the module path a go.mod declares.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// Build builds leasebot (the module root), bench/floor and bench/variant
// into dir: with release, as released (CGO_ENABLED=0 go build -trimpath
// -ldflags "-s -w"); without, with plain go build, which reuses what go test
// already compiled (the short mode). env is added to the build's environment
// (e.g. GOEXPERIMENT=jsonv2).
func Build(dir string, release bool, env ...string) (*Binaries, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	b := &Binaries{Dir: dir, Leasebot: filepath.Join(dir, "leasebot"), Floor: filepath.Join(dir, "floor"), Variant: filepath.Join(dir, "variant")}
	// leasebot from its module; the floor and the variant from the bench
	// module, which replaces leasebot with this checkout.
	for _, t := range []struct{ out, dir, pkg string }{
		{b.Leasebot, root, "."}, {b.Floor, filepath.Join(root, "bench"), "./floor"}, {b.Variant, filepath.Join(root, "bench"), "./variant"},
	} {
		args := []string{"build"}
		if release {
			args = append(args, ReleaseFlags...)
		}
		cmd := exec.Command("go", append(args, "-o", t.out, t.pkg)...)
		cmd.Dir = t.dir
		cmd.Env = append(os.Environ(), env...)
		if release {
			cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", t.pkg, err, out)
		}
	}
	for _, f := range []struct {
		path string
		size *int64
	}{{b.Leasebot, &b.LeasebotSize}, {b.Floor, &b.FloorSize}} {
		st, err := os.Stat(f.path)
		if err != nil {
			return nil, err
		}
		*f.size = st.Size()
	}
	return b, nil
}

// Proc is a running leasebot or floor process.
type Proc struct {
	admin   bool   // started with -listen 127.0.0.1:0
	addr    string // the admin listener's address, once read from the log
	cmd     *exec.Cmd
	Started time.Time // just before fork/exec
	stderr  string    // path of the captured stderr
	done    chan struct{}
	err     error
}

// Start runs bin with args and env (added to a minimal environment), its
// stderr written to a file in dir.
func Start(dir, bin string, env []string, args ...string) (*Proc, error) {
	f, err := os.CreateTemp(dir, filepath.Base(bin)+"-*.log")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	p := &Proc{cmd: cmd, stderr: f.Name(), done: make(chan struct{})}
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Stop sends SIGTERM and waits (15s at most, then kills); it returns the
// process's error, nil on exit 0.
func (p *Proc) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("did not stop within 15s of SIGTERM")
	}
	return p.err
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stderr is what the process wrote so far.
func (p *Proc) Stderr() string {
	b, _ := os.ReadFile(p.stderr)
	return string(b)
}

// CPU is the CPU time the process has used so far (all threads, from
// /proc/PID/task/*/schedstat, nanosecond resolution).
func (p *Proc) CPU() time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", p.cmd.Process.Pid))
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			total += n
		}
	}
	return time.Duration(total)
}

// SelfCPU is the CPU time this process has used (user and system).
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Memory returns the process's resident set size now and at its peak, in MB.
func (p *Proc) Memory() (rss, peak float64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// Span is one request served by the simulator, timed around its handler.
type Span struct {
	Route      string
	Start, End time.Time
}

// SimTimer wraps the simulator: it delays every request about one notebook
// by a random latency, standing in for ModelArts' own time, and times each
// such request (delay and handler) per notebook ID, so the fake's share can
// be taken out of an end-to-end time.
type SimTimer struct {
	h       http.Handler
	latency time.Duration // mean; each delay is uniform in [latency/2, 3·latency/2]
	mu      sync.Mutex
	spans   map[string][]Span
}

func (t *SimTimer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// /v1/{project}/notebooks/{id}[/lease]
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(p) < 4 || p[2] != "notebooks" || p[3] == "all" {
		t.h.ServeHTTP(w, r)
		return
	}
	if t.latency > 0 {
		time.Sleep(t.latency/2 + rand.N(t.latency))
	}
	t.h.ServeHTTP(w, r)
	end := time.Now()
	route := strings.ToLower(r.Method)
	if len(p) > 4 {
		route += " " + p[4]
	}
	t.mu.Lock()
	t.spans[p[3]] = append(t.spans[p[3]], Span{route, start, end})
	t.mu.Unlock()
}

// Spans returns the requests about notebook id, in arrival order.
func (t *SimTimer) Spans(id string) []Span {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := slices.Clone(t.spans[id])
	slices.SortFunc(s, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return s
}

// World is a fake Slack, a ModelArts simulator and the leasebot config for
// them. Every leasebot process gets a config file of its own (ConfigFile),
// naming a fresh SQLite store, unless DatabaseURL puts them on PostgreSQL.
type World struct {
	Slack *slackfake.Server
	Sim   *simulator.Server
	Timer *SimTimer
	IDs   []string // notebook IDs, in creation order
	Names []string // their names
	// DatabaseURL, when set, is given to leasebot as LEASEBOT_DATABASE_URL,
	// which puts its store on PostgreSQL instead of the config's SQLite file.
	DatabaseURL string
	// SQLite, when set, is the store file of the next leasebot started (a
	// store seeded beforehand); it is used once, then fresh files again.
	SQLite string
	body   []byte // the config without its store section
	dir    string
	files  atomic.Int64
	srv    *httptest.Server
	conns  atomic.Int64
}

// SimConnections counts the TCP connections the simulator has accepted.
func (w *World) SimConnections() int64 { return w.conns.Load() }

// WorldOptions shape a World.
type WorldOptions struct {
	Notebooks int
	// Channels > 0 builds the watcher world of bot/bench_test.go: notebooks
	// named team-TTT-nb-NNNNN, tagged team=T, stop times spread over 72h, and
	// that many channels with globs, tags, names and IDs. Otherwise one
	// channel (Channel, user User, notebooks "*") and notebooks stopping
	// Left from now.
	Channels int
	Left     time.Duration // default 2h
	// Latency is the mean delay added to every request about one notebook
	// (uniform in [½, 1½]×Latency), standing in for ModelArts' own time, so
	// that concurrent commands do not march in lock-step.
	Latency      time.Duration
	PollInterval time.Duration // default 1h
	// Extra is YAML added to the channels section (channels of its own,
	// indented by two spaces).
	Extra string
}

// NewWorld builds a world; its config file goes into dir.
func NewWorld(dir string, o WorldOptions) (*World, error) {
	w := &World{Slack: slackfake.New(slackfake.Options{AppToken: AppToken, BotToken: BotToken})}
	w.Slack.AddUser(User, "alice", "Europe/Berlin")
	w.Sim, w.IDs, w.Names = newSim(o)
	w.Timer = &SimTimer{h: w.Sim, latency: o.Latency, spans: map[string][]Span{}}
	w.srv = httptest.NewUnstartedServer(w.Timer)
	w.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			w.conns.Add(1)
		}
	}
	w.srv.Start()
	w.body, w.dir = configText(w.srv.URL, w.Sim.ProjectID(), o, w.IDs, w.Names), dir
	return w, nil
}

// ConfigFile writes a config file for one leasebot process: the world's
// config and a store section naming a SQLite file of its own in the
// world's directory (or w.SQLite, once), since a SQLite store serves one
// process. It returns the config's path and the store's.
func (w *World) ConfigFile() (config, db string, err error) {
	n := w.files.Add(1)
	prefix := filepath.Join(w.dir, fmt.Sprintf("leasebot-%d-%d", time.Now().UnixNano(), n))
	db = prefix + ".db"
	if w.SQLite != "" {
		db, w.SQLite = w.SQLite, ""
	}
	config = prefix + ".yml"
	text := fmt.Appendf(slices.Clone(w.body), "store:\n  path: %s\n", db)
	if err := os.WriteFile(config, text, 0o600); err != nil {
		return "", "", fmt.Errorf("write a leasebot config: %w", err)
	}
	return config, db, nil
}

// newSim returns a simulator holding o.Notebooks running notebooks, with
// their IDs and names.
func newSim(o WorldOptions) (sim *simulator.Server, ids, names []string) {
	sim = simulator.New(simulator.Options{AK: AK, SK: SK})
	left := cmp.Or(o.Left, 2*time.Hour)
	now := time.Now()
	for i := range o.Notebooks {
		nb := lease.Notebook{Name: fmt.Sprintf("bench-nb-%05d", i), Status: lease.StatusRunning}
		created := now.Add(-time.Hour).UnixMilli()
		left := left
		if o.Channels > 0 {
			team := i % 100
			nb.Name = fmt.Sprintf("team-%03d-nb-%05d", team, i)
			nb.Tags = []lease.Tag{{Key: "team", Value: strconv.Itoa(team)}}
			left = time.Duration(i%4320)*time.Minute + time.Minute // spread over 72h
		}
		nb.Lease = lease.Lease{CreateAt: created, Duration: now.Add(left).UnixMilli() - created, Enable: true, Type: "TIMING"}
		ids = append(ids, sim.Add(nb).ID)
		names = append(names, nb.Name)
	}
	return sim, ids, names
}

// configText is the leasebot config for a world.
func configText(endpoint, projectID string, o WorldOptions, ids, names []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "modelarts:\n  endpoint: %s\n  project_id: %s\ndefaults:\n  max_extend: 8h\n  warn_before: [30m, 10m]\n  poll_interval: %s\nchannels:\n",
		endpoint, projectID, cmp.Or(o.PollInterval, time.Hour))
	if o.Channels == 0 {
		fmt.Fprintf(&b, "  %s:\n    users: [%s]\n    notebooks: [\"*\"]\n", Channel, User)
	}
	b.WriteString(o.Extra)
	for c := range o.Channels { // the mix of bot/bench_test.go's bigWorld
		fmt.Fprintf(&b, "  C%05d:\n    users: [%s]\n", c, User)
		switch {
		case c < 2:
			b.WriteString("    notebooks: [\"*\"]\n    warn: false\n")
		case c < 60:
			fmt.Fprintf(&b, "    notebooks: [\"team-%03d-*\"]\n", c%100)
		case c < 160:
			fmt.Fprintf(&b, "    notebooks: [\"tag:team=%d\"]\n", c%100)
		default:
			fmt.Fprintf(&b, "    notebooks: [%q, %q]\n", ids[c*7%len(ids)], names[c*13%len(names)])
		}
	}
	return []byte(b.String())
}

// Env is the environment leasebot and the floor read (see the README).
func (w *World) Env() []string {
	env := []string{"MODELARTS_AK=" + AK, "MODELARTS_SK=" + SK}
	if w.DatabaseURL != "" {
		env = append(env, "LEASEBOT_DATABASE_URL="+w.DatabaseURL)
	}
	return SlackEnv(w.Slack, append(env, ExtraEnv...)...)
}

// ExtraEnv is added to leasebot's environment (diagnostics: GOGC=off,
// GODEBUG=gctrace=1, LEASEBOT_LOG_LEVEL=warn, ...).
var ExtraEnv []string

// SlackEnv is the Slack part of the environment for a fake.
func SlackEnv(s *slackfake.Server, more ...string) []string {
	return append([]string{"SLACK_APP_TOKEN=" + AppToken, "SLACK_BOT_TOKEN=" + BotToken, "SLACK_API_URL=" + s.APIURL()}, more...)
}

// Bot is a bot under test: leasebot itself or a what-if variant.
type Bot struct {
	Name string
	Bin  string
	Args []string // before -config FILE
	// Admin: the bot takes -listen and serves /metrics there (leasebot run
	// does; bench/variant does not).
	Admin bool
}

// LeasebotBot is `leasebot run -config FILE`.
func (b *Binaries) LeasebotBot() Bot { return Bot{"leasebot", b.Leasebot, []string{"run"}, true} }

// VariantBot is bench/variant with the given pool size and idle connections.
func (b *Binaries) VariantBot(workers, idleConns int) Bot {
	return Bot{fmt.Sprintf("variant -workers %d -idle-conns %d", workers, idleConns), b.Variant,
		[]string{"-workers", strconv.Itoa(workers), "-idle-conns", strconv.Itoa(idleConns)}, false}
}

// StartLeasebot runs leasebot on the world and waits for its Socket Mode
// connection.
func (w *World) StartLeasebot(dir, bin string) (*Proc, error) {
	return w.StartBot(dir, Bot{"leasebot", bin, []string{"run"}, true})
}

// StartBot runs bot on the world and waits for its Socket Mode connection.
// A bot with an admin listener gets -listen 127.0.0.1:0; Proc.Metrics reads it.
func (w *World) StartBot(dir string, bot Bot) (*Proc, error) {
	ps, err := w.StartBots(dir, bot, 1)
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// StartBots runs n processes of bot on the world (replicas: they share a
// store only through DatabaseURL) and waits until n more Socket Mode
// connections are live.
func (w *World) StartBots(dir string, bot Bot, n int) ([]*Proc, error) {
	live := w.Slack.LiveConnections()
	var ps []*Proc
	for range n {
		config, _, err := w.ConfigFile()
		if err != nil {
			return nil, errors.Join(err, stopAll(ps...))
		}
		args := slices.Clone(bot.Args)
		if bot.Admin {
			args = append(args, "-listen", "127.0.0.1:0")
		}
		p, err := Start(dir, bot.Bin, w.Env(), append(args, "-config", config)...)
		if err != nil {
			return nil, errors.Join(err, stopAll(ps...))
		}
		p.admin = bot.Admin
		ps = append(ps, p)
	}
	if !w.Slack.WaitLive(live+n, 20*time.Second) {
		var logs []string
		for _, p := range ps {
			logs = append(logs, tail(p.Stderr(), 2000))
		}
		return nil, errors.Join(fmt.Errorf("%d of %d %s processes connected to the fake Slack within 20s; stderr:\n%s",
			w.Slack.LiveConnections()-live, n, bot.Name, strings.Join(logs, "\n---\n")), stopAll(ps...))
	}
	return ps, nil
}

// Close stops the fakes.
func (w *World) Close() {
	w.Slack.Close()
	w.srv.Close()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Extend is the command text extending notebook id by an hour.
func Extend(id string) string { return "extend " + id + " 1h" }

// waitCtx sleeps d or until ctx ends.
func waitCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BuildAt builds leasebot as released from the commit rev of the checkout
// it is in (git archive into dir/src, then go build), for a same-run
// comparison with an earlier leasebot; it returns the binary's path.
func BuildAt(dir, rev string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	src := filepath.Join(dir, "src-"+rev)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	archive := exec.Command("git", "-C", root, "archive", rev)
	extract := exec.Command("tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", err
	}
	extract.Stdin = pipe
	if err := extract.Start(); err != nil {
		return "", fmt.Errorf("tar: %w", err)
	}
	var stderr strings.Builder
	archive.Stderr = &stderr
	if err := archive.Run(); err != nil {
		_ = extract.Wait()
		return "", fmt.Errorf("git archive %s: %w\n%s", rev, err, stderr.String())
	}
	if err := extract.Wait(); err != nil {
		return "", fmt.Errorf("tar: %w", err)
	}
	bin := filepath.Join(dir, "leasebot-"+rev)
	cmd := exec.Command("go", append(append([]string{"build"}, ReleaseFlags...), "-o", bin, ".")...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build at %s: %w\n%s", rev, err, out)
	}
	return bin, nil
}
