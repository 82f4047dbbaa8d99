package bot

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/leasebot/leasebot/store"
)

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// record writes the audit line of an attempted change and, unless the
// change's own transaction already did, its history entry.
func (b *Bot) record(ctx context.Context, user, place string, c change) {
	b.auditChange(user, place, c)
	if c.recorded {
		return
	}
	e := b.entry(user, place, c)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := b.store.AddHistory(ctx, &e); err != nil {
		b.log.Error("recording a change in the history failed", "notebook", c.nb.ID, "verb", c.verb, "err", err)
	}
}

// entry is the history entry of a change.
func (b *Bot) entry(user, place string, c change) store.Entry {
	return store.Entry{At: b.now(), User: user, Channel: place, Via: string(c.via), Notebook: c.nb.ID, NotebookName: c.nb.Name,
		Verb: c.verb, Requested: c.requested, OldStop: c.old, NewStop: c.new, Outcome: c.outcome, Code: c.code, Approver: c.approver}
}

// auditChange writes the one audit line of an attempted change: who, where,
// which notebook, what was asked, the stop time before and after, how it
// ended and why, and by which route access was granted.
func (b *Bot) auditChange(user, place string, c change) {
	attrs := []slog.Attr{
		slog.String("user", user),
		slog.String("channel", place),
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
	if c.approver != "" {
		attrs = append(attrs, slog.String("approver", c.approver))
	}
	if c.err != nil {
		attrs = append(attrs, slog.String("error", c.err.Error()))
	}
	b.audit.LogAttrs(context.Background(), slog.LevelInfo, "audit", attrs...)
}

// cannotRecord is the answer to a change asked for while the store cannot
// be written: leasebot changes nothing it cannot record.
func cannotRecord() Text {
	return Text{}.Plain("leasebot cannot record changes right now; nothing was changed. Please try again in a few minutes.")
}

// lockCode and lockRefusal say why the notebook's lock was not had: the
// store could not be reached, or another change took too long.
func lockCode(err error) string {
	if errors.Is(err, store.ErrUnavailable) {
		return "store_unavailable"
	}
	return "busy"
}

func lockRefusal(err error) Text {
	if errors.Is(err, store.ErrUnavailable) {
		return cannotRecord()
	}
	return Text{}.Plain("Another change to that notebook is taking long, so I did nothing. Please try again in a minute.")
}
