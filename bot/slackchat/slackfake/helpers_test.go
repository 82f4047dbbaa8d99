package slackfake_test

import (
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// next returns the next event on ch, failing the test after wait.
func next(t *testing.T, ch <-chan socketmode.Event) socketmode.Event {
	t.Helper()
	select {
	case evt := <-ch:
		return evt
	case <-time.After(wait):
		t.Fatal("no event")
		return socketmode.Event{}
	}
}

// section is a mrkdwn section block.
func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

// button is a button element with a plain_text label.
func button(actionID, value, label string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, value, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
}

// slackErr is the Slack error inside err, zero if there is none.
func slackErr(err error) slack.SlackErrorResponse {
	var se slack.SlackErrorResponse
	errors.As(err, &se)
	return se
}
