package slackchat

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot"
)

// dispatch routes one Socket Mode event: connection events update the
// state; envelopes are acknowledged at once, translated into core events
// and handed to the pool.
func (a *Adapter) dispatch(evt socketmode.Event, h bot.Handler) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.obs.Disconnected()
	case socketmode.EventTypeConnected:
		n := a.connections.Add(1)
		a.obs.Connected(int(n))
		a.log.Info("connected to Slack", "connection", n)
	case socketmode.EventTypeConnectionError:
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			a.log.Warn("Slack connection failed; retrying", "attempt", ce.Attempt, "backoff", ce.Backoff, "err", ce.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		a.fail("invalid_auth")
	case socketmode.EventTypeSlashCommand:
		a.onSlashCommand(evt, h)
	case socketmode.EventTypeInteractive:
		a.onInteractive(evt, h)
	case socketmode.EventTypeEventsAPI:
		a.onEventsAPI(evt, h)
	case socketmode.EventTypeErrorBadMessage:
		a.onBadMessage(evt)
	}
}

func (a *Adapter) ack(req *socketmode.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.sm.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		a.log.Warn("ack failed", "envelope", req.EnvelopeID, "err", err)
	}
	// Ack only queues the frame: let slack-go's writer send it before a
	// worker takes the CPU.
	runtime.Gosched()
}

// firstTime records key and reports whether it was new to this process.
// (The core also claims each delivery ID in its store, across replicas.)
func (a *Adapter) firstTime(key string) bool {
	return a.seen.Add(key, struct{}{}, gocache.DefaultExpiration) == nil
}

// unescape undoes Slack's escaping of &, < and > in command text. One pass,
// so "&amp;lt;" becomes "&lt;", not "<".
var unescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace

// surfaceOf tells a direct message with the app (a D… conversation) from a channel.
func surfaceOf(channel string) bot.Surface {
	if strings.HasPrefix(channel, "D") {
		return bot.InDirect
	}
	return bot.InChannel
}

func (a *Adapter) onSlashCommand(evt socketmode.Event, h bot.Handler) {
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok || evt.Request == nil {
		return
	}
	a.ack(evt.Request)
	id := "slack/command/" + cmd.TriggerID
	if cmd.TriggerID == "" {
		id = "slack/envelope/" + evt.Request.EnvelopeID
	}
	if !a.firstTime("env:"+evt.Request.EnvelopeID) || !a.firstTime(id) {
		a.log.Info("ignored a redelivered slash command", "envelope", evt.Request.EnvelopeID)
		return
	}
	e := bot.Event{Kind: bot.CommandEvent, ID: id, User: cmd.UserID, Channel: cmd.ChannelID,
		Surface: surfaceOf(cmd.ChannelID), Text: unescape(cmd.Text)}
	a.handOff(h, e, replyTo{url: cmd.ResponseURL, channel: cmd.ChannelID, user: cmd.UserID},
		"leasebot is very busy right now and did nothing; please try again in a minute.")
}

// handOff gives an event to the pool; its answer goes to to, or, when the
// pool is full, busy does.
func (a *Adapter) handOff(h bot.Handler, e bot.Event, to replyTo, busy string) {
	a.enqueue(func(ctx context.Context) {
		if r := h.Handle(ctx, e); r != nil {
			a.respond(ctx, to, *r)
		}
	}, func(ctx context.Context) {
		a.respond(ctx, to, bot.Reply{Message: bot.Message{Text: bot.Text{}.Plain(busy)}})
	})
}

func (a *Adapter) onInteractive(evt socketmode.Event, h bot.Handler) {
	if evt.Request == nil {
		return
	}
	a.ack(evt.Request)
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || cb.Type != slack.InteractionTypeBlockActions || !a.firstTime("env:"+evt.Request.EnvelopeID) {
		return
	}
	for _, act := range cb.ActionCallback.BlockActions {
		if act == nil {
			continue
		}
		id := "slack/action/" + cb.User.ID + "/" + act.ActionID + "/" + act.ActionTs
		if !a.firstTime(id) {
			continue
		}
		e := bot.Event{Kind: bot.ClickEvent, ID: id, User: cb.User.ID, Action: actionOf(act.ActionID), Value: act.Value}
		if cb.Container.Type == "view" || cb.View.ID != "" && cb.Container.ChannelID == "" {
			e.Surface = bot.InHome
		} else {
			e.Channel = cb.Container.ChannelID
			if e.Channel == "" {
				e.Channel = cb.Channel.ID
			}
			e.Surface = surfaceOf(e.Channel)
			e.Message = bot.MessageRef{Conversation: e.Channel, ID: cb.Container.MessageTs}
			if e.Message.ID == "" {
				e.Message.ID = cb.Message.Timestamp
			}
		}
		a.handOff(h, e, replyTo{url: cb.ResponseURL, channel: e.Channel, user: e.User, home: e.Surface == bot.InHome},
			"leasebot is very busy right now and did nothing; please press the button again in a minute.")
	}
}

func (a *Adapter) onEventsAPI(evt socketmode.Event, h bot.Handler) {
	if evt.Request == nil {
		return
	}
	a.ack(evt.Request)
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok || ev.Type != slackevents.CallbackEvent {
		return
	}
	opened, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || opened.Tab != "home" {
		return
	}
	id := "slack/event/" + evt.Request.EnvelopeID
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
		id = "slack/event/" + cb.EventID
	}
	if !a.firstTime(id) {
		return
	}
	e := bot.Event{Kind: bot.HomeOpenedEvent, ID: id, User: opened.User, Surface: bot.InHome}
	a.enqueue(func(ctx context.Context) { h.Handle(ctx, e) }, func(context.Context) {})
}

// onBadMessage acks a payload slack-go cannot decode (it is never routed),
// so that Slack does not redeliver it.
func (a *Adapter) onBadMessage(evt socketmode.Event) {
	bm, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if json.Unmarshal(bm.Message, &env) == nil && env.EnvelopeID != "" {
		a.ack(&socketmode.Request{EnvelopeID: env.EnvelopeID})
	}
	a.log.Warn("ignored a malformed envelope", "err", bm.Cause)
}
