package slackchat

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/leasebot/leasebot/bot"
)

// escape applies Slack's three mrkdwn escapes.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// DateToken renders a time as Slack's date token, shown in each reader's own
// time zone, with a UTC fallback.
func DateToken(unix int64, fallback string) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", unix, fallback)
}

// Mrkdwn renders core text as Slack mrkdwn.
func Mrkdwn(t bot.Text) string {
	var b strings.Builder
	for _, s := range t {
		switch s.Kind {
		case bot.Strong:
			b.WriteString("*" + escape(s.Text) + "*")
		case bot.Code:
			b.WriteString("`" + escape(s.Text) + "`")
		case bot.Time:
			b.WriteString(DateToken(s.Time.Unix(), s.Time.UTC().Format("2006-01-02 15:04 UTC")))
		case bot.User:
			b.WriteString("<@" + s.Text + ">")
		case bot.Group:
			b.WriteString("<!subteam^" + s.Text + ">")
		default:
			b.WriteString(escape(s.Text))
		}
	}
	return b.String()
}

// sectionLimit is Slack's limit on a section block's text.
const sectionLimit = 3000

// msgOptions renders a core message as text plus blocks: sections of at most
// 3000 characters, split at line ends, and an actions block for buttons.
func msgOptions(m bot.Message) []slack.MsgOption {
	text := Mrkdwn(m.Text)
	blocks := messageBlocks(text, m.Buttons, "leasebot_actions", 0)
	fallback := text
	if len(fallback) > 3000 {
		fallback = split(fallback, sectionLimit)[0] // at a line end or character boundary
	}
	return []slack.MsgOption{slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)}
}

// messageBlocks renders mrkdwn text and buttons as Block Kit blocks. A
// button's action_id is its action and an index, counted from first: Slack
// wants action_ids unique across a message or view, and actionOf strips the
// index again.
func messageBlocks(text string, buttons []bot.Button, actionsID string, first int) []slack.Block {
	var blocks []slack.Block
	for _, chunk := range split(text, sectionLimit) {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, chunk, false, false), nil, nil))
	}
	if len(buttons) > 0 {
		var elems []slack.BlockElement
		for i, bt := range buttons {
			btn := slack.NewButtonBlockElement(fmt.Sprintf("%s.%d", bt.Action, first+i), bt.Value,
				slack.NewTextBlockObject(slack.PlainTextType, bt.Label, false, false))
			if bt.Danger {
				btn = btn.WithStyle(slack.StyleDanger)
			} else if i == 0 {
				btn = btn.WithStyle(slack.StylePrimary)
			}
			elems = append(elems, btn)
		}
		blocks = append(blocks, slack.NewActionBlock(actionsID, elems...))
	}
	return blocks
}

// maxHomeBlocks is Slack's limit on the blocks of one view.
const maxHomeBlocks = 100

// homeView renders a Home as an App Home view within Slack's limits: items
// that do not fit are left out, and a last line says how many.
func homeView(h bot.Home) slack.HomeTabViewRequest {
	var blocks []slack.Block
	if len(h.Title) > 0 {
		title := h.Title.String()
		if len([]rune(title)) > 150 {
			title = string([]rune(title)[:149]) + "…"
		}
		blocks = append(blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, false, false)))
	}
	if len(h.Intro) > 0 {
		blocks = append(blocks, messageBlocks(Mrkdwn(h.Intro), nil, "", 0)...)
	}
	if len(h.Items) == 0 && len(h.Empty) > 0 {
		blocks = append(blocks, messageBlocks(Mrkdwn(h.Empty), nil, "", 0)...)
	}
	if len(h.Items) > 0 {
		blocks = append(blocks, slack.NewDividerBlock())
	}
	// A notebook is its section and its buttons, two blocks and no divider
	// of its own, so that 48 fit in a view rather than 32.
	const reserve = 2 // the divider and the "more" line
	buttons := 0      // so far: action_ids are numbered across the whole view
	for i, it := range h.Items {
		item := messageBlocks(Mrkdwn(it.Text), it.Buttons, fmt.Sprintf("home_actions_%d", i), buttons)
		buttons += len(it.Buttons)
		if len(blocks)+len(item) > maxHomeBlocks-reserve {
			more := fmt.Sprintf("…and %d more not shown here. `/notebook list` in a channel lists them all.", len(h.Items)-i)
			blocks = append(blocks, slack.NewDividerBlock(), slack.NewContextBlock("home_more", slack.NewTextBlockObject(slack.MarkdownType, more, false, false)))
			break
		}
		blocks = append(blocks, item...)
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

// split cuts s into pieces of at most n bytes, at line ends where it can.
func split(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := strings.LastIndexByte(s[:n], '\n')
		if cut <= 0 {
			cut = n
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
		}
		out = append(out, s[:cut])
		s = strings.TrimPrefix(s[cut:], "\n")
	}
	if s == "" && len(out) > 0 {
		return out
	}
	return append(out, s)
}

// actionOf strips the button's index from an action ID.
func actionOf(actionID string) string {
	if i := strings.LastIndexByte(actionID, '.'); i > 0 {
		return actionID[:i]
	}
	return actionID
}
