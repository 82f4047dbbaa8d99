package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
)

const (
	appToken = "xapp-1-test"
	botToken = "xoxb-test"
	wait     = 5 * time.Second
)

func newFake(t *testing.T) *slackfake.Server {
	t.Helper()
	s := slackfake.New(slackfake.Options{AppToken: appToken, BotToken: botToken})
	t.Cleanup(s.Close)
	return s
}

func newAPI(s *slackfake.Server, app string) *slack.Client {
	return slack.New(botToken, slack.OptionAppLevelToken(app), slack.OptionAPIURL(s.APIURL()))
}

func quietClient(api *slack.Client, opts ...socketmode.Option) *socketmode.Client {
	return socketmode.New(api, append([]socketmode.Option{socketmode.OptionLog(log.New(io.Discard, "", 0))}, opts...)...)
}

// run runs RunContext in the background; the returned func cancels it and
// returns its error.
func run(t *testing.T, cli *socketmode.Client, loop func(context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- loop(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(wait):
				t.Error("RunContext did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// ackAll runs the client and acks every envelope, with payload for slash commands.
func ackAll(t *testing.T, cli *socketmode.Client, seen chan<- socketmode.Event) func() error {
	return run(t, cli, func(ctx context.Context) error {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case evt := <-cli.Events:
					if evt.Request == nil || evt.Type == socketmode.EventTypeHello {
						if seen != nil && evt.Type == socketmode.EventTypeHello {
							seen <- evt
						}
						continue
					}
					var payload any
					if evt.Type == socketmode.EventTypeSlashCommand {
						payload = map[string]any{"response_type": "ephemeral", "text": "working on it"}
					}
					actx, cancel := context.WithTimeout(ctx, time.Second)
					_ = cli.AckCtx(actx, evt.Request.EnvelopeID, payload)
					cancel()
					if seen != nil {
						seen <- evt
					}
				}
			}
		}()
		return cli.RunContext(ctx)
	})
}

func TestHelloAndConnect(t *testing.T) {
	s := newFake(t)
	cli := quietClient(newAPI(s, appToken))
	seen := make(chan socketmode.Event, 10)
	ackAll(t, cli, seen)
	select {
	case evt := <-seen:
		if evt.Request.ConnectionInfo.AppID != slackfake.AppID || evt.Request.NumConnections != 1 {
			t.Errorf("hello = %+v", evt.Request)
		}
	case <-time.After(wait):
		t.Fatal("no hello")
	}
	if !s.WaitConnected(1, wait) || !s.Connected() || s.Connections() != 1 || s.Calls("apps.connections.open") != 1 {
		t.Fatalf("connected=%v connections=%d", s.Connected(), s.Connections())
	}
}

func TestSlashCommandAckAndResponseURL(t *testing.T) {
	s := newFake(t)
	s.AddUser("U1", "alice", "Europe/Berlin")
	api := newAPI(s, appToken)
	cli := quietClient(api)
	seen := make(chan socketmode.Event, 10)
	ackAll(t, cli, seen)
	<-seen // hello

	e := s.SlashCommand("U1", "C1", "extend nb-1 2h")
	if e.Sent.IsZero() || e.Type != "slash_commands" {
		t.Fatalf("envelope not sent: %+v", e)
	}
	ack, ok := e.WaitAck(wait)
	if !ok || !strings.Contains(string(ack.Payload), "working on it") || ack.Latency <= 0 || ack.Late {
		t.Fatalf("ack = %+v, %v", ack, ok)
	}
	evt := <-seen
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok || cmd.Command != slackfake.Command || cmd.Text != "extend nb-1 2h" || cmd.UserID != "U1" ||
		cmd.UserName != "alice" || cmd.ChannelID != "C1" || cmd.ResponseURL != e.ResponseURL || cmd.TriggerID != e.TriggerID {
		t.Fatalf("slash command = %+v", evt.Data)
	}
	e2 := s.SlashCommand("U1", "C1", "list")
	if e2.ID == e.ID || e2.TriggerID == e.TriggerID || e2.ResponseURL == e.ResponseURL {
		t.Fatal("ids not unique")
	}
	if _, ok := e2.WaitAck(wait); !ok || s.Acks(e.ID) != 1 || s.Acks(e2.ID) != 1 {
		t.Fatalf("acks %d %d", s.Acks(e.ID), s.Acks(e2.ID))
	}

	if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionText("extended until 18:00", false)); err != nil {
		t.Fatal(err)
	}
	r, ok := s.WaitResponse(e, wait)
	if !ok || r.Text != "extended until 18:00" || r.ResponseType != "ephemeral" || r.ReplaceOriginal || r.EnvelopeID != e.ID {
		t.Fatalf("response = %+v, %v", r, ok)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}

func TestBlockActionRoutedAndReplaceOriginal(t *testing.T) {
	s := newFake(t)
	api := newAPI(s, appToken)
	btn := slack.NewButtonBlockElement("extend", "nb-1", slack.NewTextBlockObject(slack.PlainTextType, "Extend 2h", false, false))
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "nb-1 expires soon", false, false), nil, nil),
		slack.NewActionBlock("lease-actions", btn),
	}
	ch, ts, err := api.PostMessage("C1", slack.MsgOptionText("nb-1 expires soon", false), slack.MsgOptionBlocks(blocks...))
	if err != nil || ch != "C1" || ts == "" {
		t.Fatal(ch, ts, err)
	}

	cli := quietClient(api)
	h := socketmode.NewSocketmodeHandler(cli)
	got := make(chan slack.InteractionCallback, 1)
	h.HandleInteractionBlockAction("extend", func(evt *socketmode.Event, c *socketmode.Client) {
		_ = c.Ack(*evt.Request)
		cb := evt.Data.(slack.InteractionCallback)
		_, _, _ = api.PostMessage("", slack.MsgOptionReplaceOriginal(cb.ResponseURL), slack.MsgOptionText("extended", false))
		got <- cb
	})
	h.HandleInteractionBlockAction("dismiss", func(evt *socketmode.Event, c *socketmode.Client) {
		_ = c.Ack(*evt.Request)
		cb := evt.Data.(slack.InteractionCallback)
		_, _, _ = api.PostMessage("", slack.MsgOptionDeleteOriginal(cb.ResponseURL))
		got <- cb
	})
	h.HandleDefault(func(*socketmode.Event, *socketmode.Client) {})
	run(t, cli, h.RunEventLoopContext)

	e := s.Click("U1", "C1", ts, "extend", "nb-1")
	var cb slack.InteractionCallback
	select {
	case cb = <-got:
	case <-time.After(wait):
		t.Fatal("block action not routed")
	}
	ba := cb.ActionCallback.BlockActions
	if cb.Type != slack.InteractionTypeBlockActions || len(ba) != 1 || ba[0].BlockID != "lease-actions" ||
		ba[0].Value != "nb-1" || ba[0].Text.Text != "Extend 2h" || cb.Container.ChannelID != "C1" ||
		cb.Container.MessageTs != ts || cb.Message.Timestamp != ts || cb.User.ID != "U1" || cb.ResponseURL != e.ResponseURL {
		t.Fatalf("callback = %+v", cb)
	}
	if _, ok := e.WaitAck(wait); !ok {
		t.Fatal("click not acked")
	}
	m, ok := s.WaitMessage(func(m slackfake.Message) bool { return m.TS == ts && m.Updated == 1 }, wait)
	if !ok || m.Text != "extended" || m.Blocks != nil || len(m.History) != 2 || m.History[1].Via != "response_url" {
		t.Fatalf("message = %+v", m)
	}

	// A button the message does not have still carries a block_id.
	s.Click("U1", "C1", ts, "dismiss", "")
	if cb = <-got; cb.ActionCallback.BlockActions[0].BlockID != "actions" {
		t.Fatalf("callback = %+v", cb)
	}
	if m, ok = s.WaitMessage(func(m slackfake.Message) bool { return m.TS == ts && m.Deleted }, wait); !ok || m.Updated != 2 {
		t.Fatalf("message = %+v", m)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("x", false)); err == nil {
		t.Fatal("update of a deleted message succeeded")
	}
}

func TestDisconnectReconnects(t *testing.T) {
	s := newFake(t)
	cli := quietClient(newAPI(s, appToken))
	ackAll(t, cli, nil)
	if !s.WaitConnected(1, wait) {
		t.Fatal("no connection")
	}
	s.Disconnect("refresh_requested")
	e := s.SlashCommand("U1", "C1", "list") // held back for the next connection
	if _, ok := e.WaitAck(wait); !ok {
		t.Fatal("not acked after reconnect")
	}
	if !s.WaitConnected(2, wait) || s.Connections() != 2 {
		t.Fatalf("connections = %d", s.Connections())
	}
}

func TestDropReconnectsAndQueues(t *testing.T) {
	s := newFake(t)
	// An envelope sent before any client connects waits for the connection.
	early := make(chan *slackfake.Envelope, 1)
	go func() { early <- s.SlashCommand("U1", "C1", "early") }()
	cli := quietClient(newAPI(s, appToken))
	ackAll(t, cli, nil)
	e := <-early
	if _, ok := e.WaitAck(wait); !ok {
		t.Fatal("queued envelope not acked")
	}
	s.DropConnection()
	if !s.WaitConnected(2, wait) || s.Connections() != 2 {
		t.Fatalf("connections = %d", s.Connections())
	}
	if _, ok := s.SlashCommand("U1", "C1", "late").WaitAck(wait); !ok {
		t.Fatal("not acked after drop")
	}
}

func TestInvalidAuthIsFatal(t *testing.T) {
	for name, setup := range map[string]func(*slackfake.Server) string{
		"scripted":    func(s *slackfake.Server) string { s.FailConnectionsOpen("invalid_auth"); return appToken },
		"wrong token": func(*slackfake.Server) string { return "xapp-wrong" },
	} {
		t.Run(name, func(t *testing.T) {
			s := newFake(t)
			cli := quietClient(newAPI(s, setup(s)))
			go func() {
				for range cli.Events {
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := cli.RunContext(ctx); err == nil || err.Error() != "invalid_auth" {
				t.Fatalf("RunContext = %v", err)
			}
			if s.Connections() != 0 {
				t.Fatal("connection opened")
			}
		})
	}
}

func TestPingsKeepConnectionAlive(t *testing.T) {
	s := newFake(t)
	cli := quietClient(newAPI(s, appToken), socketmode.OptionPingInterval(2*time.Second))
	ackAll(t, cli, nil)
	if !s.WaitConnected(1, wait) {
		t.Fatal("no connection")
	}
	time.Sleep(4500 * time.Millisecond)
	if !s.Connected() || s.Connections() != 1 {
		t.Fatalf("reconnected: connections = %d", s.Connections())
	}
}

func TestWebAPI(t *testing.T) {
	s := newFake(t)
	s.AddUser("U1", "alice", "America/New_York")
	s.SetGroup("S1", "U1", "U2")
	api := newAPI(s, appToken)

	if r, err := api.AuthTest(); err != nil || r.UserID != slackfake.BotUserID {
		t.Fatal(r, err)
	}
	_, ts1, err := api.PostMessage("C1", slack.MsgOptionText("one", false))
	if err != nil {
		t.Fatal(err)
	}
	_, ts2, _ := api.PostMessage("C1", slack.MsgOptionText("two", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "two", false, false), nil, nil)))
	if !(ts2 > ts1) || !strings.HasPrefix(ts1, "1700000000.") {
		t.Fatalf("ts %q %q", ts1, ts2)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts2, slack.MsgOptionText("two v2", false), slack.MsgOptionBlocks()); err != nil {
		t.Fatal(err)
	}
	m, ok := s.Message("C1", ts2)
	if !ok || m.Text != "two v2" || m.Blocks != nil || m.Updated != 1 || m.History[0].Blocks == nil {
		t.Fatalf("message = %+v", m)
	}
	var se slack.SlackErrorResponse
	if _, _, _, err := api.UpdateMessage("C1", "1.2", slack.MsgOptionText("x", false)); !errors.As(err, &se) || se.Err != "message_not_found" {
		t.Fatalf("update unknown = %v", err)
	}
	if ts, err := api.PostEphemeral("C1", "U1", slack.MsgOptionText("psst", false)); err != nil || ts == "" {
		t.Fatal(ts, err)
	}
	if msgs := s.Messages(); len(msgs) != 3 || !msgs[2].Ephemeral || msgs[2].User != "U1" {
		t.Fatalf("messages = %+v", msgs)
	}
	u, err := api.GetUserInfo("U1")
	if err != nil || u.TZ != "America/New_York" || (u.TZOffset != -5*3600 && u.TZOffset != -4*3600) || u.Name != "alice" {
		t.Fatal(u, err)
	}
	if _, err := api.GetUserInfo("U404"); err == nil || err.Error() != "user_not_found" {
		t.Fatal(err)
	}
	if members, err := api.GetUserGroupMembers("S1"); err != nil || len(members) != 2 {
		t.Fatal(members, err)
	}
	if _, err := api.GetUserGroupMembers("S404"); err == nil || err.Error() != "no_such_subteam" {
		t.Fatal(err)
	}
	if c, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C1"}); err != nil || c.ID != "C1" {
		t.Fatal(c, err)
	}
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	if _, _, err := bad.PostMessage("C1", slack.MsgOptionText("x", false)); err == nil || err.Error() != "invalid_auth" {
		t.Fatal(err)
	}
	s.FailMethod("users.info", "user_not_visible", 1)
	if _, err := api.GetUserInfo("U1"); err == nil || err.Error() != "user_not_visible" {
		t.Fatal(err)
	}
	if _, err := api.GetUserInfo("U1"); err != nil {
		t.Fatal(err)
	}
	for _, l := range s.Log() {
		if strings.Contains(l, botToken) {
			t.Fatalf("token logged: %s", l)
		}
	}
	if !strings.Contains(strings.Join(s.Log(), "\n"), "text=two v2") {
		t.Fatalf("log = %q", s.Log())
	}
}

func TestRateLimit(t *testing.T) {
	s := newFake(t)
	api := newAPI(s, appToken)
	s.RateLimit("chat.postMessage", 2*time.Second, 1)
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false)); err != nil {
		t.Fatal(err)
	}
	if s.Calls("chat.postMessage") != 2 || len(s.Messages()) != 1 {
		t.Fatalf("calls %d", s.Calls("chat.postMessage"))
	}
}

func TestRedeliverAndRaw(t *testing.T) {
	s := newFake(t)
	cli := quietClient(newAPI(s, appToken))
	seen := make(chan socketmode.Event, 20)
	ackAll(t, cli, seen)
	<-seen // hello
	e := s.SlashCommand("U1", "C1", "list")
	if _, ok := e.WaitAck(wait); !ok {
		t.Fatal("no ack")
	}
	first := <-seen
	s.Redeliver(e)
	retry := <-seen
	if retry.Request.EnvelopeID != e.ID || retry.Request.RetryAttempt != 1 || retry.Request.RetryReason != "timeout" ||
		first.Request.RetryAttempt != 0 {
		t.Fatalf("retry = %+v", retry.Request)
	}
	deadline := time.Now().Add(wait)
	for s.Acks(e.ID) != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Acks(e.ID) != 2 || len(s.Violations()) != 0 {
		t.Fatalf("acks %d violations %v", s.Acks(e.ID), s.Violations())
	}
	// An events_api envelope sent raw is acked; a malformed one is not.
	ev := s.SendRaw([]byte(`{"envelope_id":"raw-1","type":"events_api","accepts_response_payload":false,"payload":{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","text":"hi","channel":"C1","ts":"1.2"}}}`))
	if _, ok := ev.WaitAck(wait); !ok {
		t.Fatal("raw envelope not acked")
	}
	bad := s.SendRaw([]byte(`{"envelope_id":"raw-2","type":"interactive","payload":[1,2]}`))
	if bad.Sent.IsZero() {
		t.Fatal("raw not sent")
	}
	if _, ok := bad.WaitAck(300 * time.Millisecond); ok {
		t.Fatal("undecodable interaction unexpectedly acked")
	}
}

// TestProtocolViolations drives the socket with a raw gorilla client to
// check what slack-go never sends: oversized, duplicate and unknown acks.
func TestProtocolViolations(t *testing.T) {
	s := newFake(t)
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+appToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var open struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&open)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || !open.OK {
		t.Fatalf("open = %+v", open)
	}
	u, _ := url.Parse(open.URL)
	q := u.Query()
	q.Set("debug_reconnects", "true")
	u.RawQuery = q.Encode()
	conn, _, err := websocket.DefaultDialer.Dial(u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, hello, err := conn.ReadMessage(); err != nil || !strings.Contains(string(hello), `"type":"hello"`) {
		t.Fatalf("hello = %s, %v", hello, err)
	}
	if _, _, err := websocket.DefaultDialer.Dial(open.URL, nil); err == nil {
		t.Fatal("ticket reused")
	}
	go func() { // keep reading so pings are answered and envelopes consumed
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	e := s.SlashCommand("U1", "C1", "x")
	big, _ := json.Marshal(map[string]any{"envelope_id": e.ID, "payload": map[string]string{"text": strings.Repeat("a", slackfake.MaxAckSize)}})
	for _, msg := range []string{string(big), `{"envelope_id":"` + e.ID + `"}`, `{"envelope_id":"` + e.ID + `"}`, `{"envelope_id":"nope"}`, `not json`} {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(wait)
	for len(s.Violations()) < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	v := strings.Join(s.Violations(), "\n")
	for _, want := range []string{"bytes (limit", "duplicate ack", "unknown", "malformed"} {
		if !strings.Contains(v, want) {
			t.Errorf("violations %q lack %q", v, want)
		}
	}
	if s.Acks(e.ID) != 2 {
		t.Errorf("acks = %d (oversized ack must be dropped)", s.Acks(e.ID))
	}
}

func TestConcurrentEnvelopes(t *testing.T) {
	s := newFake(t)
	ackAll(t, quietClient(newAPI(s, appToken)), nil)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			e := s.SlashCommand("U1", "C1", fmt.Sprint("list ", i))
			if _, ok := e.WaitAck(wait); !ok || s.Acks(e.ID) != 1 {
				t.Errorf("envelope %s: acks %d", e.ID, s.Acks(e.ID))
			}
		})
	}
	wg.Wait()
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}

// A URL asked for and never used (leasebot check tries the app token so)
// counts as a connection opened but not as a hello; a wrong app token gets
// invalid_auth and no URL.
func TestConnectionsOpenWithoutConnecting(t *testing.T) {
	s := newFake(t)
	if _, u, err := newAPI(s, appToken).StartSocketModeContext(context.Background()); err != nil || !strings.HasPrefix(u, "ws://") {
		t.Fatalf("apps.connections.open = %q, %v", u, err)
	}
	if s.Connections() != 1 || s.Hellos() != 0 {
		t.Fatalf("after an unused URL: connections %d, hellos %d; want 1, 0", s.Connections(), s.Hellos())
	}
	if _, u, err := newAPI(s, "xapp-wrong").StartSocketModeContext(context.Background()); slackErr(err).Err != "invalid_auth" || u != "" {
		t.Fatalf("a wrong app token: %q, %v", u, err)
	}
	cli := quietClient(newAPI(s, appToken))
	ackAll(t, cli, nil)
	if !s.WaitConnected(1, wait) || s.Hellos() != 1 || s.Connections() != 2 {
		t.Fatalf("after connecting: connections %d, hellos %d; want 2, 1", s.Connections(), s.Hellos())
	}
}
