// Package bot is leasebot's core: it reads /notebook commands and button
// clicks, decides them with the access rules, moves lease stop times through
// the lease client, warns before notebooks stop, and says what happened.
//
// It knows no chat's wire format and no HTTP. Data flows one way: a chat
// adapter (the Slack adapter, the console) turns what people do into Events
// for the core's Handler; the core calls the lease client, which calls
// ModelArts; the store sits beside the core. docs/design.md walks through it.
package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"

	"github.com/leasebot/leasebot/bot/access"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// Leases is the part of the lease client the core uses.
type Leases interface {
	List(ctx context.Context, opt lease.ListOptions) ([]lease.Notebook, error)
	Get(ctx context.Context, id string) (lease.Notebook, error)
	Renew(ctx context.Context, id string, stop time.Time) (time.Time, error)
	Start(ctx context.Context, id string, d time.Duration) (lease.Notebook, error)
	Stop(ctx context.Context, id string) (lease.Notebook, error)
}

// Observer is told what the core did, for metrics. Every method must be cheap.
type Observer interface {
	Command(verb, outcome string)
	Click(action, outcome string)
	WarningPosted()
}

// Options configure a Bot.
type Options struct {
	Config *config.Config
	Leases Leases
	Chat   Adapter
	// Store keeps warnings, delivery claims, keeps, requests for approval
	// and the history. Required.
	Store store.API
	// Locker serializes changes per notebook; default the store's lock.
	Locker   Locker
	Log      *slog.Logger // operations; default slog.Default()
	Audit    *slog.Logger // one line per attempted change; default Log
	Observer Observer
	Now      func() time.Time
	// TimeZoneTTL is how long people's time zones are cached; default 1h.
	TimeZoneTTL time.Duration
	// GroupTTL is how long user groups' members are trusted; default 60s.
	GroupTTL time.Duration
	// ListTTL is how long a notebook listing serves name look-ups; default 15s.
	ListTTL time.Duration
	// StartWatch bounds how long a started notebook is watched until it
	// runs (default 10m), looking every StartPoll (default 5s).
	StartWatch, StartPoll time.Duration
}

// Bot is the core. It is safe for concurrent use.
type Bot struct {
	cfg      *config.Config
	leases   Leases
	chat     Adapter
	locks    Locker
	access   *access.Policy
	tz       *timeZones
	log      *slog.Logger
	audit    *slog.Logger
	obs      Observer
	now      func() time.Time
	listings *gocache.Cache
	// listLookups lets concurrent misses of the listing share one; listGen
	// counts changes, so a listing begun before one is not cached.
	listLookups singleflight.Group
	listGen     atomic.Int64
	store       store.API
	// claimed remembers the warning copies this process knows are claimed,
	// (notebook, stop, target) -> smallest threshold, sparing the store a
	// question per notebook per cycle.
	claimed sync.Map
	// homes remembers who has a home view to refresh: yes for good (a
	// home view once opened stays), no for homeNoTTL (it may be opened on
	// another replica meanwhile). Without it every change would ask the
	// store.
	homes       *gocache.Cache
	homeLookups singleflight.Group

	// life ends when the Bot closes; background work (watching a started
	// notebook) runs on it and is waited for by Close.
	life       context.Context
	endLife    context.CancelFunc
	bg         sync.WaitGroup
	startWatch time.Duration
	startPoll  time.Duration
	// watching holds the starts this process is watching (by their
	// announcement), so that the leader's cycle does not watch one twice.
	watching sync.Map

	// widestWarning is the largest warn_before of any warning channel: a
	// notebook with more time left needs no channel matching at all.
	widestWarning time.Duration
}

// New builds a Bot.
func New(o Options) *Bot {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Audit == nil {
		o.Audit = o.Log
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Locker == nil {
		o.Locker = o.Store
	}
	if o.TimeZoneTTL <= 0 {
		o.TimeZoneTTL = time.Hour
	}
	if o.ListTTL <= 0 {
		o.ListTTL = 15 * time.Second
	}
	if o.StartWatch <= 0 {
		o.StartWatch = defaultStartWatch
	}
	if o.StartPoll <= 0 {
		o.StartPoll = defaultStartPoll
	}
	var widest time.Duration
	for _, ch := range o.Config.Channels {
		if ch.Warn {
			for _, d := range ch.WarnBefore {
				widest = max(widest, d)
			}
		}
	}
	if o.Config.Defaults.NotifyOwner && len(o.Config.People) > 0 {
		for _, d := range o.Config.Defaults.WarnBefore {
			widest = max(widest, d)
		}
	}
	life, end := context.WithCancel(context.Background())
	return &Bot{
		life:          life,
		endLife:       end,
		startWatch:    o.StartWatch,
		startPoll:     o.StartPoll,
		widestWarning: widest,
		cfg:           o.Config,
		leases:        o.Leases,
		chat:          o.Chat,
		locks:         o.Locker,
		access:        access.New(o.Config, o.Chat, o.GroupTTL),
		tz:            newTimeZones(o.Chat, o.TimeZoneTTL),
		log:           o.Log,
		audit:         o.Audit,
		obs:           o.Observer,
		now:           o.Now,
		listings:      gocache.New(o.ListTTL, time.Minute),
		store:         o.Store,
		homes:         gocache.New(homeNoTTL, time.Minute),
	}
}

// Handle carries out one event: a command, a click, or a home view opened.
// A panic inside is recovered, logged and answered; the bot keeps serving.
func (b *Bot) Handle(ctx context.Context, e Event) (reply *Reply) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("handler panicked", "kind", e.Kind, "user", e.User, "channel", e.Channel, "panic", fmt.Sprint(p))
			// The panic may have come after a change was made: say so.
			reply = &Reply{Message: ephemeral(Text{}.Plain("Something went wrong inside leasebot, and I cannot tell whether anything changed; see ").
				Code("/notebook status").Plain(". The error is logged; please tell an admin."))}
		}
	}()
	switch e.Kind {
	case CommandEvent:
		return b.command(ctx, e)
	case ClickEvent:
		return b.click(ctx, e)
	case HomeOpenedEvent:
		b.homeOpened(ctx, e)
	}
	return nil
}

// Close ends the Bot's background work (watching started notebooks) and
// waits for it.
func (b *Bot) Close() {
	b.endLife()
	b.bg.Wait()
}

type nopObserver struct{}

func (nopObserver) Command(string, string) {}
func (nopObserver) Click(string, string)   {}
func (nopObserver) WarningPosted()         {}

// timeZones keeps people's time zones for a while: they are read for every
// "until" and change rarely.
type timeZones struct {
	dir   Directory
	cache *gocache.Cache
}

func newTimeZones(dir Directory, ttl time.Duration) *timeZones {
	return &timeZones{dir: dir, cache: gocache.New(ttl, 2*ttl)}
}

func (z *timeZones) of(ctx context.Context, user string) (*time.Location, error) {
	if v, ok := z.cache.Get(user); ok {
		return v.(*time.Location), nil
	}
	loc, err := z.dir.TimeZone(ctx, user)
	if err != nil {
		return nil, err
	}
	z.cache.SetDefault(user, loc)
	return loc, nil
}
