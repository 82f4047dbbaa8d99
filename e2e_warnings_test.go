package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/lease/simulator"
)

type blockButton struct {
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Text     struct {
		Text string `json:"text"`
	} `json:"text"`
}

// buttons lists the buttons in a message's blocks.
func buttons(t *testing.T, m slackfake.Message) []blockButton {
	t.Helper()
	var blocks []struct {
		Type     string        `json:"type"`
		Elements []blockButton `json:"elements"`
	}
	if len(m.Blocks) > 0 {
		if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
			t.Fatalf("blocks do not parse: %v", err)
		}
	}
	var out []blockButton
	for _, b := range blocks {
		if b.Type == "actions" {
			out = append(out, b.Elements...)
		}
	}
	return out
}

func buttonLabeled(t *testing.T, m slackfake.Message, label string) blockButton {
	t.Helper()
	for _, b := range buttons(t, m) {
		if b.Text.Text == label {
			return b
		}
	}
	t.Fatalf("no %q button on %q", label, m.Text)
	return blockButton{}
}

// warningFor waits for the warning about notebook id in channel.
func (h *harness) warningFor(channel, id string) slackfake.Message {
	h.t.Helper()
	m, ok := h.slack.WaitMessage(func(m slackfake.Message) bool {
		return m.Channel == channel && strings.Contains(m.Text, id) && !m.Ephemeral
	}, 10*time.Second)
	if !ok {
		h.t.Fatalf("no warning for %s in %s; stderr:\n%s", id, channel, h.stderr.String())
	}
	return m
}

const warnDefaults = "  warn_before: [30m, 10m]\n  extend_buttons: [1h, 4h]\n  poll_interval: 5s\n"

func (h *harness) click(user string, m slackfake.Message, b blockButton) *slackfake.Envelope {
	h.t.Helper()
	env := h.slack.Click(user, m.Channel, m.TS, b.ActionID, b.Value)
	if _, ok := env.WaitAck(3 * time.Second); !ok {
		h.t.Fatal("click not acked")
	}
	return env
}

func TestWarningAndOneClickExtend(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: warnDefaults, noStart: true})
	nb := h.sim.AddRunning("expiring", 20*time.Minute)
	shown := stopOf(t, h.sim, nb.ID)
	h.start()
	m := h.warningFor(chML, nb.ID)
	for _, want := range []string{"expiring", nb.ID, "<!date^"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("warning %q lacks %q", m.Text, want)
		}
	}
	if got := len(buttons(t, m)); got != 3 {
		t.Fatalf("want 3 buttons (1h, 4h, Let it stop), got %d", got)
	}

	// bob is not on the list: refused, nothing changes.
	env := h.click(bob, m, buttonLabeled(t, m, "Extend 4h"))
	if r, ok := h.slack.WaitResponse(env, 5*time.Second); !ok || !strings.Contains(r.Text, "not on this channel") || r.ResponseType != "ephemeral" || r.ReplaceOriginal {
		t.Errorf("refused clicker: %+v", r)
	}
	if h.sim.Count(simulator.RouteRenew) != 0 {
		t.Fatal("a refused click renewed the lease")
	}

	h.click(alice, m, buttonLabeled(t, m, "Extend 1h"))
	updated, ok := h.slack.WaitMessage(func(x slackfake.Message) bool { return x.TS == m.TS && x.Updated > 0 }, 10*time.Second)
	if !ok {
		t.Fatalf("the warning was not replaced; stderr:\n%s", h.stderr.String())
	}
	if got := stopOf(t, h.sim, nb.ID); !near(got, shown.Add(time.Hour), time.Second) {
		t.Errorf("stop %v, want shown stop + 1h = %v", got, shown.Add(time.Hour))
	}
	if len(buttons(t, updated)) != 0 || !strings.Contains(updated.Text, "<@"+alice+">") || !strings.Contains(updated.Text, "by 1h") {
		t.Errorf("replacement %q should name alice and 1h, with no buttons", updated.Text)
	}

	// A second click on the same warning (an old client still shows the buttons).
	env = h.click(carol, m, buttonLabeled(t, m, "Extend 1h"))
	if r, ok := h.slack.WaitResponse(env, 5*time.Second); !ok || !strings.Contains(r.Text, "already extended") || !strings.Contains(r.Text, "<@"+alice+">") {
		t.Errorf("second clicker: %+v", r)
	}
	if n := h.sim.Count(simulator.RouteRenew); n != 1 {
		t.Errorf("%d renews, want 1", n)
	}
	// The extension's audit line is written after its handler has updated
	// the warning, so on a loaded machine it may come after the second
	// click's answer: wait for it.
	waitFor(5*time.Second, func() bool { return len(h.auditLines()) >= 3 })
	if audits := h.auditLines(); len(audits) != 3 {
		t.Errorf("want 3 audit lines (refused, extended, already), got %d", len(audits))
	}
}

func TestLetItStopAndMalformedInteractions(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: warnDefaults, noStart: true})
	nb := h.sim.AddRunning("goodbye", 15*time.Minute)
	h.start()
	m := h.warningFor(chML, nb.ID)

	for _, raw := range []string{
		`{"envelope_id":"bad-1","type":"interactive","accepts_response_payload":false,"payload":{"type":"block_actions","actions":"nope"}}`,
		`{"envelope_id":"bad-2","type":"interactive","payload":{"type":"block_actions","user":{"id":"U0ALICE"},"container":{"channel_id":"C0ML","message_ts":"1.1"},"actions":[{"type":"button","block_id":"b","action_id":"leasebot_extend.0","value":"forged|1|3600","action_ts":"1.2"}]}}`,
		`{"envelope_id":"bad-3","type":"interactive","payload":{"type":"block_actions","user":{"id":"U0ALICE"},"container":{"channel_id":"C0ML","message_ts":"1.1"},"actions":[{"type":"button","block_id":"b","action_id":"leasebot_extend.0","value":"` + nb.ID + `|1700000000000|3600","action_ts":"1.3"}]}}`,
		`not json at all`,
	} {
		env := h.slack.SendRaw([]byte(raw))
		if env.ID != "" {
			if _, ok := env.WaitAck(3 * time.Second); !ok {
				t.Errorf("malformed envelope %.40q… was not acked", raw)
			}
		}
	}
	if n := h.sim.Count(simulator.RouteRenew); n != 0 {
		t.Fatalf("a malformed or stale click renewed the lease (%d)", n)
	}

	h.click(alice, m, buttonLabeled(t, m, "Let it stop"))
	updated, ok := h.slack.WaitMessage(func(x slackfake.Message) bool { return x.TS == m.TS && x.Updated > 0 }, 10*time.Second)
	if !ok || len(buttons(t, updated)) != 0 || !strings.Contains(updated.Text, "chose to let") {
		t.Fatalf("Let it stop should replace the warning: %+v", updated)
	}
	if h.sim.Count(simulator.RouteRenew) != 0 {
		t.Error("Let it stop renewed the lease")
	}
}

func TestRestartWithStateFileRepeatsNoWarning(t *testing.T) {
	state := t.TempDir() + "/state.json"
	h := newHarness(t, harnessOptions{defaults: warnDefaults + "  state_file: " + state + "\n", noStart: true})
	nb := h.sim.AddRunning("persistent", 20*time.Minute)
	h.start()
	h.warningFor(chML, nb.ID)
	h.cancel()
	code := <-h.exit
	h.exit <- code
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	posted := h.slack.Calls("chat.postMessage")
	h.start()
	time.Sleep(2 * time.Second) // the first cycle runs at once after start
	if got := h.slack.Calls("chat.postMessage"); got != posted {
		t.Errorf("after a restart with state_file, %d more warnings", got-posted)
	}
}

func TestWarningUpdatedWhenStopTimeMoves(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: warnDefaults, noStart: true})
	nb := h.sim.AddRunning("mover", 25*time.Minute)
	h.start()
	m := h.warningFor(chML, nb.ID)
	h.command(alice, chML, "extend "+nb.ID+" 2h")
	updated, ok := h.slack.WaitMessage(func(x slackfake.Message) bool { return x.TS == m.TS && x.Updated > 0 }, 12*time.Second)
	if !ok || !strings.Contains(updated.Text, "moved") || len(buttons(t, updated)) != 0 {
		t.Fatalf("the warning was not updated after the stop time moved: %+v", updated)
	}
}
