package slackchat_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/slackchat"
	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
	"github.com/leasebot/leasebot/internal/syncbuf"
)

const (
	appToken = "xapp-1-A0FAKE-1-adaptertest"
	botToken = "xoxb-1-adaptertest"
	wait     = 5 * time.Second
)

// handlerFunc adapts a function to bot.Handler.
type handlerFunc func(context.Context, bot.Event) *bot.Reply

func (f handlerFunc) Handle(ctx context.Context, e bot.Event) *bot.Reply { return f(ctx, e) }

// newFake is a fake Slack that expects the test tokens.
func newFake(t *testing.T) *slackfake.Server {
	t.Helper()
	s := slackfake.New(slackfake.Options{AppToken: appToken, BotToken: botToken})
	t.Cleanup(s.Close)
	return s
}

// startAdapter runs an adapter against s until the test ends, or until the
// returned stop is called; stop returns Run's error.
func startAdapter(t *testing.T, s *slackfake.Server, o slackchat.Options, h bot.Handler) (*slackchat.Adapter, func() error) {
	t.Helper()
	o.AppToken, o.BotToken, o.APIURL = appToken, botToken, s.APIURL()
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := slackchat.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	stopped := false
	var runErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(60 * time.Second):
				t.Error("Run did not return within 60s of cancellation")
			}
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	if !s.WaitConnected(1, wait) {
		t.Fatal("the adapter never connected to the fake Slack")
	}
	return a, stop
}

// viewButton is a button as a published view holds it.
type viewButton struct {
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
}

// viewButtons lists the buttons of a view, in order.
func viewButtons(t *testing.T, view json.RawMessage) []viewButton {
	t.Helper()
	var v struct {
		Blocks []struct {
			Elements []viewButton `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		t.Fatal(err)
	}
	var out []viewButton
	for _, b := range v.Blocks {
		out = append(out, b.Elements...)
	}
	return out
}

// A Home with several notebooks, each with buttons, is accepted by Slack
// (action_ids unique across the view), and a click on any notebook's button
// reaches the core as that button's action and value.
func TestHomeWithSeveralNotebooks(t *testing.T) {
	s := newFake(t)
	clicks := make(chan bot.Event, 8)
	a, _ := startAdapter(t, s, slackchat.Options{}, handlerFunc(func(_ context.Context, e bot.Event) *bot.Reply {
		if e.Kind == bot.ClickEvent {
			clicks <- e
		}
		return nil
	}))
	const user = "U0ALICE"
	home := bot.Home{Title: bot.Text{}.Plain("My notebooks")}
	for _, nb := range []string{"nb-1", "nb-2", "nb-3", "nb-4"} {
		home.Items = append(home.Items, bot.Message{Text: bot.Text{}.Strong(nb).Plain(" RUNNING"), Buttons: []bot.Button{
			{Action: bot.ActionExtend, Label: "Extend 1h", Value: nb + "|1h"},
			{Action: bot.ActionExtend, Label: "Extend 4h", Value: nb + "|4h"},
		}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := a.PublishHome(ctx, user, home); err != nil {
		t.Fatalf("PublishHome with %d notebooks: %v; violations %v", len(home.Items), err, s.Violations())
	}
	view, _, ok := s.Home(user)
	if !ok {
		t.Fatal("no view was published")
	}
	buttons := viewButtons(t, view)
	if len(buttons) != 8 {
		t.Fatalf("%d buttons in the view, want 8: %s", len(buttons), view)
	}
	seen := map[string]bool{}
	for _, b := range buttons {
		if seen[b.ActionID] {
			t.Errorf("action_id %q repeats in the view", b.ActionID)
		}
		seen[b.ActionID] = true
	}
	// The second notebook's "Extend 4h", the third's "Extend 1h", the fourth's "Extend 4h".
	for _, i := range []int{3, 4, 7} {
		b := buttons[i]
		s.ClickHome(user, b.ActionID, b.Value)
		select {
		case e := <-clicks:
			if e.Action != bot.ActionExtend || e.Value != b.Value || e.Surface != bot.InHome || e.User != user {
				t.Errorf("click on %s (%s) reached the core as %+v", b.ActionID, b.Value, e)
			}
		case <-time.After(wait):
			t.Fatalf("the click on %s never reached the core", b.ActionID)
		}
	}

	// A warning's buttons stay unique within their message.
	warning := bot.Message{Text: bot.Text{}.Plain("nb-1 stops soon"), Buttons: []bot.Button{
		{Action: bot.ActionExtend, Label: "Extend 1h", Value: "w|1h"},
		{Action: bot.ActionExtend, Label: "Extend 4h", Value: "w|4h"},
		{Action: bot.ActionDismiss, Label: "Let it stop", Value: "w|stop", Danger: true},
	}}
	for range 2 {
		if _, err := a.Post(ctx, bot.Target{Channel: "C0ML"}, warning); err != nil {
			t.Fatalf("posting a warning: %v", err)
		}
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("Slack protocol violations: %v", v)
	}
	for _, m := range s.Messages() {
		if n := strings.Count(string(m.Blocks), `"action_id"`); n != 3 {
			t.Errorf("a warning has %d buttons, want 3: %s", n, m.Blocks)
		}
	}
}

// When the drain period runs out, Run cancels the work in flight and waits
// (briefly) for it to stop before it returns: the caller closes the core and
// the store right after.
func TestRunWaitsForCancelledWork(t *testing.T) {
	s := newFake(t)
	started := make(chan struct{})
	var finished atomic.Bool
	_, stop := startAdapter(t, s, slackchat.Options{Drain: 100 * time.Millisecond}, handlerFunc(func(ctx context.Context, e bot.Event) *bot.Reply {
		if e.Kind != bot.CommandEvent {
			return nil
		}
		close(started)
		<-ctx.Done()
		time.Sleep(500 * time.Millisecond) // letting go of what it holds
		finished.Store(true)
		return nil
	}))
	s.SlashCommand("U0ALICE", "C0ML", "extend nb-1 1h")
	select {
	case <-started:
	case <-time.After(wait):
		t.Fatal("the command never reached the handler")
	}
	begun := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !finished.Load() {
		t.Error("Run returned while cancelled work was still running")
	}
	if took := time.Since(begun); took > 5*time.Second {
		t.Errorf("Run took %v to stop", took)
	}
}

// At debug level slack-go's Socket Mode lines reach the log (redacted); at
// info level they do not.
func TestSlackGoLinesAtDebugLevel(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			s := newFake(t)
			var logs lockedBuffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level}))
			_, stop := startAdapter(t, s, slackchat.Options{Log: log}, handlerFunc(func(context.Context, bot.Event) *bot.Reply {
				return &bot.Reply{Message: bot.Message{Text: bot.Text{}.Plain("ok")}}
			}))
			env := s.SlashCommand("U0ALICE", "C0ML", "list")
			if _, ok := s.WaitResponse(env, wait); !ok {
				t.Fatal("no reply")
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			got := strings.Count(logs.String(), `"component":"slack-go"`)
			if level == slog.LevelDebug && got == 0 {
				t.Errorf("no slack-go lines at debug level:\n%s", logs.String())
			}
			if level == slog.LevelInfo && got > 0 {
				t.Errorf("%d slack-go lines at info level", got)
			}
			for _, secret := range []string{appToken, botToken, "adaptertest", "ticket=", "/respond/"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log holds %q", secret)
				}
			}
		})
	}
}

// lockedBuffer is a buffer the test reads while the code writes to it.
type lockedBuffer = syncbuf.Buffer
