package bot

import (
	"context"
	"log/slog"
	"time"
)

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// auditChange writes the one audit line of an attempted change: who, where,
// which notebook, what was asked, the stop time before and after, how it
// ended and why, and by which route access was granted.
func (b *Bot) auditChange(user, channel string, c change) {
	attrs := []slog.Attr{
		slog.String("user", user),
		slog.String("channel", channel),
		slog.String("notebook", c.nb.ID),
		slog.String("notebook_name", c.nb.Name),
		slog.String("verb", c.verb),
		slog.String("requested", c.requested),
		slog.String("old_stop", stamp(c.old)),
		slog.String("new_stop", stamp(c.new)),
		slog.String("outcome", c.outcome),
		slog.String("error_code", c.code),
	}
	if c.via != "" {
		attrs = append(attrs, slog.String("via", string(c.via)))
	}
	if c.err != nil {
		attrs = append(attrs, slog.String("error", c.err.Error()))
	}
	b.audit.LogAttrs(context.Background(), slog.LevelInfo, "audit", attrs...)
}
