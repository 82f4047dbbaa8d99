package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/duration"
)

// Describe summarises the config for `leasebot check`: the ModelArts target,
// the defaults, and the effective ACL of every channel, sorted by channel ID.
func (c *Config) Describe() string {
	if c == nil {
		return "no config\n"
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("config %s\n", c.Path)
	w("modelarts:\n")
	w("  endpoint:      %s\n", c.ModelArts.Endpoint)
	w("  project_id:    %s\n", c.ModelArts.ProjectID)
	w("  iam_endpoint:  %s\n", orNone(c.ModelArts.IAMEndpoint, "(none: AK/SK auth only)"))
	if c.ModelArts.ListAll {
		w("  list_all:      true (watching every user's notebooks)\n")
	} else {
		w("  list_all:      false (watching the credentials' own notebooks)\n")
	}
	w("admins:          %s\n", orNone(strings.Join(c.Admins, ", "), "(none)"))
	w("defaults:\n")
	w("  max_extend:    %s\n", duration.Format(c.Defaults.MaxExtend))
	w("  warn_before:   %s\n", durList(c.Defaults.WarnBefore))
	w("  extend_buttons: %s\n", buttons(c.Defaults.ExtendButtons))
	w("  poll_interval: %s\n", duration.Format(c.Defaults.PollInterval))
	w("  state_file:    %s\n", orNone(c.Defaults.StateFile, "(none: warnings may repeat after a restart)"))

	ids := make([]string, 0, len(c.Channels))
	for id := range c.Channels {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w("channels: %d (every other channel and every direct message is refused)\n", len(ids))
	for _, id := range ids {
		ch := c.Channels[id]
		w("\nchannel %s (line %d)\n", id, ch.Line)
		w("  users:         %s\n", orNone(strings.Join(ch.Users, ", "), "(none)"))
		w("  groups:        %s\n", orNone(strings.Join(ch.Groups, ", "), "(none)"))
		w("  admins:        %s\n", orNone(strings.Join(c.Admins, ", "), "(none)"))
		w("  notebooks:     %s\n", selectorList(ch.Notebooks))
		w("  max_extend:    %s\n", duration.Format(ch.MaxExtend))
		if ch.Warn {
			w("  warn:          on, %s before the stop time\n", durList(ch.WarnBefore))
			w("  buttons:       %s\n", buttons(ch.ExtendButtons))
		} else {
			w("  warn:          off\n")
		}
	}
	return b.String()
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
