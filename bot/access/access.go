// Package access decides who may do what to which notebook, from where.
//
// Every decision is made here, in one place, and comes with the route that
// granted it (a channel's list, an admin, or the notebook's owner), so that
// it can be audited the same way whatever the route:
//
//   - In a configured channel, the channel's users, the members of its user
//     groups and the global admins may act; the channel's notebook
//     selectors say which notebooks it manages (admins: any notebook), and
//     its actions say what its members may change (admins: everything).
//   - In a direct message with the app no channel's list applies: a person
//     may manage only the notebooks they own (the config's people map names
//     owners), within the owner limits.
//   - In the app's home view (Anywhere) a person may act on their own
//     notebooks by the owner rule, and on those of the channels whose lists
//     hold them, as in those channels.
//   - Everything else is refused: deny by default.
package access

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
)

// Members resolves a chat user group to its member user IDs.
type Members interface {
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// Where is the place a request comes from.
type Where struct {
	Channel string
	// Direct: a direct message with the app, or its home view. No channel's
	// access list applies to Check there, only the owner rule; the home
	// view's buttons are decided by Anywhere instead.
	Direct bool
}

// Reason says why a check failed.
type Reason int

// Reasons a check can fail.
const (
	Allowed          Reason = iota
	DirectMessage           // a direct message from someone who owns no notebook leasebot knows of
	UnknownChannel          // the channel is not in the config
	NotMember               // the user is not on the channel's list
	NotCovered              // the channel does not manage this notebook, or the person does not own it
	ActionNotAllowed        // the channel (or the owner rule) does not allow this action
	GroupLookupError        // a user group could not be resolved
)

// Via is the route by which a decision allowed something, for the audit log.
type Via string

// The routes.
const (
	ViaChannel Via = "channel" // the channel's users or groups
	ViaAdmin   Via = "admin"   // a global admin
	ViaOwner   Via = "owner"   // the notebook's owner, in a direct message or the home view
)

// Decision is the outcome of a check.
type Decision struct {
	Reason Reason
	Via    Via   // set when allowed
	Admin  bool  // the user is a global admin acting in a configured channel
	Err    error // set with GroupLookupError
	// Channel is the configured channel the decision was made in; nil for
	// the owner route and for refusals outside a configured channel.
	Channel *config.Channel
	// MaxExtend and MaxKeep are the limits of the route: the channel's, or
	// the owner rule's.
	MaxExtend time.Duration
	MaxKeep   time.Duration
	Action    config.Action // the action refused with ActionNotAllowed
}

// OK reports whether the check allows the action.
func (d Decision) OK() bool { return d.Reason == Allowed }

// DefaultGroupTTL is how long a user group's members are trusted: a person
// removed from a group loses access within this time.
const DefaultGroupTTL = 60 * time.Second

// Policy is the compiled access policy of one config. It is safe for concurrent use.
type Policy struct {
	cfg      *config.Config
	admins   map[string]bool
	channels map[string]*channelRule
	owners   map[string]string   // IAM user name or ID -> chat user
	owned    map[string][]string // chat user -> IAM names and IDs
	index    *Index
	groups   *groupCache
}

type channelRule struct {
	ch    *config.Channel
	users map[string]bool
	sel   selectors
}

// New compiles the policy of cfg; members resolves user groups, whose
// members are cached for groupTTL (DefaultGroupTTL when zero).
func New(cfg *config.Config, members Members, groupTTL time.Duration) *Policy {
	if groupTTL <= 0 {
		groupTTL = DefaultGroupTTL
	}
	p := &Policy{cfg: cfg, admins: map[string]bool{}, channels: map[string]*channelRule{},
		owners: map[string]string{}, owned: map[string][]string{},
		groups: newGroupCache(members, groupTTL)}
	for _, id := range cfg.Admins {
		p.admins[id] = true
	}
	for id, ch := range cfg.Channels {
		r := &channelRule{ch: ch, users: map[string]bool{}, sel: compile(ch.Notebooks)}
		for _, u := range ch.Users {
			r.users[u] = true
		}
		p.channels[id] = r
	}
	for iam, user := range cfg.People {
		p.owners[iam] = user
		p.owned[user] = append(p.owned[user], iam)
	}
	p.index = newIndex(p.channels)
	return p
}

// Channel returns the configuration of a configured channel.
func (p *Policy) Channel(id string) (*config.Channel, bool) {
	r, ok := p.channels[id]
	if !ok {
		return nil, false
	}
	return r.ch, true
}

// Owner returns the chat user who owns nb, or "" when its owner is not in
// the people map.
func (p *Policy) Owner(nb lease.Notebook) string {
	if u := p.owners[nb.User.Name]; u != "" && nb.User.Name != "" {
		return u
	}
	if u := p.owners[nb.User.ID]; u != "" && nb.User.ID != "" {
		return u
	}
	return ""
}

// IsOwner reports whether user owns any notebook leasebot could know of
// (their chat ID is in the people map).
func (p *Policy) IsOwner(user string) bool { return len(p.owned[user]) > 0 }

// IsAdmin reports whether user is a global admin.
func (p *Policy) IsAdmin(user string) bool { return p.admins[user] }

func (p *Policy) ownerDecision() Decision {
	d := p.cfg.Defaults
	return Decision{Reason: Allowed, Via: ViaOwner, MaxExtend: d.OwnerMaxExtend, MaxKeep: d.OwnerMaxKeep}
}

// Member checks that user may use leasebot at w at all: read, and ask for
// changes that Check then decides per notebook.
func (p *Policy) Member(ctx context.Context, user string, w Where) Decision {
	if w.Direct {
		if p.IsOwner(user) {
			return p.ownerDecision()
		}
		return Decision{Reason: DirectMessage}
	}
	r, ok := p.channels[w.Channel]
	if !ok {
		return Decision{Reason: UnknownChannel}
	}
	allowed := Decision{Reason: Allowed, Via: ViaChannel, Channel: r.ch, MaxExtend: r.ch.MaxExtend, MaxKeep: r.ch.MaxKeep}
	if p.admins[user] {
		allowed.Via, allowed.Admin = ViaAdmin, true
		return allowed
	}
	if r.users[user] {
		return allowed
	}
	in, err := p.inGroups(ctx, user, r.ch.Groups)
	switch {
	case in:
		return allowed
	case err != nil:
		return Decision{Reason: GroupLookupError, Err: err}
	}
	return Decision{Reason: NotMember}
}

// inGroups reports whether user is in any of groups; err is set only when
// no group matched and at least one could not be read.
func (p *Policy) inGroups(ctx context.Context, user string, groups []string) (bool, error) {
	var lookupErr error
	for _, g := range groups {
		users, err := p.groups.lookup(ctx, g)
		if err != nil {
			lookupErr = fmt.Errorf("user group %s: %w", g, err)
			continue
		}
		if slices.Contains(users, user) {
			return true, nil
		}
	}
	return false, lookupErr
}

// Check decides whether user may take action on nb at w. An empty action
// asks only whether user may see nb there (status, history).
func (p *Policy) Check(ctx context.Context, user string, w Where, action config.Action, nb lease.Notebook) Decision {
	if w.Direct {
		d := p.Member(ctx, user, w)
		if !d.OK() {
			return d
		}
		if p.Owner(nb) != user {
			return Decision{Reason: NotCovered}
		}
		if action != "" && !slices.Contains(p.cfg.Defaults.OwnerActions, action) {
			return Decision{Reason: ActionNotAllowed, Action: action, Via: ViaOwner}
		}
		return d
	}
	d := p.Member(ctx, user, w)
	if !d.OK() || d.Admin {
		return d
	}
	r := p.channels[w.Channel]
	if !r.sel.match(nb) {
		return Decision{Reason: NotCovered, Channel: r.ch}
	}
	if action != "" && !r.ch.Allows(action) {
		return Decision{Reason: ActionNotAllowed, Action: action, Channel: r.ch, Via: ViaChannel}
	}
	return d
}

// Permits reports whether the route d granted (by Member) allows action at
// all, whatever the notebook: admins may do everything, a channel's members
// what its actions list, owners what owner_actions lists. It lets a
// refusal come before any ModelArts call.
func (p *Policy) Permits(d Decision, action config.Action) bool {
	switch {
	case !d.OK():
		return false
	case d.Admin || action == "":
		return true
	case d.Via == ViaOwner:
		return slices.Contains(p.cfg.Defaults.OwnerActions, action)
	case d.Channel != nil:
		return d.Channel.Allows(action)
	}
	return false
}

// Visible reports whether nb may be named at all in answers to user at w:
// a channel's notebooks (any notebook for an admin), or in a direct
// message the person's own. Everything else is answered exactly as if it
// did not exist.
func (p *Policy) Visible(user string, w Where, nb lease.Notebook) bool {
	if w.Direct {
		return p.Owner(nb) == user && user != ""
	}
	r, ok := p.channels[w.Channel]
	if !ok {
		return false
	}
	return p.admins[user] || r.sel.match(nb)
}

// Covers reports whether channel's selectors cover nb.
func (p *Policy) Covers(channel string, nb lease.Notebook) bool {
	r, ok := p.channels[channel]
	return ok && r.sel.match(nb)
}

// CoversAll reports whether channel's selectors cover every notebook
// ("*"), so that a question about all of its notebooks needs no filter.
func (p *Policy) CoversAll(channel string) bool {
	r, ok := p.channels[channel]
	return ok && r.sel.all
}

// ChannelsOf lists, sorted, the configured channels whose own access list
// holds user (as a user or through a group); admin rights do not count.
// Group look-up failures leave that channel out.
func (p *Policy) ChannelsOf(ctx context.Context, user string) []string {
	var out []string
	for id, r := range p.channels {
		if r.users[user] {
			out = append(out, id)
			continue
		}
		if in, _ := p.inGroups(ctx, user, r.ch.Groups); in {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Anywhere decides action on nb for user outside any channel (the home
// view): allowed if user owns nb (owner rule) or if a channel whose list
// holds user manages nb and allows the action. Of the routes that allow
// it, the one with the largest extension limit wins.
func (p *Policy) Anywhere(ctx context.Context, user string, action config.Action, nb lease.Notebook) Decision {
	best := Decision{Reason: NotCovered}
	if p.Owner(nb) == user && user != "" {
		best = p.Check(ctx, user, Where{Direct: true}, action, nb)
	}
	for _, ch := range p.ChannelsOf(ctx, user) {
		d := p.Check(ctx, user, Where{Channel: ch}, action, nb)
		switch {
		case d.OK() && (!best.OK() || d.MaxExtend > best.MaxExtend):
			best = d
		case !d.OK() && !best.OK() && d.Reason == ActionNotAllowed:
			best = d
		}
	}
	return best
}

// IsApprover reports whether user may decide requests for approval in
// channel: one of its approvers (by user or group) or a global admin.
func (p *Policy) IsApprover(ctx context.Context, user, channel string) (bool, error) {
	if p.admins[user] {
		return true, nil
	}
	r, ok := p.channels[channel]
	if !ok {
		return false, nil
	}
	if slices.Contains(r.ch.Approvers.Users, user) {
		return true, nil
	}
	return p.inGroups(ctx, user, r.ch.Approvers.Groups)
}

// Index returns the selector index for matching many notebooks to channels.
func (p *Policy) Index() *Index { return p.index }

// selectors is one channel's compiled notebook selectors.
type selectors struct {
	all   bool
	ids   map[string]bool // notebook IDs, lower case: they match IDs only
	names map[string]bool // literal names
	globs []string
	tags  map[string][]string // key -> accepted values
}

func compile(list []string) selectors {
	s := selectors{ids: map[string]bool{}, names: map[string]bool{}, tags: map[string][]string{}}
	for _, sel := range list {
		switch {
		case sel == "*":
			s.all = true
		case strings.HasPrefix(sel, "tag:"):
			k, v, _ := strings.Cut(strings.TrimPrefix(sel, "tag:"), "=")
			s.tags[k] = append(s.tags[k], v)
		case lease.IsNotebookID(sel):
			// A notebook ID names one notebook; a notebook someone named
			// like that ID is a different one.
			s.ids[strings.ToLower(sel)] = true
		case strings.ContainsAny(sel, "*?["):
			s.globs = append(s.globs, sel)
		default:
			s.names[sel] = true
		}
	}
	return s
}

func (s selectors) match(nb lease.Notebook) bool {
	if s.all || s.ids[strings.ToLower(nb.ID)] || s.names[nb.Name] {
		return true
	}
	// A literal selector that is not ID-shaped may still be an ID in a
	// project whose IDs are not UUIDs.
	if !lease.IsNotebookID(nb.ID) && s.names[nb.ID] {
		return true
	}
	for _, g := range s.globs {
		if ok, _ := path.Match(g, nb.Name); ok {
			return true
		}
	}
	for _, t := range nb.Tags {
		if slices.Contains(s.tags[t.Key], t.Value) {
			return true
		}
	}
	return false
}

// groupCache keeps user groups' members for a short time, and lets
// concurrent look-ups of one group share a single call.
type groupCache struct {
	dir Members
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	entries  map[string]groupEntry
	inflight map[string]*groupCall
}

type groupEntry struct {
	users []string
	at    time.Time
}

type groupCall struct {
	done  chan struct{}
	users []string
	err   error
}

func newGroupCache(m Members, ttl time.Duration) *groupCache {
	return &groupCache{dir: m, ttl: ttl, now: time.Now, entries: map[string]groupEntry{}, inflight: map[string]*groupCall{}}
}

func (c *groupCache) lookup(ctx context.Context, group string) ([]string, error) {
	if c.dir == nil {
		return nil, fmt.Errorf("no directory to resolve user groups")
	}
	c.mu.Lock()
	if e, ok := c.entries[group]; ok && c.now().Sub(e.at) < c.ttl {
		c.mu.Unlock()
		return e.users, nil
	}
	call, ok := c.inflight[group]
	if !ok {
		call = &groupCall{done: make(chan struct{})}
		c.inflight[group] = call
		go c.fetch(ctx, group, call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.users, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch runs one look-up for everyone waiting on call. It is not cut short
// when the first caller gives up: the others may still want the answer.
func (c *groupCache) fetch(ctx context.Context, group string, call *groupCall) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	users, err := c.dir.GroupMembers(ctx, group)
	c.mu.Lock()
	delete(c.inflight, group)
	if err == nil {
		c.entries[group] = groupEntry{users: users, at: c.now()}
	}
	call.users, call.err = users, err
	c.mu.Unlock()
	close(call.done)
}
