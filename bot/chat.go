package bot

import (
	"context"
	"errors"
	"time"
)

// Adapter connects the core to one chat: it turns what people do into Events
// for a Handler, and shows the core's Messages. The console adapter (the
// demo) and the Slack adapter implement it; a Teams or Mattermost adapter
// would too. Everything wire-specific (escaping, ID shapes, message formats,
// delivery IDs) stays in the adapter.
type Adapter interface {
	// Run delivers events to h until ctx ends (then it returns nil once the
	// work in flight is done) or the chat refuses the bot for good.
	Run(ctx context.Context, h Handler) error
	// Post shows m at to and returns where it landed.
	Post(ctx context.Context, to Target, m Message) (MessageRef, error)
	// Update replaces a message the bot posted.
	Update(ctx context.Context, ref MessageRef, m Message) error
	Directory
}

// Directory answers questions about chat users.
type Directory interface {
	// TimeZone is the user's time zone, for reading "until 18:30".
	TimeZone(ctx context.Context, user string) (*time.Location, error)
	// GroupMembers lists the user IDs in a user group.
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// HomePublisher is an Adapter that can show each person a home view of
// their own (Slack's App Home). The core publishes it when they open it and
// after each change they make.
type HomePublisher interface {
	PublishHome(ctx context.Context, user string, h Home) error
}

// ErrUndeliverable marks an Adapter error that retrying cannot fix, such as
// a channel the bot is not in: the core does not try that message again.
var ErrUndeliverable = errors.New("the chat refused the message for good")

// Target is where to post: a channel, or a person (a direct message from the app).
type Target struct {
	Channel string
	User    string // set for a direct message; Channel is then empty
}

// MessageRef is where a posted message is: the conversation the chat put it
// in (for a direct message, the chat's own ID for it) and its ID there.
type MessageRef struct {
	Conversation string
	ID           string
}

// Surface is the kind of place an event comes from; it decides which access
// rules apply.
type Surface uint8

// The surfaces.
const (
	InChannel Surface = iota // a channel: its access list applies
	InDirect                 // a direct message with the app: only owners manage their own notebooks
	InHome                   // the app's home view of this person: own notebooks, and those of the person's channels
)

// EventKind says what someone did.
type EventKind uint8

// The kinds of event.
const (
	CommandEvent    EventKind = iota // typed /notebook …
	ClickEvent                       // pressed a button
	HomeOpenedEvent                  // opened the app's home view
)

// Event is one thing a person did in chat, as an adapter hands it to the core.
type Event struct {
	Kind EventKind
	// ID identifies the delivery: the same action delivered twice (a chat
	// retrying, a second replica) has the same ID, so the core acts once.
	// Empty: the adapter vouches that it is delivered once.
	ID      string
	User    string
	Surface Surface
	Channel string // the conversation it happened in; empty in the home view
	Text    string // CommandEvent: the words after the command, as the person meant them (unescaped)
	Action  string // ClickEvent: the button's action ID
	Value   string // ClickEvent: the button's value, as the core set it (never trusted)
	// Message is, for a ClickEvent on a message, the message the button is on.
	Message MessageRef
}

// Reply is what the core answers the person who acted.
type Reply struct {
	Message Message
	// Replace: the reply takes the place of the message whose button was
	// pressed (a message only that person saw, such as a confirmation).
	Replace bool
}

// Handler is the core as an adapter sees it. Handle may block on ModelArts
// and the store; adapters call it from a bounded pool, never from the loop
// that acknowledges deliveries.
type Handler interface {
	Handle(ctx context.Context, e Event) *Reply
}

// HandlerFunc lets a function be a Handler (for tests and wrappers).
type HandlerFunc func(ctx context.Context, e Event) *Reply

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, e Event) *Reply { return f(ctx, e) }

// Home is one person's home view: their notebooks, each with its buttons.
// The adapter decides how much fits; it says how many items it left out.
type Home struct {
	Title Text
	Intro Text
	Items []Message
	Empty Text // shown when Items is empty
}
