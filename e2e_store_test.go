package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store/storetest"
)

// restart stops leasebot (as SIGTERM would) and starts it again with the
// same config and store.
func (h *harness) restart() {
	h.t.Helper()
	h.cancel()
	code := <-h.exit
	h.exit <- code
	if code != 0 {
		h.t.Fatalf("exit %d on stop; stderr:\n%s", code, h.stderr.String())
	}
	h.start()
}

func TestRestartKeepsWarningsAndHistory(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: warnDefaults, noStart: true})
	nb := h.sim.AddRunning("persistent", 20*time.Minute)
	h.start()
	h.warningFor(chML, nb.ID)
	h.command(alice, chML, "extend "+nb.ID+" 1h")
	posted := h.slack.Calls("chat.postMessage")
	h.restart()
	time.Sleep(2 * time.Second) // the first cycle runs at once after start
	if got := h.slack.Calls("chat.postMessage"); got != posted {
		t.Errorf("after a restart, %d more warnings", got-posted)
	}
	r := h.command(alice, chML, "history "+nb.ID)
	if !strings.Contains(r.Text, "<@"+alice+"> extend 1h") || !strings.Contains(r.Text, "extended") || r.ResponseType != "ephemeral" {
		t.Errorf("history after a restart: %q", r.Text)
	}
	if !strings.Contains(r.Text, "<!date^") {
		t.Errorf("history lacks the date token: %q", r.Text)
	}
}

func TestHistoryShowsOnlyTheChannelsNotebooks(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	a := h.sim.AddRunning("team-a-box", 3*time.Hour)
	b := h.sim.AddRunning("team-b-box", 3*time.Hour)
	h.command(alice, chML, "extend "+a.ID+" 1h")
	h.command(alice, chML, "extend "+b.ID+" 2h")
	h.command(bob, chML, "extend "+a.ID+" 1h") // refused: bob is on no list; still recorded
	all := h.command(alice, chML, "history")
	for _, want := range []string{a.ID, b.ID, "refused (not member)"} {
		if !strings.Contains(all.Text, want) {
			t.Errorf("history in %s lacks %q: %q", chML, want, all.Text)
		}
	}
	// C0OTHER manages team-b-* only.
	other := h.command(alice, chOther, "history")
	if !strings.Contains(other.Text, b.ID) || strings.Contains(other.Text, a.ID) {
		t.Errorf("history in %s shows another channel's notebook: %q", chOther, other.Text)
	}
	// A notebook the channel does not manage reads as missing.
	if r := h.command(alice, chOther, "history team-a-box"); !strings.Contains(r.Text, "not managed from this channel") {
		t.Errorf("history of an out-of-scope notebook: %q", r.Text)
	}
	if r := h.command(alice, chML, "history 51"); !strings.Contains(r.Text, "from 1 to 50") {
		t.Errorf("history 51: %q", r.Text)
	}
	if r := h.command(alice, chML, "history "+a.ID+" 1"); strings.Count(r.Text, "\n•") != 1 {
		t.Errorf("history with a count of 1: %q", r.Text)
	}
}

// The JSON state file of earlier versions is imported once: its warnings
// are not repeated, and it is renamed so it is not imported again.
func TestOldStateFileIsImportedOnce(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	h := newHarness(t, harnessOptions{defaults: warnDefaults + "  state_file: " + state + "\n", noStart: true})
	nb := h.sim.AddRunning("remembered", 20*time.Minute)
	stop := stopOf(t, h.sim, nb.ID)
	old := []map[string]any{{
		"notebook": nb.ID, "name": "remembered", "stop_ms": stop.UnixMilli(),
		"warned": map[string]int64{chML: int64(30 * time.Minute)},
		"posts":  []map[string]string{{"channel": chML, "ref": "1700000000.000001"}},
	}}
	data, _ := json.Marshal(old)
	if err := os.WriteFile(state, data, 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	time.Sleep(2 * time.Second)
	if n := h.slack.Calls("chat.postMessage"); n != 0 {
		t.Errorf("%d warnings posted for a notebook the old state file had warned about", n)
	}
	if _, err := os.Stat(state + ".imported"); err != nil {
		t.Errorf("the state file was not renamed: %v", err)
	}
	if _, err := os.Stat(state); err == nil {
		t.Error("the state file is still there, to be imported again")
	}
	// check says the key is deprecated.
	var out syncBuffer
	run(context.Background(), []string{"check", "-config", h.config}, nil, &out, &syncBuffer{}, func(k string) string { return "" })
	if !strings.Contains(out.String(), "state_file is deprecated") {
		t.Errorf("check does not say state_file is deprecated:\n%s", out.String())
	}
}

// startFails runs leasebot and returns its exit code and standard error.
func startFails(t *testing.T, h *harness) (int, string) {
	t.Helper()
	var stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, []string{"run", "-config", h.config}, strings.NewReader(""), &syncBuffer{}, &stderr, func(k string) string { return h.env[k] })
	return code, stderr.String()
}

func TestStoreFaultsAtStart(t *testing.T) {
	t.Run("no such directory", func(t *testing.T) {
		h := newHarness(t, harnessOptions{noStart: true})
		missing := filepath.Join(t.TempDir(), "nope", "leasebot.db")
		h.setStorePath(missing)
		code, stderr := startFails(t, h)
		if code == 0 || !strings.Contains(stderr, missing) {
			t.Errorf("exit %d, stderr %q: want a refusal naming %s", code, stderr, missing)
		}
	})
	t.Run("corrupt file", func(t *testing.T) {
		h := newHarness(t, harnessOptions{noStart: true})
		bad := filepath.Join(t.TempDir(), "leasebot.db")
		junk := make([]byte, 8192)
		rand.Read(junk)
		os.WriteFile(bad, junk, 0o600)
		h.setStorePath(bad)
		code, stderr := startFails(t, h)
		if code == 0 || !strings.Contains(stderr, bad) {
			t.Errorf("exit %d, stderr %q: want a refusal naming %s", code, stderr, bad)
		}
	})
	t.Run("two processes on one SQLite file", func(t *testing.T) {
		h := newHarness(t, harnessOptions{})
		code, stderr := startFails(t, h)
		if code == 0 || !strings.Contains(stderr, "in use by another leasebot process") {
			t.Errorf("a second leasebot on the same file: exit %d, %q", code, stderr)
		}
		// The first one is unharmed.
		h.sim.AddRunning("still-served", time.Hour)
		if r := h.command(alice, chML, "list"); !strings.Contains(r.Text, "still-served") {
			t.Errorf("the first leasebot stopped answering: %q", r.Text)
		}
	})
	t.Run("PostgreSQL unreachable", func(t *testing.T) {
		h := newHarness(t, harnessOptions{noStart: true})
		h.env["LEASEBOT_DATABASE_URL"] = "postgres://leasebot:s3cretpassw0rd@127.0.0.1:1/leasebot?sslmode=disable"
		code, stderr := startFails(t, h)
		if code == 0 || !strings.Contains(stderr, "127.0.0.1:1/leasebot") {
			t.Errorf("exit %d, %q: want a refusal naming the host and database", code, stderr)
		}
		if strings.Contains(stderr, "s3cretpassw0rd") || strings.Contains(stderr, "leasebot:s3") {
			t.Error("the database password reached the log")
		}
	})
	// A URL that is not PostgreSQL's is a mistake in the environment: run
	// exits 2, as for a bad config, and check reports it with exit 1.
	t.Run("not a PostgreSQL URL", func(t *testing.T) {
		h := newHarness(t, harnessOptions{noStart: true})
		h.env["LEASEBOT_DATABASE_URL"] = "mysql://leasebot:s3cretpassw0rd@127.0.0.1:1/leasebot"
		code, stderr := startFails(t, h)
		if code != exitConfig || !strings.Contains(stderr, "LEASEBOT_DATABASE_URL") || !strings.Contains(stderr, "postgres://") {
			t.Errorf("exit %d, %q: want exit %d naming LEASEBOT_DATABASE_URL and the schemes it takes", code, stderr, exitConfig)
		}
		var out syncBuffer
		code = run(context.Background(), []string{"check", "-config", h.config}, nil, &out, &syncBuffer{}, func(k string) string { return h.env[k] })
		if code != exitFail || !strings.Contains(out.String(), "store: ERROR: LEASEBOT_DATABASE_URL") {
			t.Errorf("check: exit %d\n%s", code, out.String())
		}
		if strings.Contains(stderr+out.String(), "s3cretpassw0rd") {
			t.Error("the database password reached the output")
		}
	})
}

// setStorePath points the harness's config at another SQLite file.
func (h *harness) setStorePath(path string) {
	h.t.Helper()
	data, err := os.ReadFile(h.config)
	if err != nil {
		h.t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 3)
	lines[1] = "  path: " + path
	if err := os.WriteFile(h.config, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// With PostgreSQL lost while running, changes are refused and change
// nothing, reads still work, /healthz says so, and leasebot recovers by
// itself when the database returns.
func TestDatabaseLostWhileRunning(t *testing.T) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := storetest.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	addr := freeAddr(t)
	h := newHarness(t, harnessOptions{noStart: true})
	h.env["LEASEBOT_DATABASE_URL"] = u.String()
	nb := h.sim.AddRunning("resilient", 3*time.Hour)
	h.start("-listen", addr)
	waitStatus(t, "http://"+addr+"/healthz", 200, 10*time.Second)

	before := stopOf(t, h.sim, nb.ID)
	proxy.Stop() // the database goes away
	r := h.command(alice, chML, "extend "+nb.ID+" 1h")
	if !strings.Contains(r.Text, "cannot record changes right now; nothing was changed") {
		t.Errorf("an extension with the database away: %q", r.Text)
	}
	if got := stopOf(t, h.sim, nb.ID); !got.Equal(before) || h.sim.Count(simulator.RouteRenew) != 0 {
		t.Error("a change went through while the store was away")
	}
	if r := h.command(alice, chML, "status "+nb.ID); !strings.Contains(r.Text, "resilient") || !strings.Contains(r.Text, "RUNNING") {
		t.Errorf("status with the database away: %q", r.Text)
	}
	body := waitStatus(t, "http://"+addr+"/healthz", 503, 10*time.Second)
	if !strings.Contains(body, "store: unreachable") || strings.Contains(body, "password") {
		t.Errorf("/healthz with the database away: %q", body)
	}

	proxy.Start(t) // it comes back
	waitStatus(t, "http://"+addr+"/healthz", 200, 15*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		r = h.command(alice, chML, "extend "+nb.ID+" 1h")
		if strings.Contains(r.Text, "extended") || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(r.Text, "extended") {
		t.Fatalf("leasebot did not recover when the database came back: %q", r.Text)
	}
	if got := stopOf(t, h.sim, nb.ID); !near(got, before.Add(time.Hour), 2*time.Second) {
		t.Errorf("stop %v after recovery, want +1h exactly once", got)
	}
	_ = fmt.Sprint
}
