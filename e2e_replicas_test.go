package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store/storetest"
)

// The tests in this file run several real leasebot processes (the binary,
// built once) on one PostgreSQL schema, each with its own Socket Mode
// connection to one fake Slack, against one ModelArts simulator.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// leasebotBinary builds the leasebot binary once per test run.
func leasebotBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "leasebot-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "leasebot")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cluster is several leasebot processes sharing a database.
type cluster struct {
	t        *testing.T
	slack    *slackfake.Server
	sim      *simulator.Server
	config   string
	env      []string
	proxy    *storetest.Proxy
	replicas []*replica
}

type replica struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	admin  string
	done   chan struct{}
}

func newCluster(t *testing.T, defaults string) *cluster {
	t.Helper()
	bin := leasebotBinary(t)
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := storetest.NewProxy(t, u.Host)
	u.Host = proxy.Addr()

	sl := slackfake.New(slackfake.Options{AppToken: testAppToken, BotToken: testBotToken})
	t.Cleanup(sl.Close)
	sl.AddUser(alice, "alice", "Europe/Berlin")
	sl.AddUser(carol, "carol", "Asia/Kolkata")
	sl.SetGroup("S0DATASCI", carol)
	sim := simulator.New(simulator.Options{AK: testAK, SK: testSK})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := fmt.Sprintf(`modelarts:
  endpoint: %s
  project_id: %s
defaults:
  max_extend: 24h
%schannels:
  %s:
    users: [%s]
    groups: [S0DATASCI]
    notebooks: ["*"]
    max_keep: 7d
`, srv.URL, sim.ProjectID(), defaults, chML, alice)
	path := filepath.Join(t.TempDir(), "leasebot.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = bin
	return &cluster{t: t, slack: sl, sim: sim, config: path, proxy: proxy, env: []string{
		"SLACK_APP_TOKEN=" + testAppToken, "SLACK_BOT_TOKEN=" + testBotToken, "SLACK_API_URL=" + sl.APIURL(),
		"MODELARTS_AK=" + testAK, "MODELARTS_SK=" + testSK, "LEASEBOT_DATABASE_URL=" + u.String(),
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
	}}
}

// start starts one more replica and waits until its socket is up.
func (c *cluster) start() *replica {
	c.t.Helper()
	live := c.slack.LiveConnections()
	r := &replica{stderr: &syncBuffer{}, admin: freeAddr(c.t), done: make(chan struct{})}
	r.cmd = exec.Command(leasebotBinary(c.t), "run", "-config", c.config, "-listen", r.admin)
	r.cmd.Env = c.env
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	c.replicas = append(c.replicas, r)
	c.t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
		if c.t.Failed() {
			c.t.Logf("replica %s stderr:\n%s", r.admin, r.stderr.String())
		}
		for _, secret := range []string{testAppToken, testBotToken, testSK} {
			if strings.Contains(r.stderr.String(), secret) {
				c.t.Errorf("a secret (%.8s…) reached a replica's log", secret)
			}
		}
	})
	if !c.slack.WaitLive(live+1, 15*time.Second) {
		c.t.Fatalf("replica %d never connected; stderr:\n%s", len(c.replicas), r.stderr.String())
	}
	return r
}

// role is what a replica's /healthz says: "leader" or "follower" ("" when it does not answer).
func (r *replica) role() string {
	_, body := tryGet(r.admin)
	switch {
	case strings.Contains(body, "role: leader"):
		return "leader"
	case strings.Contains(body, "role: follower"):
		return "follower"
	}
	return ""
}

// leader waits until exactly one live replica leads, and returns it.
func (c *cluster) leader(timeout time.Duration) *replica {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var leaders []*replica
		for _, r := range c.replicas {
			select {
			case <-r.done:
				continue
			default:
			}
			if r.role() == "leader" {
				leaders = append(leaders, r)
			}
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		if len(leaders) > 1 {
			c.t.Fatalf("%d replicas lead at once", len(leaders))
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("no replica leads after %v", timeout)
	return nil
}

// command types a slash command and waits for its one answer.
func (c *cluster) command(user, text string) (*slackfake.Envelope, slackfake.Response) {
	c.t.Helper()
	env := c.slack.SlashCommand(user, chML, text)
	if _, ok := env.WaitAck(3 * time.Second); !ok {
		c.t.Fatalf("%q was not acked within 3s", text)
	}
	resp, ok := c.slack.WaitResponse(env, 20*time.Second)
	if !ok {
		c.t.Fatalf("no reply to %q", text)
	}
	return env, resp
}

// answers counts the response_url posts for an envelope.
func (c *cluster) answers(env *slackfake.Envelope) int {
	n := 0
	for _, r := range c.slack.Responses() {
		if r.EnvelopeID == env.ID {
			n++
		}
	}
	return n
}

// renewsOf counts the renew calls the simulator received for a notebook.
func renewsOf(sim *simulator.Server, id string) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Route == simulator.RouteRenew && strings.Contains(r.Path, id) && r.Status/100 == 2 {
			n++
		}
	}
	return n
}

func TestReplicasCarryOutEveryCommandOnce(t *testing.T) {
	c := newCluster(t, "  poll_interval: 1h\n")
	for range 3 {
		c.start()
	}
	c.leader(30 * time.Second)
	var nbs []lease.Notebook
	for i := range 12 {
		nbs = append(nbs, c.sim.AddRunning(fmt.Sprintf("burst-%02d", i), 3*time.Hour))
	}
	before := map[string]time.Time{}
	for _, nb := range nbs {
		before[nb.ID] = stopOf(t, c.sim, nb.ID)
	}
	// A burst spread over the three connections, every fourth redelivered
	// on another connection.
	var envs []*slackfake.Envelope
	for i, nb := range nbs {
		env := c.slack.SlashCommand(alice, chML, "extend "+nb.ID+" 1h")
		envs = append(envs, env)
		if i%4 == 0 {
			if re := c.slack.Redeliver(env); re == nil || re.Conn == env.Conn {
				t.Errorf("the fake did not redeliver on another connection")
			}
		}
	}
	conns := map[int]bool{}
	for _, env := range envs {
		if _, ok := env.WaitAck(3 * time.Second); !ok {
			t.Fatal("an envelope was not acked within 3s")
		}
		if _, ok := c.slack.WaitResponse(env, 20*time.Second); !ok {
			t.Fatal("a command was not answered")
		}
		conns[env.Conn] = true
	}
	time.Sleep(time.Second) // a second answer, if any, would come now
	for i, env := range envs {
		if n := c.answers(env); n != 1 {
			t.Errorf("command %d answered %d times", i, n)
		}
		for _, d := range c.slack.Deliveries(env.ID) {
			if len(d.Acks) != 1 {
				t.Errorf("delivery %d of command %d acked %d times", d.Attempt, i, len(d.Acks))
			}
		}
	}
	if len(conns) < 3 {
		t.Errorf("the burst reached only %d connections", len(conns))
	}
	for _, nb := range nbs {
		if n := renewsOf(c.sim, nb.ID); n != 1 {
			t.Errorf("%s renewed %d times, want once", nb.Name, n)
		}
		if got := stopOf(t, c.sim, nb.ID); !near(got, before[nb.ID].Add(time.Hour), 3*time.Second) {
			t.Errorf("%s stops %v, want +1h from %v", nb.Name, got, before[nb.ID])
		}
	}
	// Concurrent extends of one notebook on different replicas serialize.
	one := c.sim.AddRunning("contended", 3*time.Hour)
	start := stopOf(t, c.sim, one.ID)
	c.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Latency: 500 * time.Millisecond, Times: 1})
	var wg sync.WaitGroup
	for _, by := range []string{"1h", "2h", "4h"} {
		wg.Add(1)
		go func() { defer wg.Done(); c.command(alice, "extend "+one.ID+" "+by) }()
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	if got := stopOf(t, c.sim, one.ID); !near(got, start.Add(7*time.Hour), 3*time.Second) {
		t.Errorf("three concurrent extensions (1h, 2h, 4h) end at %v, want +7h from %v", got, start)
	}
}

func TestReplicasWarnOnceAndClicksExtendOnce(t *testing.T) {
	c := newCluster(t, "  poll_interval: 1s\n  warn_before: [30m, 10m]\n  extend_buttons: [1h, 4h]\n")
	for range 3 {
		c.start()
	}
	c.leader(30 * time.Second)
	var nbs []lease.Notebook
	for i := range 5 {
		nbs = append(nbs, c.sim.AddRunning(fmt.Sprintf("warned-%d", i), 20*time.Minute))
	}
	h := &harness{t: t, slack: c.slack, stderr: &syncBuffer{}}
	var warnings []slackfake.Message
	for _, nb := range nbs {
		warnings = append(warnings, h.warningFor(chML, nb.ID))
	}
	time.Sleep(4 * time.Second) // several cycles of the leader
	for _, nb := range nbs {
		n := 0
		for _, m := range c.slack.Messages() {
			if m.Channel == chML && strings.Contains(m.History[0].Text, nb.ID) && strings.Contains(m.History[0].Text, "will stop") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s warned %d times over several cycles, want once", nb.Name, n)
		}
	}
	// Clicks land on different replicas; each extends once, even clicked twice.
	conns := map[int]bool{}
	for i, m := range warnings {
		b := buttonLabeled(t, m, "Extend 1h")
		e1 := c.slack.Click(alice, m.Channel, m.TS, b.ActionID, b.Value)
		e2 := c.slack.Click(carol, m.Channel, m.TS, b.ActionID, b.Value)
		conns[e1.Conn], conns[e2.Conn] = true, true
		if _, ok := c.slack.WaitMessage(func(x slackfake.Message) bool { return x.TS == m.TS && x.Updated > 0 }, 10*time.Second); !ok {
			t.Errorf("warning %d was not replaced after the clicks", i)
		}
	}
	time.Sleep(time.Second)
	if len(conns) < 2 {
		t.Errorf("the clicks reached %d connection(s)", len(conns))
	}
	for _, nb := range nbs {
		if n := renewsOf(c.sim, nb.ID); n != 1 {
			t.Errorf("%s renewed %d times after two clicks on its warning, want once", nb.Name, n)
		}
	}
}

func TestLeaderFailover(t *testing.T) {
	c := newCluster(t, "  poll_interval: 1s\n  warn_before: [30m]\n")
	for range 3 {
		c.start()
	}
	first := c.leader(30 * time.Second)

	// SIGKILL the leader: another takes over within 30s and warns; no warning repeats.
	early := c.sim.AddRunning("before-kill", 20*time.Minute)
	h := &harness{t: t, slack: c.slack, stderr: &syncBuffer{}}
	h.warningFor(chML, early.ID)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	killed := time.Now()
	late := c.sim.AddRunning("after-kill", 20*time.Minute)
	m, ok := c.slack.WaitMessage(func(m slackfake.Message) bool { return m.Channel == chML && strings.Contains(m.Text, late.ID) }, 35*time.Second)
	if !ok {
		t.Fatal("no warning within 35s of the leader's death")
	}
	if took := time.Since(killed); took > 30*time.Second {
		t.Errorf("warnings resumed %v after the leader was killed, want within 30s", took)
	}
	second := c.leader(30 * time.Second)
	if second == first {
		t.Fatal("the killed replica still leads")
	}
	t.Logf("after SIGKILL: a warning %v after the kill (%s)", time.Since(killed).Round(time.Millisecond), m.TS)

	// SIGTERM the new leader: it hands over at once.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termed := time.Now()
	var third *replica
	for third == nil || third == second {
		if time.Since(termed) > 15*time.Second {
			t.Fatal("no other replica took over within 15s of SIGTERM")
		}
		third = c.leader(15 * time.Second)
	}
	if took := time.Since(termed); took > 5*time.Second {
		t.Errorf("handover after SIGTERM took %v, want under 5s", took)
	}
	t.Logf("after SIGTERM: handover in %v", time.Since(termed).Round(time.Millisecond))
	select {
	case <-second.done:
		if code := second.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("SIGTERM: exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Error("the terminated replica did not exit")
	}
	time.Sleep(3 * time.Second)
	for _, nb := range []lease.Notebook{early, late} {
		n := 0
		for _, msg := range c.slack.Messages() {
			if strings.Contains(msg.History[0].Text, nb.ID) && strings.Contains(msg.History[0].Text, "will stop") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s warned %d times across failovers, want once", nb.Name, n)
		}
	}
}

func TestReplicasRecoverWhenTheDatabaseRestarts(t *testing.T) {
	c := newCluster(t, "  poll_interval: 1s\n  warn_before: [30m]\n")
	for range 2 {
		c.start()
	}
	c.leader(30 * time.Second)
	nb := c.sim.AddRunning("weathered", 3*time.Hour)
	before := stopOf(t, c.sim, nb.ID)

	c.proxy.Stop() // the database goes away...
	_, r := c.command(alice, "extend "+nb.ID+" 1h")
	if !strings.Contains(r.Text, "cannot record changes") {
		t.Errorf("an extension with the database away: %q", r.Text)
	}
	time.Sleep(2 * time.Second)
	c.proxy.Start(t) // ...and comes back
	c.leader(40 * time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, r = c.command(alice, "extend "+nb.ID+" 1h")
		if strings.Contains(r.Text, "extended") || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if !strings.Contains(r.Text, "extended") {
		t.Fatalf("the replicas did not recover: %q", r.Text)
	}
	if got := stopOf(t, c.sim, nb.ID); !near(got, before.Add(time.Hour), 3*time.Second) {
		t.Errorf("stop %v, want +1h exactly once after recovery", got)
	}
	if n := renewsOf(c.sim, nb.ID); n != 1 {
		t.Errorf("%d renewals, want 1", n)
	}
	// Warnings still work, once.
	soon := c.sim.AddRunning("after-restart", 20*time.Minute)
	h := &harness{t: t, slack: c.slack, stderr: &syncBuffer{}}
	h.warningFor(chML, soon.ID)
	time.Sleep(3 * time.Second)
	n := 0
	for _, m := range c.slack.Messages() {
		if strings.Contains(m.History[0].Text, soon.ID) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d warnings after the database came back, want 1", n)
	}
}

// tryGet fetches http://addr/healthz, with no error for a refused connection.
func tryGet(addr string) (int, string) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Only the leader renews a kept notebook, once, however many replicas run.
func TestKeepRenewedOnceAcrossReplicas(t *testing.T) {
	c := newCluster(t, "  poll_interval: 1s\n  warn_before: [10m]\n")
	for range 2 {
		c.start()
	}
	c.leader(30 * time.Second)
	nb := c.sim.AddRunning("kept-by-all", 2*time.Hour)
	until := time.Now().Add(5 * time.Hour).Truncate(time.Minute)
	_, r := c.command(alice, "keep kept-by-all until "+until.In(mustZone(t, "Europe/Berlin")).Format("2006-01-02 15:04"))
	if !strings.Contains(r.Text, "keeps") {
		t.Fatalf("keep: %q", r.Text)
	}
	if n := renewsOf(c.sim, nb.ID); n != 0 {
		t.Fatalf("%d renewals while two hours were left", n)
	}
	c.sim.SetStop(nb.ID, time.Now().Add(59*time.Minute)) // as if time had passed
	if !waitFor(10*time.Second, func() bool { return renewsOf(c.sim, nb.ID) > 0 }) {
		t.Fatal("the leader did not renew the kept notebook")
	}
	time.Sleep(4 * time.Second) // several more cycles of both replicas
	if n := renewsOf(c.sim, nb.ID); n != 1 {
		t.Errorf("%d renewals with two replicas, want 1", n)
	}
	if got := stopOf(t, c.sim, nb.ID); !near(got, until, 2*time.Second) {
		t.Errorf("renewed to %v, want the keep's end %v", got, until)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
