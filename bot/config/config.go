// Package config reads and validates leasebot's YAML config file.
//
// Parse collects every problem it finds, each with its line, and refuses the
// whole file if there is any: the bot must not start on a config it does not
// fully understand. Secrets are never config keys; they come only from the
// environment, and an error message never repeats a value that looks like one.
package config

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/leasebot/leasebot/lease"
)

// Limits and defaults.
const (
	// MaxLease is the longest lease ModelArts allows (72 h); max_extend,
	// warn_before and extend_buttons may not exceed it.
	MaxLease = lease.MaxDuration
	// MinLease is the shortest lease ModelArts allows: a stop time is never
	// set less than an hour away. start_duration may not be shorter.
	MinLease = lease.MinDuration
	// DefaultMaxExtend is the largest single extension when defaults.max_extend is unset.
	DefaultMaxExtend = 8 * time.Hour
	// DefaultPollInterval is how often the watcher lists notebooks when defaults.poll_interval is unset.
	DefaultPollInterval = 60 * time.Second
	// MinPollInterval is the shortest poll_interval accepted.
	MinPollInterval = time.Second
	// MaxExtendButtons is the most extend buttons a warning carries, beside "Let it stop".
	MaxExtendButtons = 4
	// DefaultStorePath is the SQLite file used when store.path is unset.
	DefaultStorePath = "leasebot.db"
	// DefaultHistoryDays is how long history is kept when defaults.history_days is unset.
	DefaultHistoryDays = 90
	// DefaultStartDuration is the lease of a notebook started from chat when defaults.start_duration is unset.
	DefaultStartDuration = 4 * time.Hour
	// MaxKeepLimit is the furthest ahead a keep may ever end (max_keep's ceiling).
	MaxKeepLimit = 30 * 24 * time.Hour
	// DefaultApprovalTTL is how long a request for approval waits when approval_ttl is unset.
	DefaultApprovalTTL = time.Hour
	// MaxApprovalTTL is the longest a request for approval may wait: a
	// decision a week later is about a notebook that has long moved on.
	MaxApprovalTTL = 7 * 24 * time.Hour
	// MaxHistoryDays bounds history_days (a century), so that the retention
	// period fits in a time.Duration.
	MaxHistoryDays = 36500
)

// DefaultWarnBefore returns the warning thresholds used when defaults.warn_before is unset.
func DefaultWarnBefore() []time.Duration { return []time.Duration{30 * time.Minute, 10 * time.Minute} }

// DefaultExtendButtons returns the buttons used when defaults.extend_buttons is unset.
func DefaultExtendButtons() []time.Duration { return []time.Duration{time.Hour, 4 * time.Hour} }

// Config is a validated config file.
type Config struct {
	ModelArts ModelArts
	Admins    []string // chat user IDs allowed everything, in every configured channel
	Defaults  Defaults
	Channels  map[string]*Channel // keyed by channel ID; never empty after a successful Parse
	// People maps ModelArts owners (an IAM user name or IAM user ID, as a
	// notebook's user.name / user.id carries them) to chat user IDs, so that
	// leasebot can reach a notebook's owner directly. Empty when unset.
	People map[string]string
	Store  Store
	Path   string // file it was loaded from
	// Notes are things `leasebot check` should point out that do not stop the
	// bot, such as a deprecated key. Each carries its line.
	Notes []Error
}

// Store is the `store` section: where leasebot keeps its state when no
// database URL is given in the environment. LEASEBOT_DATABASE_URL, when set,
// overrides Path with PostgreSQL; that URL carries a password, so it is
// never a config key (url, dsn or database_url under store is an error).
type Store struct {
	Path string // SQLite file; default DefaultStorePath, relative to the working directory
}

// Action is something a channel's members may change there.
type Action string

// The actions a channel (or a notebook's owner) may be allowed.
const (
	ActionExtend Action = "extend" // extend a lease, by command or button
	ActionKeep   Action = "keep"   // keep a notebook running past 72h
	ActionStart  Action = "start"  // start a stopped notebook
	ActionStop   Action = "stop"   // stop a running notebook
)

// Actions lists every action, in the order they are documented.
func Actions() []Action { return []Action{ActionExtend, ActionKeep, ActionStart, ActionStop} }

// Approvers are the people who may approve an extension over a channel's max_extend.
type Approvers struct {
	Users  []string
	Groups []string
}

// Empty reports whether nobody can approve.
func (a Approvers) Empty() bool { return len(a.Users) == 0 && len(a.Groups) == 0 }

// ModelArts is the `modelarts` section.
type ModelArts struct {
	Endpoint    string // https:// (http:// only on loopback hosts), without a trailing slash
	ProjectID   string // 32 lower-case hex characters
	IAMEndpoint string // optional, for password auth; same rules as Endpoint
	ListAll     bool   // watch every user's notebooks (GET /notebooks/all)
}

// Defaults is the `defaults` section, with unset keys filled in.
type Defaults struct {
	MaxExtend     time.Duration   // default 8h; > 0 and <= 72h
	WarnBefore    []time.Duration // default [30m, 10m]; sorted descending, deduplicated
	ExtendButtons []time.Duration // default [1h, 4h]; in the order written, deduplicated, at most 4
	PollInterval  time.Duration   // default 60s; at least 1s
	// StateFile is the deprecated JSON warning state of earlier versions; an
	// existing file is imported into the store once and renamed FILE.imported.
	StateFile   string // "" when unset
	HistoryDays int    // how long history entries are kept; default 90

	// The owner rule: owners (see Config.People) manage their own notebooks
	// from a direct message with the app and from its home view.
	NotifyOwner    bool          // also warn the owner by direct message; default false
	OwnerMaxExtend time.Duration // largest single extension by an owner; default MaxExtend
	OwnerActions   []Action      // what owners may change; default [extend]
	OwnerMaxKeep   time.Duration // how far ahead an owner's keep may end; default MaxKeep

	StartDuration time.Duration // lease of a notebook started from chat; default 4h, 1h..72h

	// Channel defaults, inherited by every channel that does not set them.
	Actions     []Action      // default [extend], plus keep if MaxKeep > 0; [] means members may only read
	MaxKeep     time.Duration // default 0: keep is off; at most 30d
	ApprovalMax time.Duration // default 72h
	ApprovalTTL time.Duration // default 1h
}

// Channel is one entry under `channels`, with defaults applied.
type Channel struct {
	ID            string
	Users         []string        // chat user IDs
	Groups        []string        // chat user-group IDs
	Notebooks     []string        // selectors: "*", notebook IDs, name globs (path.Match), "tag:key=value"
	MaxExtend     time.Duration   // effective: channel override or default
	WarnBefore    []time.Duration // effective; sorted descending, deduplicated
	ExtendButtons []time.Duration // effective; in the order written
	Warn          bool            // post expiry warnings here; default true
	Actions       []Action        // what members may change here; in the order of Actions(); [] means read only
	MaxKeep       time.Duration   // how far ahead a keep may end; 0: keep is off here
	Approvers     Approvers       // who may approve an extension over MaxExtend; empty: nobody
	ApprovalMax   time.Duration   // the largest extension that may be asked for approval
	ApprovalTTL   time.Duration   // how long a request for approval waits for a decision
	Line          int             // line of the channel key in the file
}

// Allows reports whether the channel's members may take action a.
func (c *Channel) Allows(a Action) bool { return slices.Contains(c.Actions, a) }

// Load reads the file at path and parses it with Parse.
func Load(path string) (*Config, error) {
	return LoadWith(path, Options{})
}

// LoadWith reads the file at path and parses it with ParseWith.
func LoadWith(path string, o Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseWith(data, path, o)
}

// Parse is ParseWith with the plain ID rules: it accepts any short ID, so
// that tests, the demo and other chats can use it; the bot itself passes its
// chat's rules to ParseWith.
func Parse(data []byte, path string) (*Config, error) {
	return ParseWith(data, path, Options{})
}

// ParseWith reads a config file's contents. path is used in messages and
// stored in Config.Path. On any problem it returns a nil Config and an
// Errors listing every problem found, sorted by line; remarks that do not
// stop the bot are in Config.Notes.
func ParseWith(data []byte, path string, o Options) (*Config, error) {
	p := &parser{path: path, ids: o.IDs}
	if p.ids == nil {
		p.ids = plainIDs{}
	}
	cfg := p.parse(data)
	if len(p.errs) > 0 {
		es := p.errs.sorted()
		if p.dropped > 0 {
			es = append(es, Error{Path: path, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", p.dropped)})
		}
		return nil, es
	}
	cfg.Notes = p.notes.sorted()
	if p.droppedNotes > 0 {
		cfg.Notes = append(cfg.Notes, Error{Path: path, Msg: fmt.Sprintf("%d more notes not shown", p.droppedNotes)})
	}
	return cfg, nil
}
