// Package bot is leasebot's command core: it reads /notebook commands and
// button clicks, checks them against the channel's access list, moves lease
// stop times through the lease client and says what happened. It knows
// nothing of Slack's wire format or of HTTP; adapters translate.
package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"github.com/leasebot/leasebot/bot/acl"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
)

// Leases is the part of the lease client the core uses.
type Leases interface {
	List(ctx context.Context, opt lease.ListOptions) ([]lease.Notebook, error)
	Get(ctx context.Context, id string) (lease.Notebook, error)
	Renew(ctx context.Context, id string, stop time.Time) (time.Time, error)
}

// Directory answers questions about chat users.
type Directory interface {
	// TimeZone is the user's time zone, for reading "until 18:30".
	TimeZone(ctx context.Context, user string) (*time.Location, error)
	// GroupMembers lists the user IDs in a user group.
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// ErrUndeliverable marks a Chat error that retrying cannot fix, such as a
// channel the bot is not in: the core does not try that message again.
var ErrUndeliverable = errors.New("the chat refused the message for good")

// Chat posts and replaces channel messages (warnings).
type Chat interface {
	Post(ctx context.Context, channel string, m Message) (ref string, err error)
	Update(ctx context.Context, channel, ref string, m Message) error
}

// Observer is told what the core did, for metrics. Every method must be cheap.
type Observer interface {
	Command(verb, outcome string)
	Click(action, outcome string)
	WarningPosted()
}

// Request is one /notebook command.
type Request struct {
	User    string
	Channel string
	Text    string
}

// Click is a press on a warning button.
type Click struct {
	User    string
	Channel string
	Ref     string // the message the button is on
	Action  string
	Value   string
}

// Options configure a Bot.
type Options struct {
	Config    *config.Config
	Leases    Leases
	Directory Directory
	Chat      Chat
	Log       *slog.Logger // operations; default slog.Default()
	Audit     *slog.Logger // one line per attempted change; default Log
	Observer  Observer
	Now       func() time.Time
	// DirectoryTTL is how long time zones and group members are cached; default 10m.
	DirectoryTTL time.Duration
	// ListTTL is how long a notebook listing serves name look-ups; default 15s.
	ListTTL time.Duration
}

// Bot is the command core. It is safe for concurrent use.
type Bot struct {
	cfg      *config.Config
	leases   Leases
	dir      *cachedDirectory
	chat     Chat
	acl      *acl.ACL
	log      *slog.Logger
	audit    *slog.Logger
	obs      Observer
	now      func() time.Time
	listTTL  time.Duration
	listings *gocache.Cache

	mu       sync.Mutex // guards warnings' contents
	warnings *gocache.Cache
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
	if o.DirectoryTTL <= 0 {
		o.DirectoryTTL = 10 * time.Minute
	}
	if o.ListTTL <= 0 {
		o.ListTTL = 15 * time.Second
	}
	dir := newCachedDirectory(o.Directory, o.DirectoryTTL)
	var widest time.Duration
	for _, ch := range o.Config.Channels {
		if ch.Warn {
			for _, d := range ch.WarnBefore {
				widest = max(widest, d)
			}
		}
	}
	return &Bot{
		widestWarning: widest,
		cfg:           o.Config,
		leases:        o.Leases,
		dir:           dir,
		chat:          o.Chat,
		acl:           acl.New(o.Config, dir),
		log:           o.Log,
		audit:         o.Audit,
		obs:           o.Observer,
		now:           o.Now,
		listTTL:       o.ListTTL,
		listings:      gocache.New(o.ListTTL, time.Minute),
		warnings:      gocache.New(gocache.NoExpiration, 10*time.Minute),
	}
}

// ACL returns the compiled access policy.
func (b *Bot) ACL() *acl.ACL { return b.acl }

type nopObserver struct{}

func (nopObserver) Command(string, string) {}
func (nopObserver) Click(string, string)   {}
func (nopObserver) WarningPosted()         {}

// cachedDirectory keeps time zones and group members for a while: they are
// read on every command and change rarely.
type cachedDirectory struct {
	inner Directory
	cache *gocache.Cache
}

func newCachedDirectory(inner Directory, ttl time.Duration) *cachedDirectory {
	return &cachedDirectory{inner: inner, cache: gocache.New(ttl, 2*ttl)}
}

func (d *cachedDirectory) TimeZone(ctx context.Context, user string) (*time.Location, error) {
	if v, ok := d.cache.Get("tz:" + user); ok {
		return v.(*time.Location), nil
	}
	loc, err := d.inner.TimeZone(ctx, user)
	if err != nil {
		return nil, err
	}
	d.cache.SetDefault("tz:"+user, loc)
	return loc, nil
}

func (d *cachedDirectory) GroupMembers(ctx context.Context, group string) ([]string, error) {
	if v, ok := d.cache.Get("group:" + group); ok {
		return v.([]string), nil
	}
	users, err := d.inner.GroupMembers(ctx, group)
	if err != nil {
		return nil, err
	}
	d.cache.SetDefault("group:"+group, users)
	return users, nil
}
