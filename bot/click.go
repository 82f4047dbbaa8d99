package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
)

// HandleClick carries out a press on a warning button. The clicked warning
// (and any copy in other channels) is replaced in place through Chat; the
// returned message, if any, is for the clicker alone.
func (b *Bot) HandleClick(ctx context.Context, c Click) (reply *Message) {
	outcome := "refused"
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("click panicked", "user", c.User, "channel", c.Channel, "panic", fmt.Sprint(p))
			m := ephemeral(Text{}.Plain("Something went wrong inside leasebot; nothing was changed. The error is logged; please tell an admin."))
			reply, outcome = &m, "panic"
		}
		b.obs.Click(c.Action, outcome)
	}()
	var amount time.Duration
	var id string
	var shown time.Time
	var err error
	switch c.Action {
	case ActionExtend:
		id, shown, amount, err = parseButton(c.Value, true)
	case ActionDismiss:
		id, shown, _, err = parseButton(c.Value, false)
	default:
		b.log.Info("ignored click on an unknown action", "action", c.Action)
		outcome = "ignored"
		return nil
	}
	if err != nil {
		b.log.Info("ignored click with a bad value", "action", c.Action, "err", err)
		outcome = "ignored"
		return nil
	}
	verb := "extend"
	if c.Action == ActionDismiss {
		verb = "dismiss"
	}
	entry := auditEntry{user: c.User, channel: c.Channel, nb: lease.Notebook{ID: id}, verb: verb, old: shown, outcome: "refused"}
	if amount > 0 {
		entry.requested = duration.Format(amount)
	}
	say := func(t Text) *Message { m := ephemeral(t); return &m }

	if d := b.acl.Member(ctx, c.User, c.Channel); !d.OK() {
		entry.code = refusalCode(d)
		b.auditChange(entry)
		return say(b.refusal(d))
	}
	nb, err := b.leases.Get(ctx, id)
	if err != nil {
		entry.outcome, entry.code, entry.err = "failed", errCode(err), err
		b.auditChange(entry)
		return say(b.leaseFailure(err, lease.Notebook{ID: id}))
	}
	entry.nb = nb
	if d := b.acl.Check(ctx, c.User, c.Channel, nb); !d.OK() {
		entry.code = refusalCode(d)
		b.auditChange(entry)
		return say(b.refusal(d))
	}

	b.mu.Lock()
	w := b.warningFor(nb, shown)
	if w.Name == "" {
		w.Name = nb.Name
	}
	if !hasPost(w, c.Channel, c.Ref) && c.Ref != "" {
		w.Posts = append(w.Posts, post{Channel: c.Channel, Ref: c.Ref})
	}
	switch {
	case w.Outcome == outcomeExtended:
		by, to := w.By, time.UnixMilli(w.NewStop)
		b.mu.Unlock()
		entry.code = "already_extended"
		b.auditChange(entry)
		return say(stopAt(Text{}.User(by).Plain(" already extended it; it now stops "), to, b.now()).Plain("."))
	case w.Outcome == outcomeDismissed:
		by := w.By
		b.mu.Unlock()
		entry.code = "already_dismissed"
		b.auditChange(entry)
		return say(Text{}.User(by).Plain(" already chose to let it stop at that time."))
	case w.pending != "":
		by := w.pending
		b.mu.Unlock()
		entry.code = "in_progress"
		b.auditChange(entry)
		return say(Text{}.User(by).Plain(" is acting on this warning right now."))
	}
	w.pending = c.User
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		w.pending = ""
		b.mu.Unlock()
	}()

	now := b.now()
	current := nb.StopTime()
	if c.Action == ActionDismiss {
		b.mu.Lock()
		w.Outcome, w.By = outcomeDismissed, c.User
		b.mu.Unlock()
		entry.outcome, entry.new = "dismissed", shown
		b.auditChange(entry)
		b.updatePosts(ctx, w, b.dismissedMessage(w))
		outcome = "ok"
		return nil
	}
	if !nb.Running() || current.IsZero() {
		_, no := planExtension(nb, shown.Add(amount), b.maxExtend(c.Channel), now)
		entry.code = no.code
		b.auditChange(entry)
		return say(no.text)
	}
	target := shown.Add(amount)
	if !current.Equal(shown) {
		// A stop time within a minute of the target is this extension, done
		// before (ModelArts' clock and ours differ by milliseconds).
		if current.After(target.Add(-time.Minute)) {
			entry.code = "already_later"
			b.auditChange(entry)
			return say(stopAt(named(Text{}, nb).Plain(" already stops "), current, now).Plain(", no earlier than this button would set; nothing changed."))
		}
	}
	p, no := planExtension(nb, target, b.maxExtend(c.Channel), now)
	if no != nil {
		entry.code = no.code
		b.auditChange(entry)
		return say(no.text)
	}
	newStop, err := b.leases.Renew(ctx, nb.ID, p.target)
	b.forget()
	if err != nil {
		entry.outcome, entry.code, entry.err = "failed", errCode(err), err
		b.auditChange(entry)
		return say(b.leaseFailure(err, nb))
	}
	entry.outcome, entry.new = "extended", newStop
	b.auditChange(entry)
	b.mu.Lock()
	w.Outcome, w.By, w.NewStop = outcomeExtended, c.User, newStop.UnixMilli()
	w.Amount = newStop.Sub(maxTime(current, now)).Round(time.Minute)
	b.mu.Unlock()
	b.updatePosts(ctx, w, b.extendedMessage(w, b.now()))
	outcome = "ok"
	return nil
}

func hasPost(w *warning, channel, ref string) bool {
	for _, p := range w.Posts {
		if p.Channel == channel && p.Ref == ref {
			return true
		}
	}
	return false
}
