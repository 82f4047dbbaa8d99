package bot

import (
	"context"
	"log/slog"
	"time"

	"github.com/leasebot/leasebot/bot/command"
	"github.com/leasebot/leasebot/lease"
)

type auditEntry struct {
	user, channel string
	nb            lease.Notebook
	verb          string // extend, dismiss
	requested     string
	old, new      time.Time
	outcome       string // extended, dismissed, refused, failed
	code          string
	err           error
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// auditChange writes the one audit line of an attempted change.
func (b *Bot) auditChange(e auditEntry) {
	attrs := []slog.Attr{
		slog.String("user", e.user),
		slog.String("channel", e.channel),
		slog.String("notebook", e.nb.ID),
		slog.String("notebook_name", e.nb.Name),
		slog.String("verb", e.verb),
		slog.String("requested", e.requested),
		slog.String("old_stop", stamp(e.old)),
		slog.String("new_stop", stamp(e.new)),
		slog.String("outcome", e.outcome),
		slog.String("error_code", e.code),
	}
	if e.err != nil {
		attrs = append(attrs, slog.String("error", e.err.Error()))
	}
	b.audit.LogAttrs(context.Background(), slog.LevelInfo, "audit", attrs...)
}

func (b *Bot) auditRefusal(r Request, cmd command.Command, nb *lease.Notebook, code string) {
	e := auditEntry{user: r.User, channel: r.Channel, verb: "extend", requested: requested(cmd), outcome: "refused", code: code}
	if nb != nil {
		e.nb = *nb
		e.old = nb.StopTime()
	} else {
		e.nb.ID = cmd.Notebook
	}
	b.auditChange(e)
}
