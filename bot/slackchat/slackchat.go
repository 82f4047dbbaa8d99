// Package slackchat is the Slack adapter: it connects the core to Slack
// over Socket Mode and implements bot.Adapter with Slack's Web API.
//
// Everything Slack-specific lives here: the envelopes and their
// acknowledgement, Slack's escaping of command text, what makes a channel a
// direct message, delivery IDs for redelivered envelopes, Block Kit and the
// date token. Every envelope is acknowledged the moment it arrives, before
// any network call; the work then runs in a bounded pool of workers, each
// job with a deadline and protected from panics.
package slackchat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot"
)

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
	// JobTimeout bounds one command or click, default 60s: longer than the
	// ModelArts retry budget plus a wait for the notebook's lock.
	JobTimeout time.Duration
	// Drain bounds how long shutdown waits for work in flight, default 25s:
	// longer than the ModelArts retry budget (15s), so that a change in
	// flight gets its honest answer. Work still running then is cancelled
	// and waited for up to 5s more.
	Drain time.Duration
	// HTTPTimeout bounds one Web API call, default 10s.
	HTTPTimeout time.Duration
	Log         *slog.Logger
	Observer    Observer
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

// Adapter is the Slack side of leasebot; it implements bot.Adapter and
// bot.HomePublisher.
type Adapter struct {
	api   *slack.Client
	sm    *socketmode.Client
	opt   Options
	log   *slog.Logger
	obs   Observer
	seen  *gocache.Cache
	jobs  chan func(context.Context)
	fatal chan error
	busy  sync.WaitGroup // "busy" replies in flight
	// busySlots bounds the "busy" replies in flight: under a flood each
	// would be a goroutine and an HTTP request of its own.
	busySlots chan struct{}

	connections atomic.Int64 // Socket Mode connections made, for the log and metrics
}

var _ interface {
	bot.Adapter
	bot.HomePublisher
} = (*Adapter)(nil)

// New builds an adapter; Run connects it.
func New(o Options) *Adapter {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 60 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 25 * time.Second
	}
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	a := &Adapter{opt: o, log: o.Log, obs: o.Observer,
		seen:      gocache.New(15*time.Minute, 5*time.Minute),
		jobs:      make(chan func(context.Context), o.Queue),
		fatal:     make(chan error, 1),
		busySlots: make(chan struct{}, maxBusyReplies),
	}
	// slack-go's default client has no timeout: a Web API call that never
	// answers would hold a worker for good.
	hc := &http.Client{Timeout: o.HTTPTimeout, Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: o.HTTPTimeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   o.Workers,
		ForceAttemptHTTP2:     true,
	}}
	apiOpts := []slack.Option{slack.OptionAppLevelToken(o.AppToken), slack.OptionHTTPClient(hc), slack.OptionRetry(3), slack.OptionLog(slogLogger{o.Log})}
	if o.APIURL != "" {
		u := o.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		apiOpts = append(apiOpts, slack.OptionAPIURL(u))
	}
	a.api = slack.New(o.BotToken, apiOpts...)
	// slack-go logs only in its debug mode. The Socket Mode client's debug
	// lines (connections, frames with tokens and response URLs redacted)
	// follow leasebot's debug level; the Web API client's stay off: they
	// dump whole responses, the one-time Socket Mode URL included.
	debug := o.Log.Enabled(context.Background(), slog.LevelDebug)
	smOpts := []socketmode.Option{socketmode.OptionLog(slogLogger{o.Log}), socketmode.OptionDebug(debug), socketmode.OptionDialer(a.dialer())}
	if o.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(o.PingInterval))
	}
	a.sm = socketmode.New(a.api, smOpts...)
	return a
}

// Run checks the bot token, connects to Slack and serves h until ctx ends
// (then it finishes the work in flight, within Options.Drain, cancels what
// is still running and gives it up to 5s to stop, and returns nil) or Slack
// refuses the bot for good (a *FatalError).
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	if err := a.checkToken(ctx); err != nil {
		return err
	}
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
			a.dispatch(evt, h)
		}
	}
	stopSM()
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
	go func() { workers.Wait(); a.busy.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.opt.Drain):
		a.log.Warn("shutdown: work still in flight after the drain period; cancelling it", "drain", a.opt.Drain)
		stopWork()
		// The caller closes the core and the store next: give the
		// cancelled work a moment to let go of them.
		select {
		case <-done:
		case <-time.After(stopGrace):
			a.log.Warn("shutdown: cancelled work did not stop in time; returning anyway", "waited", stopGrace)
		}
	}
	return result
}

// stopGrace bounds how long Run waits, after the drain period, for the work
// it cancelled to stop.
const stopGrace = 5 * time.Second

// checkToken asks Slack whether the bot token works, so that a revoked
// token stops the bot at start instead of failing every reply.
func (a *Adapter) checkToken(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.opt.HTTPTimeout)
	defer cancel()
	_, err := a.api.AuthTestContext(ctx)
	var se slack.SlackErrorResponse
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && fatalReasons[se.Err]:
		return &FatalError{Reason: se.Err}
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return nil
	}
	// Slack unreachable right now: Socket Mode retries on its own.
	a.log.Warn("auth.test failed; connecting anyway", "err", err)
	return nil
}

// AuthTest checks the bot token (used by `leasebot check`).
func (a *Adapter) AuthTest(ctx context.Context) (team, user string, err error) {
	r, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return "", "", fmt.Errorf("auth.test: %w", err)
	}
	return r.Team, r.User, nil
}

// CheckAppToken asks Slack for a Socket Mode connection with the app-level
// token, as Run does when it connects (apps.connections.open), so that
// `leasebot check` catches a wrong or revoked SLACK_APP_TOKEN that auth.test,
// which takes the bot token, cannot see. The URL Slack answers with is a
// one-time credential: it is dropped unused and never logged.
func (a *Adapter) CheckAppToken(ctx context.Context) error {
	_, _, err := a.api.StartSocketModeContext(ctx)
	var se slack.SlackErrorResponse
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return fmt.Errorf("apps.connections.open: %s (check SLACK_APP_TOKEN: the app-level token, xapp-…, with connections:write)", se.Err)
	}
	return fmt.Errorf("apps.connections.open: %w", err)
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

// safely runs one job with its own deadline, recovering a panic.
func (a *Adapter) safely(ctx context.Context, job func(context.Context)) {
	ctx, cancel := context.WithTimeout(ctx, a.opt.JobTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("handler panicked", "panic", fmt.Sprint(p))
		}
	}()
	job(ctx)
}

// maxBusyReplies bounds the "busy" replies in flight at once.
const maxBusyReplies = 8

// enqueue hands job to the pool, or, when the queue is full, answers busy
// (bounded in time, and waited for at shutdown). When maxBusyReplies are
// already on their way, the busy reply is dropped: the envelope was acked,
// and the person sees no answer rather than the bot drowning.
func (a *Adapter) enqueue(job func(context.Context), busy func(context.Context)) {
	select {
	case a.jobs <- job:
		a.obs.QueueDepth(len(a.jobs))
		return
	default:
	}
	select {
	case a.busySlots <- struct{}{}:
	default:
		a.log.Warn("the worker pool is full and so are the busy replies; this command or click gets no answer")
		return
	}
	a.busy.Add(1)
	go func() {
		defer a.busy.Done()
		defer func() { <-a.busySlots }()
		ctx, cancel := context.WithTimeout(context.Background(), a.opt.HTTPTimeout)
		defer cancel()
		busy(ctx)
	}()
}

type nopObserver struct{}

func (nopObserver) Connected(int)  {}
func (nopObserver) Disconnected()  {}
func (nopObserver) QueueDepth(int) {}

// slogLogger routes slack-go's own log lines to slog at debug level; the
// Socket Mode client writes them when leasebot logs at debug level.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Output(_ int, msg string) error {
	s.l.Debug(strings.TrimSpace(msg), "component", "slack-go")
	return nil
}
