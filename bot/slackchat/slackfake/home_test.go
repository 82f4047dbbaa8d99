package slackfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
)

func homeView(blocks ...slack.Block) slack.HomeTabViewRequest {
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

func TestViewsPublish(t *testing.T) {
	s := newFake(t)
	api := newAPI(s, appToken)
	if _, _, ok := s.Home("U1"); ok {
		t.Fatal("home before any publish")
	}
	resp, err := api.PublishView("U1", homeView(section("*My notebooks* <@U1>"),
		slack.NewActionBlock("nb-1", button("extend", "nb-1", "Extend 2h"))), "")
	if err != nil || resp.View.ID == "" || resp.View.Hash == "" || resp.View.Type != slack.VTHomeTab || len(resp.View.Blocks.BlockSet) != 2 {
		t.Fatalf("publish = %+v, %v", resp, err)
	}
	view, version, ok := s.Home("U1")
	var got slack.View
	if !ok || version != 1 || json.Unmarshal(view, &got) != nil || got.ID != resp.View.ID || got.Hash != resp.View.Hash ||
		!strings.Contains(string(view), "*My notebooks* <@U1>") {
		t.Fatalf("home = %s, %d, %v", view, version, ok)
	}

	// hash guards against races: the current one passes, a stale one not.
	resp2, err := api.PublishView("U1", homeView(section("v2")), resp.View.Hash)
	if err != nil || resp2.View.ID != resp.View.ID || resp2.View.Hash == resp.View.Hash {
		t.Fatalf("publish with the current hash = %+v, %v", resp2, err)
	}
	if _, err := api.PublishView("U1", homeView(section("v3")), resp.View.Hash); slackErr(err).Err != "hash_conflict" {
		t.Fatalf("stale hash: %v", err)
	}
	if v, ok := s.WaitHome("U1", func(v json.RawMessage) bool { return strings.Contains(string(v), "v2") }, wait); !ok || v == nil {
		t.Fatal("WaitHome")
	}
	if _, version, _ := s.Home("U1"); version != 2 {
		t.Fatalf("version = %d", version)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}

	many := make([]slack.Block, 101)
	for i := range many {
		many[i] = slack.NewDividerBlock()
	}
	big := make([]slack.Block, 100)
	for i := range big {
		big[i] = section(strings.Repeat("x", 2600))
	}
	bad := []struct {
		name, user string
		view       slack.HomeTabViewRequest
		code, why  string
	}{
		{"101 blocks", "U1", homeView(many...), "invalid_arguments", "no more than 100 items"},
		{"over 250 kB", "U1", homeView(big...), "view_too_large", "more than 250000"},
		{"a modal", "U1", slack.HomeTabViewRequest{Type: slack.VTModal, Blocks: slack.Blocks{BlockSet: []slack.Block{section("x")}}}, "invalid_arguments", "type home"},
		{"a channel for a user", "C1", homeView(section("x")), "invalid_arguments", "user ID"},
		{"invalid block", "U1", homeView(section(strings.Repeat("x", 3001))), "invalid_arguments", "/view/blocks/0/text/text"},
	}
	for _, c := range bad {
		before := len(s.Violations())
		_, err := api.PublishView(c.user, c.view, "")
		se := slackErr(err)
		if se.Err != c.code || len(se.ResponseMetadata.Messages) != 1 || !strings.Contains(se.ResponseMetadata.Messages[0], c.why) {
			t.Errorf("%s: %v %+v", c.name, err, se.ResponseMetadata)
		}
		if v := s.Violations(); len(v) != before+1 || !strings.Contains(v[before], c.why) {
			t.Errorf("%s: violations %v", c.name, v)
		}
	}
	if _, version, _ := s.Home("U1"); version != 2 {
		t.Fatalf("a refused view was stored: version %d", version)
	}

	// The form-encoded call works as well.
	resp3, err := http.PostForm(s.APIURL()+"views.publish", url.Values{"token": {botToken}, "user_id": {"U2"},
		"view": {`{"type":"home","blocks":[{"type":"divider"}]}`}})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		OK   bool       `json:"ok"`
		View slack.View `json:"view"`
	}
	_ = json.NewDecoder(resp3.Body).Decode(&out)
	resp3.Body.Close()
	if !out.OK || out.View.ID == "" {
		t.Fatalf("form publish = %+v", out)
	}
	if s.Calls("views.publish") != 9 {
		t.Fatalf("calls = %d", s.Calls("views.publish"))
	}
}

func TestHomeTabDisabled(t *testing.T) {
	s := slackfake.New(slackfake.Options{NoHomeTab: true})
	t.Cleanup(s.Close)
	if _, err := newAPI(s, appToken).PublishView("U1", homeView(section("x")), ""); slackErr(err).Err != "not_enabled" {
		t.Fatalf("publish with the Home tab off: %v", err)
	}
}

func TestAppHomeOpened(t *testing.T) {
	s := newFake(t)
	api := newAPI(s, appToken)
	cli := quietClient(api)
	h := socketmode.NewSocketmodeHandler(cli)
	got := make(chan *slackevents.AppHomeOpenedEvent, 2)
	h.HandleEvents(slackevents.AppHomeOpened, func(evt *socketmode.Event, c *socketmode.Client) {
		_ = c.Ack(*evt.Request)
		outer := evt.Data.(slackevents.EventsAPIEvent)
		ev, _ := outer.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
		if outer.Type != slackevents.CallbackEvent || outer.TeamID != slackfake.TeamID || outer.APIAppID != slackfake.AppID {
			ev = nil
		}
		got <- ev
	})
	h.HandleDefault(func(*socketmode.Event, *socketmode.Client) {})
	run(t, cli, h.RunEventLoopContext)

	e := s.AppHomeOpened("U1")
	if e.Type != "events_api" || e.Sent.IsZero() {
		t.Fatalf("envelope %+v", e)
	}
	ev := <-got
	if ev == nil || ev.Type != "app_home_opened" || ev.User != "U1" || ev.Channel != slackfake.DMChannel("U1") ||
		ev.Tab != "home" || ev.EventTimeStamp == "" || ev.View != nil {
		t.Fatalf("app_home_opened = %+v", ev)
	}
	if _, ok := e.WaitAck(wait); !ok {
		t.Fatal("not acked")
	}
	var outer map[string]any
	_ = json.Unmarshal(e.Payload, &outer)
	for _, key := range []string{"event_id", "event_time", "team_id", "api_app_id"} {
		if outer[key] == nil {
			t.Errorf("payload lacks %s: %s", key, e.Payload)
		}
	}

	// Once a view is published the event carries it.
	resp, err := api.PublishView("U1", homeView(section("hi")), "")
	if err != nil {
		t.Fatal(err)
	}
	s.AppHomeOpened("U1")
	if ev = <-got; ev == nil || ev.View == nil || ev.View.ID != resp.View.ID || ev.View.Hash != resp.View.Hash {
		t.Fatalf("app_home_opened after publish = %+v", ev)
	}
	s.AppHomeOpenedTab("U1", "messages")
	if ev = <-got; ev == nil || ev.Tab != "messages" || ev.View != nil {
		t.Fatalf("messages tab = %+v", ev)
	}
}

func TestClickHome(t *testing.T) {
	s := newFake(t)
	api := newAPI(s, appToken)
	resp, err := api.PublishView("U1", homeView(section("nb-1"),
		slack.NewActionBlock("home-nb-1", button("extend", "nb-1", "Extend 2h"), button("stop", "nb-1", "Stop"))), "")
	if err != nil {
		t.Fatal(err)
	}
	cli := quietClient(api)
	h := socketmode.NewSocketmodeHandler(cli)
	got := make(chan slack.InteractionCallback, 1)
	h.HandleInteractionBlockAction("extend", func(evt *socketmode.Event, c *socketmode.Client) {
		_ = c.Ack(*evt.Request)
		got <- evt.Data.(slack.InteractionCallback)
	})
	h.HandleDefault(func(*socketmode.Event, *socketmode.Client) {})
	run(t, cli, h.RunEventLoopContext)

	e := s.ClickHome("U1", "extend", "nb-1")
	var cb slack.InteractionCallback
	select {
	case cb = <-got:
	case <-time.After(wait):
		t.Fatal("home click not routed")
	}
	ba := cb.ActionCallback.BlockActions
	if cb.Type != slack.InteractionTypeBlockActions || cb.Container.Type != "view" || cb.Container.ViewID != resp.View.ID ||
		cb.View.ID != resp.View.ID || cb.View.Type != slack.VTHomeTab || cb.View.Hash != resp.View.Hash ||
		len(cb.View.Blocks.BlockSet) != 2 || cb.User.ID != "U1" || cb.TriggerID == "" {
		t.Fatalf("callback = %+v", cb)
	}
	if cb.ResponseURL != "" || e.ResponseURL != "" || cb.Channel.ID != "" || cb.Container.ChannelID != "" || cb.Message.Timestamp != "" {
		t.Fatalf("a Home click must not carry a channel, message or response_url: %+v", cb)
	}
	if len(ba) != 1 || ba[0].ActionID != "extend" || ba[0].BlockID != "home-nb-1" || ba[0].Value != "nb-1" || ba[0].Text.Text != "Extend 2h" {
		t.Fatalf("actions = %+v", ba)
	}
	var raw map[string]any
	_ = json.Unmarshal(e.Payload, &raw)
	for _, key := range []string{"channel", "message", "response_url"} {
		if _, has := raw[key]; has {
			t.Errorf("payload has %s: %s", key, e.Payload)
		}
	}
	if _, ok := e.WaitAck(wait); !ok {
		t.Fatal("not acked")
	}
}

// Two fakes never hand out the same event_id, as they never hand out the
// same envelope ID: a bot's store remembers both across runs.
func TestEventIDsDifferAcrossFakes(t *testing.T) {
	var ids []string
	for range 2 {
		s := newFake(t)
		cli := quietClient(newAPI(s, appToken))
		ackAll(t, cli, nil)
		e := s.AppHomeOpened("U1")
		var outer struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(e.Payload, &outer); err != nil || outer.EventID == "" {
			t.Fatalf("payload %s: %v", e.Payload, err)
		}
		if !strings.HasPrefix(outer.EventID, "Ev") || strings.ToUpper(outer.EventID[2:]) != outer.EventID[2:] {
			t.Errorf("event_id %q is not shaped like Slack's (Ev, then upper-case letters and digits)", outer.EventID)
		}
		ids = append(ids, outer.EventID)
	}
	if ids[0] == ids[1] {
		t.Errorf("two fakes sent the same event_id %q", ids[0])
	}
}
