// Package acl decides who may manage which notebook from which channel.
//
// A channel that is not configured, and a direct message, allow nothing. In a
// configured channel the channel's users, the members of its user groups and
// the global admins may act; the channel's notebook selectors say which
// notebooks it manages (admins may act on any notebook from any configured
// channel).
package acl

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
)

// Members resolves a Slack user group to its member user IDs.
type Members interface {
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// Reason says why a check failed.
type Reason int

// Reasons a check can fail.
const (
	Allowed          Reason = iota
	DirectMessage           // the request came from a DM
	UnknownChannel          // the channel is not in the config
	NotMember               // the user is not on the channel's list
	NotCovered              // the channel does not manage this notebook
	GroupLookupError        // a user group could not be resolved
)

// Decision is the outcome of a check.
type Decision struct {
	Reason Reason
	Admin  bool  // the user is a global admin
	Err    error // set with GroupLookupError
}

// OK reports whether the check allows the action.
func (d Decision) OK() bool { return d.Reason == Allowed }

// ACL is the compiled access policy of one config.
type ACL struct {
	admins   map[string]bool
	channels map[string]*channelRule
	members  Members
	index    *Index
}

type channelRule struct {
	ch    *config.Channel
	users map[string]bool
	sel   selectors
}

// New compiles the policy of cfg; members resolves user groups.
func New(cfg *config.Config, members Members) *ACL {
	a := &ACL{admins: map[string]bool{}, channels: map[string]*channelRule{}, members: members}
	for _, id := range cfg.Admins {
		a.admins[id] = true
	}
	for id, ch := range cfg.Channels {
		r := &channelRule{ch: ch, users: map[string]bool{}, sel: compile(ch.Notebooks)}
		for _, u := range ch.Users {
			r.users[u] = true
		}
		a.channels[id] = r
	}
	a.index = newIndex(a.channels)
	return a
}

// IsDirect reports whether a channel ID names a direct or group-direct message.
func IsDirect(channel string) bool { return strings.HasPrefix(channel, "D") }

// Channel returns the configuration of a configured channel.
func (a *ACL) Channel(id string) (*config.Channel, bool) {
	r, ok := a.channels[id]
	if !ok {
		return nil, false
	}
	return r.ch, true
}

// Member checks that user may act in channel at all.
func (a *ACL) Member(ctx context.Context, user, channel string) Decision {
	if IsDirect(channel) {
		return Decision{Reason: DirectMessage}
	}
	r, ok := a.channels[channel]
	if !ok {
		return Decision{Reason: UnknownChannel}
	}
	if a.admins[user] {
		return Decision{Reason: Allowed, Admin: true}
	}
	if r.users[user] {
		return Decision{Reason: Allowed}
	}
	var lookupErr error
	for _, g := range r.ch.Groups {
		users, err := a.members.GroupMembers(ctx, g)
		if err != nil {
			lookupErr = fmt.Errorf("user group %s: %w", g, err)
			continue
		}
		if slices.Contains(users, user) {
			return Decision{Reason: Allowed}
		}
	}
	if lookupErr != nil {
		return Decision{Reason: GroupLookupError, Err: lookupErr}
	}
	return Decision{Reason: NotMember}
}

// Check checks that user may change nb from channel.
func (a *ACL) Check(ctx context.Context, user, channel string, nb lease.Notebook) Decision {
	d := a.Member(ctx, user, channel)
	if !d.OK() || d.Admin {
		return d
	}
	if !a.channels[channel].sel.match(nb) {
		return Decision{Reason: NotCovered}
	}
	return d
}

// Covers reports whether channel's selectors cover nb.
func (a *ACL) Covers(channel string, nb lease.Notebook) bool {
	r, ok := a.channels[channel]
	return ok && r.sel.match(nb)
}

// Index returns the selector index for matching many notebooks to channels.
func (a *ACL) Index() *Index { return a.index }

// selectors is one channel's compiled notebook selectors.
type selectors struct {
	all   bool
	exact map[string]bool // IDs and literal names
	globs []string
	tags  map[string][]string // key -> accepted values
}

func compile(list []string) selectors {
	s := selectors{exact: map[string]bool{}, tags: map[string][]string{}}
	for _, sel := range list {
		switch {
		case sel == "*":
			s.all = true
		case strings.HasPrefix(sel, "tag:"):
			k, v, _ := strings.Cut(strings.TrimPrefix(sel, "tag:"), "=")
			s.tags[k] = append(s.tags[k], v)
		case strings.ContainsAny(sel, "*?["):
			s.globs = append(s.globs, sel)
		default:
			s.exact[sel] = true
		}
	}
	return s
}

func (s selectors) match(nb lease.Notebook) bool {
	if s.all || s.exact[nb.ID] || s.exact[nb.Name] {
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
