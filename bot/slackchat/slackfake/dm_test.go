package slackfake_test

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
)

func TestDirectMessage(t *testing.T) {
	s := newFake(t)
	api := newAPI(s, appToken)
	dm := slackfake.DMChannel("U1")
	if !strings.HasPrefix(dm, "D") || dm != slackfake.DMChannel("U1") || dm == slackfake.DMChannel("U2") {
		t.Fatalf("DMChannel = %q", dm)
	}
	text := "<@U1>, <!subteam^S1|@ml-team>: nb-1 stops <!date^1700000000^{time}|soon> & more"
	ch, ts, err := api.PostMessage("U1", slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(section(text), slack.NewActionBlock("lease", button("extend", "nb-1", "Extend 2h"))))
	if err != nil || ch != dm {
		t.Fatalf("post to a user: %q, %v", ch, err)
	}
	m, ok := s.Message(dm, ts)
	if !ok || m.Text != text || !strings.Contains(string(m.Blocks), text) {
		t.Fatalf("DM message = %+v", m)
	}
	if _, _, _, err := api.UpdateMessage(dm, ts, slack.MsgOptionText("extended", false)); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message(dm, ts); m.Text != "extended" || m.Updated != 1 {
		t.Fatalf("updated DM message = %+v", m)
	}
	c, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: dm})
	if err != nil || !c.IsIM || c.User != "U1" {
		t.Fatalf("conversations.info = %+v, %v", c, err)
	}

	// A command typed in the DM and a click on the DM message.
	cli := quietClient(api)
	seen := make(chan socketmode.Event, 10)
	ackAll(t, cli, seen)
	next(t, seen) // hello
	s.SlashCommand("U1", dm, "list")
	if cmd, ok := next(t, seen).Data.(slack.SlashCommand); !ok || cmd.ChannelID != dm || cmd.ChannelName != "directmessage" {
		t.Fatalf("command from a DM = %+v", cmd)
	}
	s.Click("U1", dm, ts, "extend", "nb-1")
	cb, ok := next(t, seen).Data.(slack.InteractionCallback)
	if !ok || cb.Channel.ID != dm || cb.Channel.Name != "directmessage" || cb.Container.ChannelID != dm ||
		cb.Container.MessageTs != ts || cb.ActionCallback.BlockActions[0].BlockID != "lease" {
		t.Fatalf("click in a DM = %+v", cb)
	}
}
