package bot

import (
	"strings"
	"time"
)

// SpanKind says how an adapter renders a span of text.
type SpanKind uint8

// Span kinds.
const (
	Plain  SpanKind = iota // literal text, escaped by the adapter as its format needs
	Strong                 // emphasised text, such as a notebook name
	Code                   // an identifier, such as a notebook ID
	Time                   // a point in time, rendered in the reader's own time zone
	User                   // a chat user ID, rendered as a mention
	Group                  // a chat user-group ID, rendered as a mention of the group
)

// Span is one piece of a message's text.
type Span struct {
	Kind SpanKind
	Text string
	Time time.Time
}

// Text is a message body as spans, so that each adapter renders names, IDs,
// users and times in its own format (Slack's date token, a terminal's local time).
type Text []Span

// Concat appends the spans of u.
func (t Text) Concat(u Text) Text { return append(t, u...) }

// Plain appends literal text.
func (t Text) Plain(s string) Text { return append(t, Span{Kind: Plain, Text: s}) }

// Strong appends emphasised text.
func (t Text) Strong(s string) Text { return append(t, Span{Kind: Strong, Text: s}) }

// Code appends an identifier.
func (t Text) Code(s string) Text { return append(t, Span{Kind: Code, Text: s}) }

// Time appends a point in time.
func (t Text) Time(at time.Time) Text { return append(t, Span{Kind: Time, Time: at}) }

// User appends a user mention.
func (t Text) User(id string) Text { return append(t, Span{Kind: User, Text: id}) }

// Group appends a user-group mention.
func (t Text) Group(id string) Text { return append(t, Span{Kind: Group, Text: id}) }

// String renders t as plain text with times in UTC, for logs and tests.
func (t Text) String() string {
	var b strings.Builder
	for _, s := range t {
		switch s.Kind {
		case Time:
			b.WriteString(s.Time.UTC().Format("2006-01-02 15:04 UTC"))
		case User, Group:
			b.WriteString("@" + s.Text)
		default:
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

// Button is an action under a message.
type Button struct {
	Action string // action ID, one of the Action… constants
	Value  string // opaque to adapters; handed back in Event.Value
	Label  string
	Danger bool // a destructive choice ("Let it stop", "Stop now")
}

// Message is what the core asks an adapter to show.
type Message struct {
	Text      Text
	Buttons   []Button
	InChannel bool // everyone in the channel sees it; otherwise only the caller
}

func ephemeral(t Text) Message { return Message{Text: t} }
