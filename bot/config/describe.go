package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/duration"
)

// Describe summarises the config for `leasebot check`: the ModelArts target,
// the store, the defaults and the owner rule, the people leasebot can reach,
// the effective ACL and limits of every channel (sorted by channel ID), and
// the notes, so that an operator sees what the bot will actually do.
func (c *Config) Describe() string {
	if c == nil {
		return "no config\n"
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	kv := func(indent, key, format string, args ...any) {
		w("%s%-*s %s\n", indent, 16-len(indent), key+":", fmt.Sprintf(format, args...))
	}
	d := c.Defaults

	w("config %s\n", c.Path)
	w("modelarts:\n")
	kv("  ", "endpoint", "%s", c.ModelArts.Endpoint)
	kv("  ", "project_id", "%s", c.ModelArts.ProjectID)
	kv("  ", "iam_endpoint", "%s", orNone(c.ModelArts.IAMEndpoint, "(none: AK/SK auth only)"))
	if c.ModelArts.ListAll {
		kv("  ", "list_all", "true (watching every user's notebooks)")
	} else {
		kv("  ", "list_all", "false (watching the credentials' own notebooks)")
	}
	kv("", "admins", "%s", orNone(strings.Join(c.Admins, ", "), "(none)"))
	w("store:\n")
	kv("  ", "path", "%s (SQLite; LEASEBOT_DATABASE_URL, when set, overrides it with PostgreSQL)", c.Store.Path)
	w("defaults:\n")
	kv("  ", "max_extend", "%s", duration.Format(d.MaxExtend))
	kv("  ", "warn_before", "%s", durList(d.WarnBefore))
	kv("  ", "extend_buttons", "%s", buttons(d.ExtendButtons))
	kv("  ", "poll_interval", "%s", duration.Format(d.PollInterval))
	if d.StateFile != "" {
		kv("  ", "state_file", "%s (deprecated: imported into the store once, then renamed %s.imported)", d.StateFile, d.StateFile)
	}
	kv("  ", "history_days", "%d", d.HistoryDays)
	kv("  ", "start_duration", "%s (a start without a duration; at most a channel's max_extend)", duration.Format(d.StartDuration))
	kv("  ", "actions", "%s", actionList(d.Actions, "members"))
	kv("  ", "max_keep", "%s", keepLimit(d.MaxKeep))
	kv("  ", "approval_max", "%s", duration.Format(d.ApprovalMax))
	kv("  ", "approval_ttl", "%s", duration.FormatLong(d.ApprovalTTL))
	w("owners (their own notebooks, from a direct message or the app's home):\n")
	if d.NotifyOwner {
		kv("  ", "notify_owner", "true (warnings also go to the owner by direct message)")
	} else {
		kv("  ", "notify_owner", "false (warnings go to channels only)")
	}
	kv("  ", "max_extend", "%s", duration.Format(d.OwnerMaxExtend))
	kv("  ", "actions", "%s", actionList(d.OwnerActions, "owners"))
	kv("  ", "max_keep", "%s", keepLimit(d.OwnerMaxKeep))
	if len(c.People) == 0 {
		w("people: (none: no notebook owner is reached directly)\n")
	} else {
		w("people: %d (IAM user name or ID -> user)\n", len(c.People))
		names := make([]string, 0, len(c.People))
		for k := range c.People {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			w("  %s -> %s\n", k, c.People[k])
		}
	}

	ids := make([]string, 0, len(c.Channels))
	for id := range c.Channels {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w("channels: %d (every other channel and every direct message is refused)\n", len(ids))
	for _, id := range ids {
		ch := c.Channels[id]
		w("\nchannel %s (line %d)\n", id, ch.Line)
		kv("  ", "users", "%s", orNone(strings.Join(ch.Users, ", "), "(none)"))
		kv("  ", "groups", "%s", orNone(strings.Join(ch.Groups, ", "), "(none)"))
		kv("  ", "admins", "%s", orNone(strings.Join(c.Admins, ", "), "(none)"))
		kv("  ", "notebooks", "%s", selectorList(ch.Notebooks))
		kv("  ", "actions", "%s (admins may do all)", actionList(ch.Actions, "members"))
		kv("  ", "max_extend", "%s", duration.Format(ch.MaxExtend))
		kv("  ", "max_keep", "%s", keepLimit(ch.MaxKeep))
		if ch.Approvers.Empty() {
			kv("  ", "approvals", "none (an extension over max_extend is refused)")
		} else {
			var who []string
			if len(ch.Approvers.Users) > 0 {
				who = append(who, "users "+strings.Join(ch.Approvers.Users, ", "))
			}
			if len(ch.Approvers.Groups) > 0 {
				who = append(who, "groups "+strings.Join(ch.Approvers.Groups, ", "))
			}
			kv("  ", "approvers", "%s (and admins)", strings.Join(who, "; "))
			kv("  ", "approval_max", "%s (extensions over %s and up to %s may be asked for)", duration.Format(ch.ApprovalMax),
				duration.Format(ch.MaxExtend), duration.Format(ch.ApprovalMax))
			kv("  ", "approval_ttl", "%s (an undecided request expires then)", duration.FormatLong(ch.ApprovalTTL))
		}
		if ch.Warn {
			kv("  ", "warn", "on, %s before the stop time", durList(ch.WarnBefore))
			kv("  ", "buttons", "%s", buttons(ch.ExtendButtons))
		} else {
			kv("  ", "warn", "off")
		}
	}
	if len(c.Notes) > 0 {
		w("\nnotes: %d\n", len(c.Notes))
		for _, n := range c.Notes {
			w("  %s\n", n.Error())
		}
	}
	return b.String()
}

// actionList writes what may be changed, or that nothing may.
func actionList(as []Action, who string) string {
	if len(as) == 0 {
		return "none: " + who + " may only read"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = string(a)
	}
	return strings.Join(parts, ", ")
}

// keepLimit writes a max_keep.
func keepLimit(d time.Duration) string {
	if d == 0 {
		return "0 (keep off)"
	}
	return duration.FormatLong(d) + " (a keep may end at most this far ahead)"
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func durList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = duration.Format(d)
	}
	return orNone(strings.Join(parts, ", "), "(none)")
}

func buttons(ds []time.Duration) string {
	parts := make([]string, 0, len(ds)+1)
	for _, d := range ds {
		parts = append(parts, "+"+duration.Format(d))
	}
	return strings.Join(append(parts, "Let it stop"), ", ")
}

func selectorList(sel []string) string {
	parts := make([]string, len(sel))
	for i, s := range sel {
		switch {
		case s == "*":
			parts[i] = "* (every notebook)"
		case strings.HasPrefix(s, "tag:"):
			parts[i] = s + " (tag)"
		case strings.ContainsAny(s, `*?[\`):
			parts[i] = s + " (name glob)"
		default:
			parts[i] = s + " (ID or exact name)"
		}
	}
	return orNone(strings.Join(parts, ", "), "(none)")
}
