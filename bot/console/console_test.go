package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/internal/syncbuf"
)

var cet = time.FixedZone("CET", 3600)

var demoUsers = []User{
	{ID: "U0ALICE", Name: "alice", Note: "on the list"},
	{ID: "U0BOB", Name: "bob"},
}

// lockedBuffer is a buffer the test reads while the code writes to it.
type lockedBuffer = syncbuf.Buffer

func newTest(in string, o Options) (*Console, *lockedBuffer) {
	out := &lockedBuffer{}
	o.In, o.Out = strings.NewReader(in), out
	if o.Channel == "" {
		o.Channel, o.ChannelName = "C0DEMO", "demo"
	}
	if o.Users == nil {
		o.Users = demoUsers
	}
	if o.Location == nil {
		o.Location = cet
	}
	return New(o), out
}

// fakeCore records what the console sends. A click replaces the clicked
// message through the console, as the real core does.
type fakeCore struct {
	chat     *Console
	mu       sync.Mutex
	requests []request
	clicks   []clicked
	reply    *bot.Message // the answer to a click; nil: update the message
}

// request and clicked are what the console handed the core, in short.
type (
	request struct{ User, Channel, Text string }
	clicked struct{ User, Channel, Ref, Action, Value string }
)

func (f *fakeCore) Handle(ctx context.Context, e bot.Event) *bot.Reply {
	switch e.Kind {
	case bot.CommandEvent:
		f.mu.Lock()
		f.requests = append(f.requests, request{e.User, e.Channel, e.Text})
		f.mu.Unlock()
		if e.Text == "extend nb 1h" {
			return &bot.Reply{Message: bot.Message{Text: bot.Text{}.User(e.User).Plain(" extended ").Strong("nb"), InChannel: true}}
		}
		return &bot.Reply{Message: bot.Message{Text: bot.Text{}.Plain("ran " + e.Text)}}
	case bot.ClickEvent:
		f.mu.Lock()
		f.clicks = append(f.clicks, clicked{e.User, e.Channel, e.Message.ID, e.Action, e.Value})
		reply := f.reply
		f.mu.Unlock()
		if reply != nil {
			return &bot.Reply{Message: *reply}
		}
		_ = f.chat.Update(ctx, e.Message, bot.Message{Text: bot.Text{}.User(e.User).Plain(" pressed " + e.Value), InChannel: true})
	}
	return nil
}

func warning(name string) bot.Message {
	return bot.Message{
		Text: bot.Text{}.Plain("⏳ ").Strong(name).Plain(" will stop"),
		Buttons: []bot.Button{
			{Action: bot.ActionExtend, Value: name + "|1h", Label: "Extend 1h"},
			{Action: bot.ActionExtend, Value: name + "|4h", Label: "Extend 4h"},
			{Action: bot.ActionDismiss, Value: name + "|stop", Label: "Let it stop", Danger: true},
		},
		InChannel: true,
	}
}

func TestRender(t *testing.T) {
	at := time.Date(2026, 11, 26, 17, 30, 0, 0, time.UTC)
	text := bot.Text{}.Plain("Use `/notebook list`: ").Strong("llm-finetune").Plain(" ").Code("0a1b-2c").
		Plain(" stops ").Time(at).Plain(", extended by ").User("U0ALICE").Plain(" and ").User("U0CAROL")

	c, _ := newTest("", Options{})
	want := "Use /notebook list: llm-finetune 0a1b-2c stops Thu 26 Nov 18:30 CET, extended by @alice and @U0CAROL"
	if got := c.render(text); got != want {
		t.Errorf("render without colour:\n got %q\nwant %q", got, want)
	}

	c, _ = newTest("", Options{Color: true})
	if got := c.render(bot.Text{}.Strong("name").Code("id")); got != "\x1b[1mname\x1b[22mid" {
		t.Errorf("render with colour: %q", got)
	}
	if got := c.render(bot.Text{}.Strong("evil\x1b[31m").Plain("\x07bell\nnext")); got != "\x1b[1mevil[31m\x1b[22mbell\nnext" {
		t.Errorf("control characters from the text must not reach the terminal: %q", got)
	}

	ny, err := time.LoadLocation("America/New_York")
	if err == nil {
		c, _ = newTest("", Options{Location: ny})
		if got := c.render(bot.Text{}.Time(at)); got != "Thu 26 Nov 12:30 EST" {
			t.Errorf("time in New York: %q", got)
		}
	}
}

func TestPostNumbersButtonsAcrossWarnings(t *testing.T) {
	c, out := newTest("", Options{})
	ctx := context.Background()
	ref1, err := c.Post(ctx, bot.Target{Channel: "C0DEMO"}, warning("one"))
	if err != nil {
		t.Fatal(err)
	}
	ref2, _ := c.Post(ctx, bot.Target{Channel: "C0DEMO"}, warning("two"))
	if ref1 == ref2 {
		t.Fatalf("refs not unique: %q", ref1)
	}
	got := out.String()
	for _, want := range []string{
		"leasebot in #demo (message m1):\n  ⏳ one will stop\n  [1] Extend 1h  [2] Extend 4h  [3] Let it stop\n",
		"leasebot in #demo (message m2):\n  ⏳ two will stop\n  [4] Extend 1h  [5] Extend 4h  [6] Let it stop\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if err := c.Update(ctx, ref1, bot.Message{Text: bot.Text{}.Plain("done")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "leasebot in #demo (message m1, updated):\n  done\n\n") {
		t.Errorf("update not shown as such:\n%s", out.String())
	}
	if err := c.Update(ctx, bot.MessageRef{Conversation: "C0DEMO", ID: "m99"}, bot.Message{}); err == nil {
		t.Error("updating an unknown message: no error")
	}
	// A new warning's buttons never reuse the numbers of replaced ones.
	_, _ = c.Post(ctx, bot.Target{Channel: "C0DEMO"}, warning("three"))
	if !strings.Contains(out.String(), "[7] Extend 1h  [8] Extend 4h  [9] Let it stop") {
		t.Errorf("numbers reused:\n%s", out.String())
	}
}

func TestPress(t *testing.T) {
	c, out := newTest("press 2\npress 2\npress 42\npress x\npress\n", Options{})
	core := &fakeCore{chat: c}
	if _, err := c.Post(context.Background(), bot.Target{Channel: "C0DEMO"}, warning("nb")); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background(), core); err != nil {
		t.Fatal(err)
	}
	if len(core.clicks) != 1 {
		t.Fatalf("clicks = %+v, want exactly one", core.clicks)
	}
	want := clicked{User: "U0ALICE", Channel: "C0DEMO", Ref: "m1", Action: bot.ActionExtend, Value: "nb|4h"}
	if core.clicks[0] != want {
		t.Errorf("click = %+v, want %+v", core.clicks[0], want)
	}
	got := out.String()
	for _, want := range []string{
		"alice> press 2\nleasebot in #demo (message m1, updated):\n  @alice pressed nb|4h\n",
		"alice> press 2\nButton [2] is gone: message m1 was updated since it was shown. No message shows buttons right now",
		"alice> press 42\nThere is no button [42]. No message shows buttons right now",
		"alice> press x\n\"x\" is not a button number.",
		"alice> press\nSay which button: press N",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestPressUnknownListsButtonsShown(t *testing.T) {
	c, out := newTest("press 7\n", Options{})
	_, _ = c.Post(context.Background(), bot.Target{Channel: "C0DEMO"}, warning("nb"))
	if err := c.Run(context.Background(), &fakeCore{chat: c}); err != nil {
		t.Fatal(err)
	}
	if want := "There is no button [7]. Buttons you can press: [1] [2] [3]."; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}

func TestClickReplyIsForTheClicker(t *testing.T) {
	c, out := newTest("as bob\npress 1\n", Options{})
	reply := bot.Message{Text: bot.Text{}.Plain("Sorry, you are not on the list.")}
	core := &fakeCore{chat: c, reply: &reply}
	_, _ = c.Post(context.Background(), bot.Target{Channel: "C0DEMO"}, warning("nb"))
	if err := c.Run(context.Background(), core); err != nil {
		t.Fatal(err)
	}
	if len(core.clicks) != 1 || core.clicks[0].User != "U0BOB" {
		t.Fatalf("clicks = %+v, want one by U0BOB", core.clicks)
	}
	if want := "bob> press 1\nleasebot (only you see this):\n  Sorry, you are not on the list.\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}

func TestCommandsUsersAndVisibility(t *testing.T) {
	in := "/notebook list\n\x01 notebook   status nb\n\n  \nas bob\n/NOTEBOOK extend nb 1h\nas carol\nas ALICE\n/notebook extend nb 1h\nlist\n/remind me\nwhat\nusers\nquit\n/notebook after quit\n"
	c, out := newTest(in, Options{})
	core := &fakeCore{chat: c}
	if err := c.Run(context.Background(), core); err != nil {
		t.Fatal(err)
	}
	want := []request{
		{User: "U0ALICE", Channel: "C0DEMO", Text: "list"},
		{User: "U0ALICE", Channel: "C0DEMO", Text: "status nb"},
		{User: "U0BOB", Channel: "C0DEMO", Text: "extend nb 1h"},
		{User: "U0ALICE", Channel: "C0DEMO", Text: "extend nb 1h"},
	}
	if fmt.Sprint(core.requests) != fmt.Sprint(want) {
		t.Errorf("requests:\n got %+v\nwant %+v", core.requests, want)
	}
	got := out.String()
	for _, want := range []string{
		"alice> /notebook list\nleasebot (only you see this):\n  ran list\n\n",
		"alice> as bob\nYou are now bob (U0BOB).\n",
		"bob> /NOTEBOOK extend nb 1h\nleasebot in #demo (visible to the channel):\n  @bob extended nb\n",
		"bob> as carol\nThere is no demo user \"carol\"; the demo users are alice, bob.\n",
		"bob> as ALICE\nYou are now alice (U0ALICE), on the list.\n",
		"alice> list\nDid you mean: /notebook list\n",
		"alice> /remind me\nOnly /notebook is a command here.",
		"alice> what\nI don't understand \"what\".",
		"* alice    U0ALICE    on the list\n  bob      U0BOB\n",
		"alice> quit\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "after quit") {
		t.Errorf("a line after quit was read:\n%s", got)
	}
}

func TestHelp(t *testing.T) {
	c, out := newTest("help\n", Options{})
	if err := c.Run(context.Background(), &fakeCore{chat: c}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"press N", "as NAME", "users", "quit", "/notebook help:", "/notebook extend NOTEBOOK DURATION", "/notebook list"} {
		if !strings.Contains(got, want) {
			t.Errorf("help lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "`") {
		t.Errorf("help shows backticks:\n%s", got)
	}
}

func TestDirectory(t *testing.T) {
	c := New(Options{Location: cet, Groups: map[string][]string{"S0TEAM": {"U0ALICE"}}})
	loc, err := c.TimeZone(context.Background(), "U0ANY")
	if err != nil || loc != cet {
		t.Errorf("TimeZone = %v, %v", loc, err)
	}
	if m, err := c.GroupMembers(context.Background(), "S0TEAM"); err != nil || fmt.Sprint(m) != "[U0ALICE]" {
		t.Errorf("GroupMembers = %v, %v", m, err)
	}
	if m, err := c.GroupMembers(context.Background(), "S0NONE"); err != nil || len(m) != 0 {
		t.Errorf("GroupMembers of an unknown group = %v, %v", m, err)
	}
	var _ bot.Adapter = c
}

// stepReader hands the console one line per Read, and tells the test when
// the console asks for one: by then its prompt is showing.
type stepReader struct {
	reads chan struct{}
	lines chan string
}

func (s *stepReader) Read(p []byte) (int, error) {
	s.reads <- struct{}{}
	line, ok := <-s.lines
	if !ok {
		return 0, io.EOF
	}
	return copy(p, line), nil
}

func TestInteractivePromptAndAsyncOutput(t *testing.T) {
	in := &stepReader{reads: make(chan struct{}), lines: make(chan string)}
	out := &lockedBuffer{}
	c := New(Options{In: in, Out: out, Channel: "C0DEMO", ChannelName: "demo", Users: demoUsers, Location: cet, Interactive: true})
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), &fakeCore{chat: c}) }()

	<-in.reads
	in.lines <- "/notebook list\n"
	<-in.reads
	in.lines <- "as bob\n"
	<-in.reads                                                                        // the prompt "bob> " waits for input
	_, _ = c.Post(context.Background(), bot.Target{Channel: "C0DEMO"}, warning("nb")) // the watcher posts meanwhile
	close(in.lines)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "alice> /notebook list") {
		t.Errorf("interactive input echoed:\n%s", got)
	}
	for _, want := range []string{
		"alice> leasebot (only you see this):\n  ran list\n",
		"alice> You are now bob (U0BOB).\n\nbob> \nleasebot in #demo (message m1):",
		"[3] Let it stop\n\nbob> \n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	pr, pw := io.Pipe() // never written: Run waits for a line
	defer pw.Close()
	c := New(Options{In: pr, Out: io.Discard})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, &fakeCore{chat: c}) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	c, _ := newTest("/notebook list\n/notebook help", Options{})
	core := &fakeCore{chat: c}
	if err := c.Run(context.Background(), core); err != nil {
		t.Fatal(err)
	}
	if len(core.requests) != 2 || core.requests[1].Text != "help" {
		t.Errorf("requests = %+v", core.requests)
	}
}

// Output from the watcher and from the input loop, and log lines, never interleave.
func TestOutputIsSerialised(t *testing.T) {
	var in strings.Builder
	for range 50 {
		in.WriteString("/notebook list\n")
	}
	c, out := newTest(in.String(), Options{})
	logw := c.SyncWriter(out)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 25 {
				if i == 0 {
					fmt.Fprintf(logw, "log line %d\n", j)
					continue
				}
				_, _ = c.Post(context.Background(), bot.Target{Channel: "C0DEMO"}, warning(fmt.Sprintf("nb%d-%d", i, j)))
			}
		})
	}
	if err := c.Run(context.Background(), &fakeCore{chat: c}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	got := out.String()
	// Every warning block is whole: header, text, buttons.
	for i := 1; i < 4; i++ {
		for j := range 25 {
			if !strings.Contains(got, fmt.Sprintf("):\n  ⏳ nb%d-%d will stop\n  [", i, j)) {
				t.Fatalf("warning nb%d-%d cut:\n%s", i, j, got)
			}
		}
	}
	if n := strings.Count(got, "ran list\n\n"); n != 50 {
		t.Errorf("%d replies, want 50", n)
	}
}
