// Package slackchat connects the command core to Slack over Socket Mode.
//
// Every envelope is acknowledged the moment it arrives, before any network
// call; the work then runs in a bounded pool of workers, each protected from
// panics. Redelivered envelopes are recognised and not acted on twice.
package slackchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot"
)

// Core is what the adapter drives: the command core.
type Core interface {
	Command(ctx context.Context, r bot.Request) bot.Message
	HandleClick(ctx context.Context, c bot.Click) *bot.Message
}

// Observer is told about the connection and the queue, for metrics.
type Observer interface {
	Connected(count int)
	Disconnected()
	QueueDepth(n int)
}

// Options configure an Adapter.
type Options struct {
	AppToken string // xapp-…, for apps.connections.open only
	BotToken string // xoxb-…, for every Web API call
	APIURL   string // Web API base, default https://slack.com/api/
	Workers  int    // concurrent handlers, default 64
	Queue    int    // waiting jobs before new ones are turned away, default 1024
	// Drain bounds how long shutdown waits for work in flight, default 10s.
	Drain    time.Duration
	Log      *slog.Logger
	Observer Observer
	// PingInterval is how long the client waits for Slack's pings before it
	// reconnects, default slack-go's 30s.
	PingInterval time.Duration
}

// FatalError is a Slack answer after which retrying cannot help: bad or revoked
// tokens, or Socket Mode switched off for the app.
type FatalError struct{ Reason string }

func (e *FatalError) Error() string {
	return "slack refused the bot: " + e.Reason + hint(e.Reason)
}

func hint(reason string) string {
	switch reason {
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive":
		return " (check SLACK_APP_TOKEN and SLACK_BOT_TOKEN)"
	case "link_disabled":
		return " (Socket Mode was turned off in the app's settings)"
	}
	return ""
}

var fatalReasons = map[string]bool{
	"invalid_auth": true, "not_authed": true, "token_revoked": true, "token_expired": true,
	"account_inactive": true, "link_disabled": true,
}

// Adapter is the Slack side of leasebot. It also implements bot.Chat and
// bot.Directory with the Web API.
type Adapter struct {
	api   *slack.Client
	sm    *socketmode.Client
	opt   Options
	log   *slog.Logger
	obs   Observer
	seen  *gocache.Cache
	jobs  chan func(context.Context)
	fatal chan error

	connected   atomic.Bool
	connections atomic.Int64
}

// New builds an adapter; Run connects it.
func New(o Options) *Adapter {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	a := &Adapter{opt: o, log: o.Log, obs: o.Observer,
		seen:  gocache.New(15*time.Minute, 5*time.Minute),
		jobs:  make(chan func(context.Context), o.Queue),
		fatal: make(chan error, 1),
	}
	apiOpts := []slack.Option{slack.OptionAppLevelToken(o.AppToken), slack.OptionRetry(3), slack.OptionLog(slogLogger{o.Log})}
	if o.APIURL != "" {
		u := o.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		apiOpts = append(apiOpts, slack.OptionAPIURL(u))
	}
	a.api = slack.New(o.BotToken, apiOpts...)
	smOpts := []socketmode.Option{socketmode.OptionLog(slogLogger{o.Log}), socketmode.OptionDialer(a.dialer())}
	if o.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(o.PingInterval))
	}
	a.sm = socketmode.New(a.api, smOpts...)
	return a
}

// Connected reports whether the Socket Mode connection is up.
func (a *Adapter) Connected() bool { return a.connected.Load() }

// Run connects to Slack and serves core until ctx ends (then it finishes the
// work in flight, within Options.Drain, and returns nil) or Slack refuses the
// bot for good (a *FatalError).
func (a *Adapter) Run(ctx context.Context, core Core) error {
	smCtx, stopSM := context.WithCancel(context.Background())
	defer stopSM()
	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()

	var workers sync.WaitGroup
	for range a.opt.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for job := range a.jobs {
				a.obs.QueueDepth(len(a.jobs))
				a.safely(workCtx, job)
			}
		}()
	}

	runErr := make(chan error, 1)
	go func() { runErr <- a.sm.RunContext(smCtx) }()

	var result error
	runDone := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-a.fatal:
			result = err
			break loop
		case err := <-runErr:
			runDone = true
			if errors.Is(err, context.Canceled) {
				break loop
			}
			result = classify(err)
			break loop
		case evt, ok := <-a.sm.Events:
			if !ok {
				result = errors.New("slack socket mode: event stream closed")
				break loop
			}
			a.dispatch(evt, core)
		}
	}
	stopSM()
	a.connected.Store(false)
	// Drain events until slack-go has shut down, so it never blocks on them.
	giveUp := time.After(5 * time.Second)
	for !runDone {
		select {
		case <-runErr:
			runDone = true
		case <-giveUp:
			a.log.Warn("shutdown: the Slack client did not stop within 5s")
			runDone = true
		case <-a.sm.Events:
		}
	}
	close(a.jobs)
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.opt.Drain):
		a.log.Warn("shutdown: work still in flight after the drain period; abandoning it", "drain", a.opt.Drain)
		stopWork()
	}
	return result
}

func classify(err error) error {
	if err == nil {
		return nil
	}
	for reason := range fatalReasons {
		if strings.Contains(err.Error(), reason) {
			return &FatalError{Reason: reason}
		}
	}
	return fmt.Errorf("slack socket mode: %w", err)
}

// fail reports a fatal Slack answer to Run.
func (a *Adapter) fail(reason string) {
	select {
	case a.fatal <- &FatalError{Reason: reason}:
	default:
	}
}

// checkFatal turns a Web API error into a fatal stop when retrying cannot help.
func (a *Adapter) checkFatal(err error) {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && fatalReasons[se.Err] {
		a.fail(se.Err)
	}
}

func (a *Adapter) safely(ctx context.Context, job func(context.Context)) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("handler panicked", "panic", fmt.Sprint(p))
		}
	}()
	job(ctx)
}

// firstTime records key and reports whether it was new.
func (a *Adapter) firstTime(key string) bool {
	return a.seen.Add(key, struct{}{}, gocache.DefaultExpiration) == nil
}

func (a *Adapter) ack(req *socketmode.Request, payload any) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.sm.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		a.log.Warn("ack failed", "envelope", req.EnvelopeID, "err", err)
	}
}

// enqueue hands job to the pool, or runs busy when the queue is full.
func (a *Adapter) enqueue(job func(context.Context), busy func()) {
	select {
	case a.jobs <- job:
		a.obs.QueueDepth(len(a.jobs))
	default:
		go busy()
	}
}

func (a *Adapter) dispatch(evt socketmode.Event, core Core) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.connected.Store(false)
		a.obs.Disconnected()
	case socketmode.EventTypeConnected:
		n := a.connections.Add(1)
		a.connected.Store(true)
		a.obs.Connected(int(n))
		a.log.Info("connected to Slack", "connection", n)
	case socketmode.EventTypeConnectionError:
		a.connected.Store(false)
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			a.log.Warn("Slack connection failed; retrying", "attempt", ce.Attempt, "backoff", ce.Backoff, "err", ce.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		a.fail("invalid_auth")
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		a.ack(evt.Request, nil)
		// Ack only queues the frame: let slack-go's writer send it before a
		// worker takes the CPU.
		runtime.Gosched()
		if !a.firstTime("env:"+evt.Request.EnvelopeID) || (cmd.TriggerID != "" && !a.firstTime("trigger:"+cmd.TriggerID)) {
			a.log.Info("ignored a redelivered slash command", "envelope", evt.Request.EnvelopeID)
			return
		}
		a.enqueue(func(ctx context.Context) { a.runCommand(ctx, core, cmd) }, func() {
			a.respond(context.Background(), cmd.ResponseURL, cmd.ChannelID, cmd.UserID,
				bot.Message{Text: bot.Text{}.Plain("leasebot is very busy right now and did nothing; please try again in a minute.")})
		})
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return
		}
		a.ack(evt.Request, nil)
		runtime.Gosched()
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || cb.Type != slack.InteractionTypeBlockActions || !a.firstTime("env:"+evt.Request.EnvelopeID) {
			return
		}
		for _, act := range cb.ActionCallback.BlockActions {
			if act == nil || !a.firstTime("act:"+cb.User.ID+":"+act.ActionID+":"+act.ActionTs) {
				continue
			}
			c := bot.Click{User: cb.User.ID, Channel: cb.Container.ChannelID, Ref: cb.Container.MessageTs,
				Action: actionOf(act.ActionID), Value: act.Value}
			if c.Channel == "" {
				c.Channel = cb.Channel.ID
			}
			if c.Ref == "" {
				c.Ref = cb.Message.Timestamp
			}
			url := cb.ResponseURL
			a.enqueue(func(ctx context.Context) {
				if reply := core.HandleClick(ctx, c); reply != nil {
					a.respond(ctx, url, c.Channel, c.User, *reply)
				}
			}, func() {
				a.respond(context.Background(), url, c.Channel, c.User, bot.Message{Text: bot.Text{}.Plain("leasebot is very busy right now and did nothing; please press the button again in a minute.")})
			})
		}
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeHello:
		if evt.Request != nil && evt.Type == socketmode.EventTypeEventsAPI {
			a.ack(evt.Request, nil)
		}
	case socketmode.EventTypeErrorBadMessage:
		// A payload slack-go cannot decode is never routed; ack it anyway so
		// Slack does not redeliver it.
		if bm, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			var env struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(bm.Message, &env) == nil && env.EnvelopeID != "" {
				a.ack(&socketmode.Request{EnvelopeID: env.EnvelopeID}, nil)
			}
			a.log.Warn("ignored a malformed envelope", "err", bm.Cause)
		}
	}
}

func (a *Adapter) runCommand(ctx context.Context, core Core, cmd slack.SlashCommand) {
	reply := core.Command(ctx, bot.Request{User: cmd.UserID, Channel: cmd.ChannelID, Text: cmd.Text})
	a.respond(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, reply)
}

// respond answers a command or click through its response_url, falling back
// to chat.postMessage / chat.postEphemeral.
func (a *Adapter) respond(ctx context.Context, responseURL, channel, user string, m bot.Message) {
	kind := slack.ResponseTypeEphemeral
	if m.InChannel {
		kind = slack.ResponseTypeInChannel
	}
	var err error
	if responseURL != "" {
		opts := append(msgOptions(m), slack.MsgOptionResponseURL(responseURL, kind))
		if _, _, err = a.api.PostMessageContext(ctx, channel, opts...); err == nil {
			return
		}
		a.log.Warn("response_url failed; falling back to the Web API", "err", withoutURL(err))
	}
	if m.InChannel {
		_, _, err = a.api.PostMessageContext(ctx, channel, msgOptions(m)...)
	} else {
		_, err = a.api.PostEphemeralContext(ctx, channel, user, msgOptions(m)...)
	}
	if err != nil {
		a.checkFatal(err)
		a.log.Warn("could not deliver a reply", "channel", channel, "user", user, "err", err)
	}
}

// Post posts a channel message and returns its ts.
func (a *Adapter) Post(ctx context.Context, channel string, m bot.Message) (string, error) {
	_, ts, err := a.api.PostMessageContext(ctx, channel, msgOptions(m)...)
	if err != nil {
		a.checkFatal(err)
		return "", fmt.Errorf("chat.postMessage to %s: %w", channel, undeliverable(err))
	}
	return ts, nil
}

// permanentPostErrors are chat.postMessage answers that retrying cannot fix.
var permanentPostErrors = map[string]bool{
	"not_in_channel": true, "channel_not_found": true, "is_archived": true,
	"restricted_action": true, "msg_too_long": true, "invalid_blocks": true,
}

// undeliverable marks err with bot.ErrUndeliverable when Slack refused for good.
func undeliverable(err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentPostErrors[se.Err] {
		return fmt.Errorf("%w: %w", bot.ErrUndeliverable, err)
	}
	return err
}

// Update replaces the message (channel, ts) in place.
func (a *Adapter) Update(ctx context.Context, channel, ts string, m bot.Message) error {
	if _, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts, msgOptions(m)...); err != nil {
		a.checkFatal(err)
		return fmt.Errorf("chat.update %s/%s: %w", channel, ts, err)
	}
	return nil
}

// TimeZone is the user's time zone from users.info.
func (a *Adapter) TimeZone(ctx context.Context, user string) (*time.Location, error) {
	u, err := a.api.GetUserInfoContext(ctx, user)
	if err != nil {
		a.checkFatal(err)
		return nil, fmt.Errorf("users.info %s: %w", user, err)
	}
	if u.TZ != "" {
		if loc, err := time.LoadLocation(u.TZ); err == nil {
			return loc, nil
		}
	}
	return time.FixedZone(u.TZLabel, u.TZOffset), nil
}

// GroupMembers lists a user group's members with usergroups.users.list.
func (a *Adapter) GroupMembers(ctx context.Context, group string) ([]string, error) {
	users, err := a.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		a.checkFatal(err)
		return nil, fmt.Errorf("usergroups.users.list %s: %w", group, err)
	}
	return users, nil
}

// AuthTest checks the bot token (used by `leasebot check`).
func (a *Adapter) AuthTest(ctx context.Context) (team, user string, err error) {
	r, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return "", "", fmt.Errorf("auth.test: %w", err)
	}
	return r.Team, r.User, nil
}

type nopObserver struct{}

func (nopObserver) Connected(int)  {}
func (nopObserver) Disconnected()  {}
func (nopObserver) QueueDepth(int) {}

// slogLogger routes slack-go's own log lines to slog at debug level.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Output(_ int, msg string) error {
	s.l.Debug(strings.TrimSpace(msg), "component", "slack-go")
	return nil
}

// withoutURL drops the URL from a transport error: a response_url is a
// capability and does not belong in a log.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s response_url: %w", ue.Op, ue.Err)
	}
	return err
}
