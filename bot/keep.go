package bot

import (
	"context"
	"time"

	"github.com/leasebot/leasebot/bot/access"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// A keep keeps a notebook running past ModelArts' 72h limit: whenever its
// lease has less than an hour plus a poll interval left, the leader renews
// it to the earlier of the keep's end and 72h from now. It lives in the
// store, so it survives restarts, and only the leader renews, under the
// notebook's lock, so a renewal happens once.

// keepsByNotebook returns the active keeps by notebook ID.
func (b *Bot) keepsByNotebook(ctx context.Context) (map[string]store.Keep, error) {
	ks, err := b.store.Keeps(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Keep, len(ks))
	for _, k := range ks {
		out[k.Notebook] = k
	}
	return out, nil
}

func (b *Bot) keep(ctx context.Context, r *request) result {
	if r.cmd.Off {
		return b.keepOff(ctx, r)
	}
	limit := r.member.MaxKeep
	if limit <= 0 {
		where := "this channel"
		if r.where.Direct {
			where = "owners here"
		}
		return b.refused(r, "keep_off", Text{}.Plain("Keeping notebooks is off for "+where+" (max_keep is 0). Ask an admin to set max_keep."))
	}
	until, note, no := b.keepTime(ctx, r, limit)
	if no != nil {
		return b.refused(r, no.code, no.text)
	}
	return b.changeNotebook(ctx, r, r.cmd.Notebook, config.ActionKeep, func(nb lease.Notebook, d access.Decision) result {
		if d.MaxKeep > 0 && until.Sub(b.now()) > d.MaxKeep {
			no := keepTooFar(until.Sub(b.now()), d.MaxKeep)
			return b.refusedOn(r, nb, no.code, no.text)
		}
		c := &change{nb: nb, old: nb.StopTime(), new: until}
		switch {
		case !nb.Running():
			c.outcome, c.code = outcomeRefused, "not_running"
			return result{reply: say(named(Text{}, nb).Plain(" is " + nb.Status + "; only a running notebook can be kept running.")), change: c}
		case nb.StopTime().IsZero():
			c.outcome, c.code = outcomeRefused, "auto_stop_off"
			return result{reply: say(named(Text{}, nb).Plain(" has auto-stop turned off: it will not stop, so there is nothing to keep.")), change: c}
		case !nb.Lease.IsTiming():
			c.outcome, c.code = outcomeRefused, "idle_lease"
			return result{reply: say(named(Text{}, nb).Plain(" stops when it has been idle (" + nb.Lease.Type + "), not at a set time; leasebot only keeps scheduled stops, so it left it alone.")), change: c}
		case !until.After(nb.StopTime()):
			c.outcome, c.code = outcomeRefused, "unchanged"
			return result{reply: say(stopAt(named(Text{}, nb).Plain(" already stops "), nb.StopTime(), b.now()).Plain(", no earlier than that; no keep is needed.")), change: c}
		}
		k := store.Keep{Notebook: nb.ID, Name: nb.Name, Until: until, By: r.User, Channel: r.place(), Set: b.now()}
		entry := b.entry(r.User, r.place(), *c)
		entry.Verb, entry.Requested, entry.Outcome, entry.Via = "keep", requested(r.cmd), "kept", string(d.Via)
		if err := b.store.Update(ctx, func(tx *store.Tx) error {
			if err := tx.SetKeep(k); err != nil {
				return err
			}
			return tx.AddHistory(&entry)
		}); err != nil {
			b.log.Error("recording a keep failed", "notebook", nb.ID, "err", err)
			c.outcome, c.code, c.err = outcomeRefused, "store_unavailable", err
			return result{reply: say(cannotRecord()), change: c}
		}
		c.outcome, c.recorded = "kept", true
		t := Text{}.Plain("📌 ").User(r.User).Plain(" keeps ").Concat(named(Text{}, nb)).Plain(" running until ").Time(until).
			Plain(". ModelArts allows 72h at a time, so leasebot renews its lease as it runs out; ").Code("/notebook keep " + nb.Name + " off").Plain(" ends the keep.")
		// A lease that is already short is renewed now, not at the next cycle.
		if left := nb.StopTime().Sub(b.now()); left < lease.MinDuration+b.cfg.Defaults.PollInterval {
			b.renewKeep(ctx, nb, k)
		}
		return result{reply: &Message{Text: t.Concat(note), InChannel: true}, change: c, ok: true}
	})
}

// keepTime reads a keep's end in the caller's time zone and checks it
// against the place's max_keep before any ModelArts call.
func (b *Bot) keepTime(ctx context.Context, r *request, limit time.Duration) (time.Time, Text, *refusal) {
	return b.untilTime(ctx, r, limit, func(_ time.Time, ahead time.Duration) *refusal { return keepTooFar(ahead, limit) })
}

func keepTooFar(d, limit time.Duration) *refusal {
	return &refusal{"over_max_keep", Text{}.Plain("That keep would end " + duration.FormatLong(d.Round(time.Minute)) +
		" from now; keeps here may end at most " + duration.FormatLong(limit) + " ahead (max_keep).")}
}

func (b *Bot) keepOff(ctx context.Context, r *request) result {
	return b.changeNotebook(ctx, r, r.cmd.Notebook, config.ActionKeep, func(nb lease.Notebook, d access.Decision) result {
		c := &change{nb: nb, old: nb.StopTime(), verb: "keep-off", requested: "off"}
		entry := b.entry(r.User, r.place(), *c)
		entry.Outcome, entry.Via = "ended", string(d.Via)
		var had bool
		err := b.store.Update(ctx, func(tx *store.Tx) error {
			var err error
			if had, err = tx.EndKeep(nb.ID); err != nil || !had {
				return err
			}
			return tx.AddHistory(&entry)
		})
		switch {
		case err != nil:
			c.outcome, c.code, c.err = outcomeRefused, "store_unavailable", err
			return result{reply: say(cannotRecord()), change: c}
		case !had:
			c.outcome, c.code = outcomeRefused, "no_keep"
			return result{reply: say(named(Text{}, nb).Plain(" is not kept; there is nothing to end.")), change: c}
		}
		c.outcome, c.recorded = "ended", true
		t := Text{}.Plain("📌 ").User(r.User).Plain(" ended the keep on ").Concat(named(Text{}, nb))
		if s := nb.StopTime(); !s.IsZero() {
			t = stopAt(t.Plain("; its current lease stays: it stops "), s, b.now())
		}
		return result{reply: &Message{Text: t.Plain("."), InChannel: true}, change: c, ok: true}
	})
}

// renewKeeps is the leader's work for keeps: renew the leases that run out
// soon, end keeps whose time has come, and end (and tell) the keeps of
// notebooks that stopped anyway. keeps are the cycle's, read once by Poll,
// and running its listing of running notebooks.
func (b *Bot) renewKeeps(ctx context.Context, running *runningSet, keeps map[string]store.Keep) {
	if len(keeps) == 0 {
		return
	}
	now := b.now()
	for _, k := range keeps {
		nb, ok := running.get(k.Notebook)
		switch {
		case !now.Before(k.Until):
			b.endKeep(ctx, k, "keep-end", "ended", Text{}.Plain("📌 The keep on ").Concat(named(Text{}, lease.Notebook{ID: k.Notebook, Name: k.Name})).
				Plain(" set by ").User(k.By).Plain(" has ended, as planned, at ").Time(k.Until).Plain("."))
		case !ok || !nb.Running():
			// Not in the running listing: look once more before ending it.
			cur, err := b.leases.Get(ctx, k.Notebook)
			if err != nil && lease.KindOf(err) != lease.KindNotFound {
				continue
			}
			if err == nil && cur.Running() {
				b.renewIfShort(ctx, cur, k, now)
				continue
			}
			status := "deleted"
			if err == nil {
				status = cur.Status
			}
			b.endKeep(ctx, k, "keep-end", "stopped", Text{}.Plain("⚠ ").Concat(named(Text{}, lease.Notebook{ID: k.Notebook, Name: k.Name})).
				Plain(" is "+status+" although ").User(k.By).Plain(" kept it running until ").Time(k.Until).Plain("; the keep has ended."))
		default:
			b.renewIfShort(ctx, nb, k, now)
		}
	}
}

// renewIfShort renews a kept notebook whose lease runs out within an hour
// plus a poll interval, unless its lease already ends with the keep. It
// decides twice: on the listing, and again on a fresh read under the
// notebook's lock, so that a renewal made meanwhile (by a change, or by a
// leader whose cycle overran) is not made again.
func (b *Bot) renewIfShort(ctx context.Context, nb lease.Notebook, k store.Keep, now time.Time) {
	if !b.keepShort(nb, k, now) {
		return
	}
	unlock, err := b.locks.LockNotebook(ctx, nb.ID)
	if err != nil {
		b.log.Warn("a keep renewal could not take the notebook's lock; trying next cycle", "notebook", nb.ID, "err", err)
		return
	}
	defer unlock()
	fresh, err := b.leases.Get(ctx, nb.ID)
	if err != nil || !fresh.Running() || !b.keepShort(fresh, k, b.now()) {
		return // looked at again next cycle
	}
	if cur, ok, err := b.store.Keep(ctx, nb.ID); err != nil || !ok || !cur.Set.Equal(k.Set) || !cur.Until.Equal(k.Until) {
		return // ended or changed meanwhile
	}
	b.renewKeep(ctx, fresh, k)
}

// keepShort reports whether kept nb needs a renewal now: its lease is
// scheduled, ends before the keep, and within an hour plus a poll interval.
func (b *Bot) keepShort(nb lease.Notebook, k store.Keep, now time.Time) bool {
	stop := nb.StopTime()
	if stop.IsZero() || !nb.Lease.IsTiming() || !stop.Before(k.Until.Add(-time.Minute)) {
		return false
	}
	return stop.Sub(now) < lease.MinDuration+b.cfg.Defaults.PollInterval
}

// renewKeep renews a kept notebook's lease to the earlier of the keep's
// end and 72h from now; the notebook's lock is held. A failure is tried
// again next cycle, and the keep's channel is told once per stop time.
func (b *Bot) renewKeep(ctx context.Context, nb lease.Notebook, k store.Keep) {
	now := b.now()
	old := nb.StopTime()
	if !old.Before(k.Until.Add(-time.Minute)) {
		return
	}
	target := minTime(k.Until, now.Add(lease.MaxDuration))
	if target.Before(old) {
		return
	}
	c := change{nb: nb, old: old, verb: "keep-renew", requested: "until " + k.Until.UTC().Format("2006-01-02 15:04 UTC"), via: "keep"}
	newStop, err := b.leases.Renew(ctx, nb.ID, target)
	b.forget()
	switch {
	case err != nil:
		c.outcome, c.code, c.err = outcomeFailed, errCode(err), err
		if lease.KindOf(err) == lease.KindUnknown {
			c.outcome = outcomeUnknown
		}
		b.record(ctx, k.By, k.Channel, c)
		if k.Warned.Equal(old) {
			return
		}
		t := Text{}.Plain("⚠ leasebot could not renew the lease of ").Concat(named(Text{}, nb)).Plain(", kept by ").User(k.By).
			Plain(" until ").Time(k.Until).Plain(": ").Concat(b.leaseFailure(err, nb)).Plain(" It will try again; if that fails too, it stops ")
		t = stopAt(t, old, now).Plain(".")
		if _, perr := b.chat.Post(ctx, targetOf(k.Channel), Message{Text: t, InChannel: true}); perr == nil {
			_ = b.store.Update(ctx, func(tx *store.Tx) error { return tx.KeepWarned(nb.ID, old) })
		}
		return
	}
	c.outcome, c.new = "extended", newStop
	b.record(ctx, k.By, k.Channel, c)
}

// endKeep ends a keep and tells the channel it was set in.
func (b *Bot) endKeep(ctx context.Context, k store.Keep, verb, outcome string, t Text) {
	c := change{nb: lease.Notebook{ID: k.Notebook, Name: k.Name}, verb: verb, requested: "until " + k.Until.UTC().Format("2006-01-02 15:04 UTC"), outcome: outcome, via: "keep"}
	entry := b.entry(k.By, k.Channel, c)
	var had bool
	if err := b.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if had, err = tx.EndKeepSet(k.Notebook, k.Set); err != nil || !had {
			return err // ended, or set again, meanwhile
		}
		return tx.AddHistory(&entry)
	}); err != nil || !had {
		return
	}
	c.recorded = true
	b.auditChange(k.By, k.Channel, c)
	if _, err := b.chat.Post(ctx, targetOf(k.Channel), Message{Text: t, InChannel: true}); err != nil {
		b.log.Warn("telling the end of a keep failed", "notebook", k.Notebook, "err", err)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// keptNote appends "kept until … by @alice" when nb is kept.
func keptNote(t Text, k store.Keep, ok bool) Text {
	if !ok {
		return t
	}
	return t.Plain(" · kept until ").Time(k.Until).Plain(" by ").User(k.By)
}
