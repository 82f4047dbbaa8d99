// Package lease reads and moves the auto-stop lease of ModelArts notebooks.
//
// It holds a small net/http client for the ModelArts notebook API (AK/SK
// signing or IAM password tokens), the typed errors callers branch on, and,
// in the simulator sub-package, an http.Handler that answers like ModelArts.
package lease

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// API limits of one lease renewal or start: the stop time is set as a
// duration from now, and ModelArts refuses one outside [MinDuration,
// MaxDuration] (ModelArts.6349). These are the project's one source of the
// 1 h and 72 h limits.
const (
	MinDuration = time.Hour
	MaxDuration = 72 * time.Hour
)

// MaxNameLen is the longest notebook name ModelArts accepts.
const MaxNameLen = 128

// IsNotebookID reports whether s has the shape of a ModelArts notebook ID, a
// UUID (8-4-4-4-12 hex digits, either case). A chat command can use it to
// tell an ID from a name without asking ModelArts.
func IsNotebookID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// ValidName reports whether s can be a notebook name: 1 to MaxNameLen ASCII
// letters, digits, '-' or '_'. Every notebook ID passes too, so the client
// uses it to refuse, without a request, anything that could not name a
// notebook or would change the meaning of a request path.
func ValidName(s string) bool {
	return s != "" && len(s) <= MaxNameLen && nameChars(s)
}

// nameChars reports whether s holds only ASCII letters, digits, '-' and '_'.
func nameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Notebook statuses as ModelArts spells them.
const (
	StatusRunning  = "RUNNING"
	StatusStopped  = "STOPPED"
	StatusStarting = "STARTING"
	StatusStopping = "STOPPING"
	// StatusStartFailed ends a start that did not succeed; the notebook's
	// FailReason says why.
	StatusStartFailed = "START_FAILED"
)

// Lease is a notebook's auto-stop policy. Times are epoch milliseconds.
type Lease struct {
	CreateAt int64  `json:"create_at,omitempty"`
	Duration int64  `json:"duration,omitempty"`
	Enable   bool   `json:"enable"`
	Type     string `json:"type,omitempty"`
	UpdateAt int64  `json:"update_at,omitempty"`
}

// UnmarshalJSON reads a lease; an absent "enable" counts as true, since
// list answers do not always carry it and a lease with a duration is on.
func (l *Lease) UnmarshalJSON(data []byte) error {
	type plain Lease
	var v struct {
		plain
		Enable *bool `json:"enable"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*l = Lease(v.plain)
	l.Enable = v.Enable == nil || *v.Enable
	return nil
}

// StopTime is when the notebook auto-stops: create_at + duration.
// It is the zero time when auto-stop is off or the lease is empty.
func (l Lease) StopTime() time.Time {
	if !l.Enable || l.CreateAt == 0 {
		return time.Time{}
	}
	return time.UnixMilli(l.CreateAt + l.Duration)
}

// IsTiming reports whether the lease is a scheduled stop (type compared case-insensitively;
// an absent type counts as timing, the API's default).
func (l Lease) IsTiming() bool {
	return l.Type == "" || strings.EqualFold(l.Type, "timing")
}

// User is the IAM user who owns a notebook.
type User struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Tag is a resource tag on a notebook.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Progress is one step of a start or stop in progress, so that a chat can
// say how far a notebook has got (ModelArts' action_progress).
type Progress struct {
	NotebookID      string `json:"notebook_id,omitempty"`
	Status          string `json:"status"`                     // WAITING, PROCESSING, FAILED or COMPLETED
	Step            int    `json:"step"`                       // 1 storage, 2 compute, 3 network, 4 initialisation
	StepDescription string `json:"step_description,omitempty"` // the step in words
}

// Notebook is the part of a ModelArts notebook that leasebot uses.
type Notebook struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Status      string `json:"status"`
	Flavor      string `json:"flavor,omitempty"`
	Feature     string `json:"feature,omitempty"`
	Lease       Lease  `json:"lease"`
	User        User   `json:"user,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
	URL         string `json:"url,omitempty"`
	WorkspaceID string `json:"workspace_id,omitempty"`
	// FailReason says why the last start failed (status START_FAILED), in
	// ModelArts' words, so that a chat can pass it on.
	FailReason string `json:"fail_reason,omitempty"`
	// ActionProgress lists the steps of a start or stop under way.
	ActionProgress []Progress `json:"action_progress,omitempty"`
}

// StopTime is the notebook's lease stop time (see Lease.StopTime).
func (n Notebook) StopTime() time.Time { return n.Lease.StopTime() }

// Running reports whether the notebook is RUNNING.
func (n Notebook) Running() bool { return strings.EqualFold(n.Status, StatusRunning) }

// Kind classifies a ModelArts failure so callers can branch on it.
type Kind int

// Error kinds.
const (
	KindOther       Kind = iota
	KindNotFound         // 400 with ModelArts.6309 / ModelArts.6404, or a 404 with a ModelArts code or no error code
	KindNotRunning       // ModelArts.6327, ModelArts.6307
	KindOutOfRange       // ModelArts.6349
	KindBusy             // ModelArts.6357
	KindAuth             // HTTP 401 / 403
	KindUnavailable      // 429, 5xx, network errors and timeouts, after retries
	// KindConfig is a 404 from the API gateway (APIG.0101 and other non-ModelArts
	// codes) or on a listing: the endpoint or project ID is wrong, not the notebook.
	// It is not retried; an operator has to fix the configuration.
	KindConfig
	// KindUnknown is a change that may or may not have been applied: the
	// request was sent but no answer says what happened, and reading the
	// notebook back did not settle it. Renew, Start and Stop return it; the
	// caller should read the notebook again before it tells anyone a stop
	// time or a status.
	KindUnknown
)

var kindNames = [...]string{"other", "not found", "not running", "out of range", "busy", "auth refused", "unavailable", "configuration error", "outcome unknown"}

// String names the kind in words fit for a log line.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Sentinel errors matched by errors.Is against an *Error of the same kind.
var (
	ErrNotFound    = &Error{Kind: KindNotFound}
	ErrNotRunning  = &Error{Kind: KindNotRunning}
	ErrOutOfRange  = &Error{Kind: KindOutOfRange}
	ErrBusy        = &Error{Kind: KindBusy}
	ErrAuth        = &Error{Kind: KindAuth}
	ErrUnavailable = &Error{Kind: KindUnavailable}
	ErrConfig      = &Error{Kind: KindConfig}
	ErrUnknown     = &Error{Kind: KindUnknown}
)

// opToken is the Op of an IAM token request; a configuration error there
// points at the IAM endpoint rather than at ModelArts.
const opToken = "get IAM token"

// Error is a failed ModelArts call. It never carries a credential.
type Error struct {
	Kind    Kind
	Op      string // e.g. "renew lease"
	ID      string // notebook ID, if any
	Status  int    // HTTP status, 0 for network errors
	Code    string // ModelArts error_code, e.g. "ModelArts.6309"
	Message string // ModelArts error_msg
	Err     error  // underlying network error, if any
}

// Error reads "op id: kind (HTTP status code): message: cause"; a
// configuration error also says which setting to check.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.ID != "" {
		b.WriteString(" ")
		b.WriteString(e.ID)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		b.WriteString(")")
	}
	// The hint goes on the error that got the answer, not on one wrapping it.
	hint := e.Kind == KindConfig && e.Status != 0
	switch {
	case hint && e.Op == opToken:
		b.WriteString(": the IAM endpoint answered 'API does not exist': check modelarts.iam_endpoint")
	case hint:
		b.WriteString(": the ModelArts endpoint or project answered 'API does not exist': check modelarts.endpoint and project_id")
	}
	if hint && e.Message != "" {
		b.WriteString(" (" + e.Message + ")")
	} else if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying network error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of the same Kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Op == "" && t.Status == 0 && t.Code == "" && t.Kind == e.Kind
}

// KindOf returns the Kind of err, KindOther if it is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}

// CodeOf returns the ModelArts error code carried by err, if any.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
