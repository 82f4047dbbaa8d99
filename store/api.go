// Package store keeps leasebot's state: which warnings were posted where and
// how they ended, the chat deliveries already handled, keeps, requests for
// approval, who leads among several replicas, and the history of every
// attempted change.
//
// One type, *DB, serves both back ends: an embedded SQLite file (the
// default; one process only) and PostgreSQL (shared by any number of
// replicas). All SQL is written once; the small dialect interface inside
// holds what differs (opening, locking, leadership). The schema is one set
// of versioned migrations embedded in the binary and applied at Open.
//
// Times are stored as Unix milliseconds. Nothing secret is ever stored: no
// token, key or password reaches a table, and a database URL is only ever
// shown as host and database name.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable marks a failure to reach the database (connection refused,
// lost, timed out). Callers branch on it with errors.Is to say "leasebot
// cannot record changes right now" and change nothing.
var ErrUnavailable = errors.New("the store is unavailable")

// ErrInUse marks an SQLite file another leasebot process holds: SQLite
// serves one process; several replicas share PostgreSQL.
var ErrInUse = errors.New("the store is in use by another process")

// ErrNoStore is an inspected SQLite file that does not exist yet; the
// first `leasebot run` creates it.
var ErrNoStore = errors.New("the store does not exist yet")

// ErrURLScheme is Open's answer to a URL that is not postgres:// or
// postgresql://: a mistake in the configuration, not a database that cannot
// be reached, which callers tell apart with errors.Is.
var ErrURLScheme = errors.New("store: the database URL must start with postgres:// or postgresql://")

// Options say which store to open.
type Options struct {
	// URL is a postgres:// or postgresql:// URL; when set, PostgreSQL is used.
	// It is a secret: it is never logged or returned in an error.
	URL string
	// Path is the SQLite file used when URL is empty.
	Path string
	// Observe, if set, is told the outcome and duration of every store
	// operation (op is a short name such as "claim" or "history"), for metrics.
	Observe func(op string, err error, took time.Duration)
	// Now is the clock for rows written by the store itself; default time.Now.
	Now func() time.Time
	// Inspect opens an existing store without changing its schema, for
	// `leasebot check`: a newer leasebot checking a database that running
	// replicas share must not migrate it under them. A SQLite file that
	// does not exist is ErrNoStore, not created. Info says how far behind
	// the schema is.
	Inspect bool
}

// Info describes an open store for `leasebot check` and the logs.
type Info struct {
	Kind          string // "sqlite" or "postgres"
	Where         string // the SQLite file, or "host:port/dbname" (never a user or password)
	SchemaVersion int
	// Pending is how many migrations this leasebot would apply (only an
	// inspected store can have any).
	Pending int
}

// Entry is one attempted change, with the fields of its audit line.
type Entry struct {
	ID           int64 // assigned by the store, increasing
	At           time.Time
	User         string // who acted (for an approval: the requester)
	Channel      string // where; a direct message or the home view is "@" + user
	Via          string // how access was granted: channel, admin, owner, approver, keep, leader
	Notebook     string
	NotebookName string
	Verb         string // extend, dismiss, keep, keep-off, keep-renew, keep-end, approval-request, approve, deny, approval-expire, start, stop
	Requested    string // what was asked, e.g. "2h" or "until 2026-12-01 09:00"
	OldStop      time.Time
	NewStop      time.Time
	Outcome      string // extended, dismissed, refused, failed, unknown, kept, ended, requested, approved, denied, expired, started, stopped
	Code         string // why, for refusals and failures
	Approver     string // who decided a request for approval
}

// SeenNotebook is a notebook the history has entries about.
type SeenNotebook struct {
	ID   string
	Name string // as its newest entry gives it
}

// HistoryQuery selects history entries, newest first.
type HistoryQuery struct {
	Notebooks []string // only these notebook IDs; nil: every notebook
	Before    int64    // only entries with ID < Before; 0: from the newest
	Limit     int      // at most this many; <= 0 means 50
}

// Warning outcomes.
const (
	OutcomeOpen      = ""
	OutcomeExtended  = "extended"
	OutcomeDismissed = "dismissed"
	OutcomeStopped   = "stopped" // the notebook stopped (or was stopped)
	OutcomeMoved     = "moved"   // its stop time moved without a click
)

// Warning is what leasebot knows about one (notebook, stop time): the posts
// it made and how the warning ended. A warning is open until one of its
// copies is acted on or the notebook stops or moves.
type Warning struct {
	Notebook string
	Stop     time.Time
	Name     string
	Outcome  string
	By       string        // who acted (extended, dismissed, stopped it)
	Amount   time.Duration // by how much it was extended
	NewStop  time.Time
	Posts    []Post
}

// Post is one copy of a warning. Target says where it was meant to go: a
// channel ID, or "@" + user ID for an owner's direct message. Conversation
// and Ref say where it landed (the chat's conversation and message IDs);
// both are empty while the post is claimed but not yet made.
type Post struct {
	Target       string
	Threshold    time.Duration
	Conversation string
	Ref          string
}

// Posted reports whether the copy reached the chat.
func (p Post) Posted() bool { return p.Ref != "" }

// WarningPost names one copy to claim: the warning (Notebook, Stop, Name)
// and the copy (Target, Threshold).
type WarningPost struct {
	Notebook  string
	Stop      time.Time
	Name      string
	Target    string
	Threshold time.Duration
}

// WarningOutcome ends an open warning.
type WarningOutcome struct {
	Notebook string
	Stop     time.Time
	Outcome  string
	By       string
	Amount   time.Duration
	NewStop  time.Time
}

// Keep keeps a notebook running past ModelArts' 72h limit until Until.
type Keep struct {
	Notebook string
	Name     string
	Until    time.Time
	By       string // who set it
	Channel  string // where it was set ("@" + user for a direct message); told when it ends
	Set      time.Time
	// Warned is the stop time the channel was last told a renewal failed
	// for, so that it is told once per stop time; zero if never.
	Warned time.Time
}

// StartWatch is a start leasebot announced and has not yet said the end
// of: the message at (Conversation, Ref) is to be updated once the notebook
// runs or fails.
type StartWatch struct {
	Conversation string
	Ref          string
	Notebook     string
	Name         string
	User         string // who started it
	Started      time.Time
}

// Approval states.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalDenied   = "denied"
	ApprovalExpired  = "expired"
)

// Approval is a request to extend a notebook by more than its channel's max_extend.
type Approval struct {
	ID           int64 // assigned by the store
	Channel      string
	Requester    string
	Notebook     string
	Name         string
	Amount       time.Duration
	Created      time.Time
	Expires      time.Time
	State        string
	Decider      string
	Decided      time.Time
	Conversation string // where the request was posted; empty until it is
	Ref          string
}

// API is everything *DB offers; the core depends on small parts of it.
type API interface {
	Info(ctx context.Context) (Info, error)
	Ping(ctx context.Context) error
	Close() error

	// LockNotebook blocks until the caller holds the lock of notebook id, or
	// ctx ends (then it returns ctx's error). With PostgreSQL the lock holds
	// across processes. The returned unlock must be called exactly once.
	LockNotebook(ctx context.Context, id string) (unlock func(), err error)

	// Claim records key for ttl and reports whether it was new: the caller
	// that gets true is the one that acts. Expired keys may be claimed again.
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// ClaimWarningPost claims one copy of a warning. It creates the warning
	// (open) if it is not known, and reports false, changing nothing, when
	// the warning is no longer open, or the same target was already claimed
	// for this (notebook, stop) at a threshold smaller than or equal to this one.
	ClaimWarningPost(ctx context.Context, p WarningPost) (bool, error)
	// PostedWarning records where a claimed copy landed.
	PostedWarning(ctx context.Context, p WarningPost, conversation, ref string) error
	// DropWarningPost forgets a claimed copy that could not be posted, so
	// that the next cycle tries again.
	DropWarningPost(ctx context.Context, p WarningPost) error
	// AddWarningCopy records a copy leasebot did not post itself in this
	// store (a click on a message from before a restart); it is a no-op if
	// that (conversation, ref) is already a copy of the warning.
	AddWarningCopy(ctx context.Context, notebook string, stop time.Time, name string, p Post) error
	// EnsureWarning returns the warning of (notebook, stop), creating it
	// open and without copies if it is not known.
	EnsureWarning(ctx context.Context, notebook string, stop time.Time, name string) (Warning, error)
	// Warning returns the warning of (notebook, stop).
	Warning(ctx context.Context, notebook string, stop time.Time) (Warning, bool, error)
	// OpenWarnings returns every open warning with at least one posted copy,
	// whose stop time is after since.
	OpenWarnings(ctx context.Context, since time.Time) ([]Warning, error)
	// ImportWarnings stores warnings read from an old state file; warnings
	// already known are left as they are.
	ImportWarnings(ctx context.Context, ws []Warning) error

	// Update runs fn in one transaction: history entries and the state
	// changes they describe are written together or not at all.
	Update(ctx context.Context, fn func(tx *Tx) error) error

	// AddHistory appends one entry on its own and sets its ID: for an
	// attempt whose state lives elsewhere (a lease at ModelArts), so that
	// nothing else is written with it. One statement, atomic by itself,
	// costs less than a transaction of Update; entries that describe a
	// change to the store's own state go in that change's Update.
	AddHistory(ctx context.Context, e *Entry) error

	// History returns entries matching q, newest first.
	History(ctx context.Context, q HistoryQuery) ([]Entry, error)
	// HistoryNotebooks returns every notebook the history has an entry
	// about, with the name its newest entry gives it, in no set order: so
	// that a channel's history can be asked for exactly the notebooks it
	// covers, deleted ones included, without reading every entry.
	HistoryNotebooks(ctx context.Context) ([]SeenNotebook, error)

	Keep(ctx context.Context, notebook string) (Keep, bool, error)
	Keeps(ctx context.Context) ([]Keep, error)

	Approval(ctx context.Context, id int64) (Approval, bool, error)
	// PendingApprovals returns every request still pending, expired or not.
	PendingApprovals(ctx context.Context) ([]Approval, error)

	// TryLead takes or renews leadership for holder until ttl from now, by
	// PostgreSQL's clock, the same for every replica (SQLite, which one
	// process has open, uses Options.Now), and reports whether holder leads. It fails over
	// to another holder only after the current one's time ran out.
	TryLead(ctx context.Context, holder string, ttl time.Duration) (bool, error)
	// Resign gives up leadership at once if holder has it.
	Resign(ctx context.Context, holder string) error

	// AddStartWatch records an announced start whose end is to be told.
	AddStartWatch(ctx context.Context, w StartWatch) error
	// StartWatches returns every start whose end is yet to be told.
	StartWatches(ctx context.Context) ([]StartWatch, error)
	// EndStartWatch deletes the watch of the message (conversation, ref)
	// and reports whether it was there: of the processes that see the same
	// end, the one that gets true tells it.
	EndStartWatch(ctx context.Context, conversation, ref string) (bool, error)

	// HomeOpened records that user has opened the app's home view.
	HomeOpened(ctx context.Context, user string) error
	// HasHome reports whether user has ever opened the app's home view.
	HasHome(ctx context.Context, user string) (bool, error)

	// Prune deletes what is no longer needed as of now: expired claims,
	// warnings whose stop time is over 7 days past, start watches over a
	// day old, history entries and decided requests for approval older
	// than historyDays.
	Prune(ctx context.Context, now time.Time, historyDays int) error
}

// TxAPI is what a transaction of Update offers.
type TxAPI interface {
	// AddHistory appends an entry; its ID is set from the store.
	AddHistory(e *Entry) error
	// EndWarning sets the outcome of an open warning and reports whether it
	// was open (false: someone else ended it first; nothing changed).
	EndWarning(o WarningOutcome) (bool, error)
	SetKeep(k Keep) error
	// EndKeep deletes the keep of notebook and reports whether there was one.
	EndKeep(notebook string) (bool, error)
	// EndKeepSet deletes the keep of notebook only if it is still the one
	// set at set, and reports whether it did: the leader ends the keep it
	// read, never one set again meanwhile.
	EndKeepSet(notebook string, set time.Time) (bool, error)
	// KeepWarned records that the channel of notebook's keep was told a
	// renewal failed for stop.
	KeepWarned(notebook string, stop time.Time) error
	// CreateApproval stores a pending request and sets a.ID.
	CreateApproval(a *Approval) error
	// ApprovalPosted records where the request was posted.
	ApprovalPosted(id int64, conversation, ref string) error
	// DecideApproval moves a pending request to state (approved, denied or
	// expired) and reports whether it was pending (false: decided before;
	// nothing changed).
	DecideApproval(id int64, state, decider string, at time.Time) (bool, error)
}

var (
	_ API   = (*DB)(nil)
	_ TxAPI = (*Tx)(nil)
)
