package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/internal/syncbuf"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// Secrets used by the end-to-end tests; none may appear in any log or message.
const (
	testAppToken = "xapp-1-A0FAKE-1-appsecretappsecret"
	testBotToken = "xoxb-1-botsecretbotsecret"
	testAK       = "AKTESTE2E0000000000"
	testSK       = "sksecretE2Esksecretsksecret"
)

// Slack IDs of the end-to-end workspace.
const (
	chML      = "C0ML"
	chOther   = "C0OTHER" // configured, covers only team-b-* notebooks
	chUnknown = "C0NOTCONFIGURED"
	alice     = "U0ALICE" // on C0ML's list
	bob       = "U0BOB"   // on no list
	carol     = "U0CAROL" // in user group S0DATASCI
	adminUser = "U0ADMIN"
)

// syncBuffer is a buffer the test reads while the code writes to it.
type syncBuffer = syncbuf.Buffer

// harness runs the real `leasebot run` wiring against the fake Slack and the
// ModelArts simulator.
type harness struct {
	t      *testing.T
	slack  *slackfake.Server
	sim    *simulator.Server
	stderr *syncBuffer
	cancel context.CancelFunc
	exit   chan int
	config string
	env    map[string]string
}

type harnessOptions struct {
	extraConfig string // appended under channels:
	defaults    string // lines under defaults:
	maxExtend   string
	noStart     bool
	simOptions  func(*simulator.Options)
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	sl := slackfake.New(slackfake.Options{AppToken: testAppToken, BotToken: testBotToken})
	t.Cleanup(sl.Close)
	sl.AddUser(alice, "alice", "Europe/Berlin")
	sl.AddUser(bob, "bob", "America/New_York")
	sl.AddUser(carol, "carol", "Asia/Kolkata")
	sl.AddUser(adminUser, "admin", "UTC")
	sl.SetGroup("S0DATASCI", carol)

	so := simulator.Options{AK: testAK, SK: testSK}
	if o.simOptions != nil {
		o.simOptions(&so)
	}
	sim := simulator.New(so)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	maxExtend := o.maxExtend
	if maxExtend == "" {
		maxExtend = "8h"
	}
	defaults := o.defaults
	if defaults == "" {
		defaults = "  poll_interval: 1h\n"
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`modelarts:
  endpoint: %[1]s
  iam_endpoint: %[1]s
  project_id: %s
admins: [%s]
defaults:
  max_extend: %s
%schannels:
  %s:
    users: [%s]
    groups: [S0DATASCI]
    notebooks: ["*"]
  %s:
    users: [%s]
    notebooks: ["team-b-*"]
%s`, srv.URL, sim.ProjectID(), adminUser, maxExtend, defaults, chML, alice, chOther, alice, o.extraConfig)
	// Each harness keeps its state in a store of its own.
	cfg = fmt.Sprintf("store:\n  path: %s\n", filepath.Join(dir, "leasebot.db")) + cfg
	path := filepath.Join(dir, "leasebot.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, slack: sl, sim: sim, stderr: &syncBuffer{}, exit: make(chan int, 1), config: path,
		env: map[string]string{
			"SLACK_APP_TOKEN": testAppToken,
			"SLACK_BOT_TOKEN": testBotToken,
			"SLACK_API_URL":   sl.APIURL(),
			"MODELARTS_AK":    testAK,
			"MODELARTS_SK":    testSK,
		}}
	if !o.noStart {
		h.start()
	}
	return h
}

func (h *harness) start(extraArgs ...string) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	args := append([]string{"run", "-config", h.config}, extraArgs...)
	exit := make(chan int, 1)
	h.exit = exit
	hellos := h.slack.Hellos() // not Connections: check opens URLs it never uses
	go func() {
		exit <- run(ctx, args, strings.NewReader(""), &syncBuffer{}, h.stderr, func(k string) string { return h.env[k] })
	}()
	h.t.Cleanup(func() {
		cancel()
		select {
		case code := <-exit:
			exit <- code
		case <-time.After(15 * time.Second):
			h.t.Error("leasebot did not stop within 15s of cancellation")
		}
		h.assertNoSecrets()
	})
	if !h.slack.WaitConnected(hellos+1, 10*time.Second) {
		h.t.Fatalf("leasebot never connected to the fake Slack; stderr:\n%s", h.stderr.String())
	}
}

// command types a slash command and returns its reply.
func (h *harness) command(user, channel, text string) slackfake.Response {
	h.t.Helper()
	env := h.slack.SlashCommand(user, channel, text)
	if _, ok := env.WaitAck(3 * time.Second); !ok {
		h.t.Fatalf("%q was not acked within 3s", text)
	}
	resp, ok := h.slack.WaitResponse(env, 20*time.Second)
	if !ok {
		h.t.Fatalf("no reply to %q; stderr:\n%s", text, h.stderr.String())
	}
	return resp
}

// assertNoSecrets checks that no secret reached a log line or Slack.
func (h *harness) assertNoSecrets() {
	h.t.Helper()
	everything := h.stderr.String() + strings.Join(h.slack.Log(), "\n")
	for _, m := range h.slack.Messages() {
		everything += m.Text + string(m.Blocks)
	}
	for _, secret := range []string{testAppToken, testBotToken, testSK, "appsecret", "botsecret", "sksecret"} {
		if strings.Contains(everything, secret) {
			h.t.Errorf("a secret (%.8s…) appeared in a log line or a Slack message", secret)
		}
	}
}

func stopOf(t *testing.T, sim *simulator.Server, id string) time.Time {
	t.Helper()
	nb, ok := sim.Notebook(id)
	if !ok {
		t.Fatalf("notebook %s vanished", id)
	}
	return nb.StopTime()
}

func near(a, b time.Time, tol time.Duration) bool {
	d := a.Sub(b)
	return d < tol && d > -tol
}

// auditLines returns the audit records written so far.
func (h *harness) auditLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(h.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "audit" {
			out = append(out, rec)
		}
	}
	return out
}

var _ = lease.StatusRunning

func simulatorSlowRenew() simulator.Fault {
	return simulator.Fault{Route: simulator.RouteRenew, Latency: 1500 * time.Millisecond, Times: 1}
}
