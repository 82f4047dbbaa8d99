package slackfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
)

// postBlocks posts raw blocks with chat.postMessage and returns Slack's error
// code ("" when ok) and response_metadata.messages.
func postBlocks(t *testing.T, s *slackfake.Server, blocks string) (string, []string) {
	t.Helper()
	resp, err := http.PostForm(s.APIURL()+"chat.postMessage", url.Values{"token": {botToken}, "channel": {"C1"},
		"text": {"fallback"}, "blocks": {blocks}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		OK       bool   `json:"ok"`
		Error    string `json:"error"`
		Metadata struct {
			Messages []string `json:"messages"`
		} `json:"response_metadata"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.OK != (out.Error == "") {
		t.Fatalf("reply %+v", out)
	}
	return out.Error, out.Metadata.Messages
}

func repeat(n int, item string) string {
	return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
}

const btn = `{"type":"button","text":{"type":"plain_text","text":"Go"},"action_id":"go","value":"v"}`

func TestBlockKitValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	sec := func(text string) string { return `{"type":"section","text":{"type":"mrkdwn","text":"` + text + `"}}` }
	button := func(fields string) string { return `{"type":"actions","elements":[{"type":"button",` + fields + `}]}` }
	valid := []string{
		`[` + sec(long(3000)) + `]`,
		`[{"type":"section","text":{"type":"plain_text","text":"x","emoji":true},"fields":[` + repeat(10, `{"type":"mrkdwn","text":"f"}`) + `]}]`,
		`[{"type":"section","fields":[{"type":"plain_text","text":"only fields"}]}]`,
		`[{"type":"section","text":{"type":"mrkdwn","text":"x"},"accessory":` + btn + `}]`,
		`[{"type":"divider"},{"type":"header","text":{"type":"plain_text","text":"` + long(150) + `"}}]`,
		`[{"type":"context","elements":[` + repeat(9, `{"type":"mrkdwn","text":"c"}`) + `,{"type":"image","image_url":"https://x/y.png","alt_text":"y"}]}]`,
		`[{"type":"actions","block_id":"` + long(255) + `","elements":[` + strings.Replace(btn, `"go"`, `"`+long(255)+`"`, 1) + `]}]`,
		`[` + button(`"text":{"type":"plain_text","text":"`+long(75)+`"},"action_id":"a","value":"`+long(2000)+`","style":"danger",`+
			`"confirm":{"title":{"type":"plain_text","text":"Sure?"},"text":{"type":"mrkdwn","text":"*really*"},`+
			`"confirm":{"type":"plain_text","text":"Yes"},"deny":{"type":"plain_text","text":"No"},"style":"danger"}`) + `]`,
		`[` + button(`"text":{"type":"plain_text","text":"no id"}`) + `,` + button(`"text":{"type":"plain_text","text":"no id either"}`) + `]`,
		`[` + repeat(50, `{"type":"divider"}`) + `]`,
		`[` + sec(`<@U1> and <!subteam^S1> and <!date^1700000000^{time}|t>`) + `]`,
	}
	for i, blocks := range valid {
		if code, msgs := postBlocks(t, s0(t), blocks); code != "" {
			t.Errorf("valid %d refused: %s %v", i, code, msgs)
		}
	}

	invalid := []struct{ name, blocks, why string }{
		{"not an array", `{"type":"divider"}`, "array of blocks"},
		{"51 blocks", `[` + repeat(51, `{"type":"divider"}`) + `]`, "no more than 50 items"},
		{"unknown block", `[{"type":"rich_text","elements":[]}]`, `unsupported block type "rich_text"`},
		{"section text too long", `[` + sec(long(3001)) + `]`, "/blocks/0/text/text"},
		{"section text empty", `[` + sec("") + `]`, "more than 0 characters"},
		{"section text type", `[{"type":"section","text":{"type":"html","text":"x"}}]`, "/blocks/0/text/type"},
		{"section empty", `[{"type":"section"}]`, "text or fields"},
		{"11 fields", `[{"type":"section","fields":[` + repeat(11, `{"type":"mrkdwn","text":"f"}`) + `]}]`, "/blocks/0/fields"},
		{"26 elements", `[{"type":"actions","elements":[` + repeat(26, `{"type":"button","text":{"type":"plain_text","text":"b"}}`) + `]}]`, "no more than 25 items"},
		{"no elements", `[{"type":"actions","elements":[]}]`, "at least 1"},
		{"button text too long", `[` + button(`"text":{"type":"plain_text","text":"`+long(76)+`"}`) + `]`, "/blocks/0/elements/0/text/text"},
		{"button text mrkdwn", `[` + button(`"text":{"type":"mrkdwn","text":"*b*"}`) + `]`, "plain_text"},
		{"action_id too long", `[` + button(`"text":{"type":"plain_text","text":"b"},"action_id":"`+long(256)+`"`) + `]`, "/action_id"},
		{"action_id twice", `[{"type":"actions","elements":[` + btn + `]},{"type":"section","text":{"type":"mrkdwn","text":"x"},"accessory":` + btn + `}]`, `action_id "go" is already used`},
		{"value too long", `[` + button(`"text":{"type":"plain_text","text":"b"},"value":"`+long(2001)+`"`) + `]`, "/value"},
		{"style", `[` + button(`"text":{"type":"plain_text","text":"b"},"style":"secondary"`) + `]`, "primary or danger"},
		{"confirm title", `[` + button(`"text":{"type":"plain_text","text":"b"},"confirm":{"title":{"type":"plain_text","text":"`+long(101)+`"},"text":{"type":"plain_text","text":"t"},"confirm":{"type":"plain_text","text":"y"},"deny":{"type":"plain_text","text":"n"}}`) + `]`, "/confirm/title/text"},
		{"select", `[{"type":"actions","elements":[{"type":"static_select","action_id":"s"}]}]`, `unsupported element type "static_select"`},
		{"header too long", `[{"type":"header","text":{"type":"plain_text","text":"` + long(151) + `"}}]`, "/blocks/0/text/text"},
		{"header mrkdwn", `[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]`, "plain_text"},
		{"11 context elements", `[{"type":"context","elements":[` + repeat(11, `{"type":"mrkdwn","text":"c"}`) + `]}]`, "no more than 10 items"},
		{"block_id too long", `[{"type":"divider","block_id":"` + long(256) + `"}]`, "/blocks/0/block_id"},
		{"block_id twice", `[{"type":"divider","block_id":"a"},{"type":"divider","block_id":"a"}]`, `block_id "a" is already used`},
	}
	for _, c := range invalid {
		s := s0(t)
		code, msgs := postBlocks(t, s, c.blocks)
		if code != "invalid_blocks" || len(msgs) != 1 || !strings.Contains(msgs[0], c.why) {
			t.Errorf("%s: %s %v, want invalid_blocks about %q", c.name, code, msgs, c.why)
		}
		if v := s.Violations(); len(v) != 1 || !strings.Contains(v[0], c.why) || !strings.Contains(v[0], "chat.postMessage") {
			t.Errorf("%s: violations %v", c.name, v)
		}
		if len(s.Messages()) != 0 {
			t.Errorf("%s: refused message stored", c.name)
		}
	}
}

// s0 is a fresh fake for one case.
func s0(t *testing.T) *slackfake.Server { return newFake(t) }

// TestBlockKitOnEverySurface checks that chat.update, chat.postEphemeral
// and response_url posts refuse what chat.postMessage refuses.
func TestBlockKitOnEverySurface(t *testing.T) {
	s := newFake(t)
	api := newAPI(s, appToken)
	tooLong := slack.NewActionBlock("a", button("go", "v", strings.Repeat("x", 76)))
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("x", false), slack.MsgOptionBlocks(section("ok")))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = api.PostMessage("C1", slack.MsgOptionBlocks(tooLong))
	if se := slackErr(err); se.Err != "invalid_blocks" || !strings.Contains(strings.Join(se.ResponseMetadata.Messages, ""), "/blocks/0/elements/0/text/text") {
		t.Fatalf("postMessage: %v %+v", err, se.ResponseMetadata)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionBlocks(tooLong)); slackErr(err).Err != "invalid_blocks" {
		t.Fatalf("update: %v", err)
	}
	if m, _ := s.Message("C1", ts); m.Updated != 0 {
		t.Fatal("refused update applied")
	}
	if _, err := api.PostEphemeral("C1", "U1", slack.MsgOptionBlocks(tooLong)); slackErr(err).Err != "invalid_blocks" {
		t.Fatalf("postEphemeral: %v", err)
	}

	cli := quietClient(api)
	seen := make(chan socketmode.Event, 10)
	ackAll(t, cli, seen)
	next(t, seen)
	s.SlashCommand("U1", "C1", "list")
	cmd := next(t, seen).Data.(slack.SlashCommand)
	_, _, err = api.PostMessage("", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionBlocks(tooLong))
	if slackErr(err).Err != "invalid_blocks" {
		t.Fatalf("response_url: %v", err)
	}
	if len(s.Responses()) != 0 {
		t.Fatal("refused response recorded")
	}
	v := strings.Join(s.Violations(), "\n")
	for _, via := range []string{"chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"} {
		if !strings.Contains(v, via+": invalid_blocks") {
			t.Errorf("no violation for %s in %q", via, v)
		}
	}
}
