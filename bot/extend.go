package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/leasebot/leasebot/bot/access"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
)

// plan is an extension checked against every limit, ready to send.
type plan struct {
	nb     lease.Notebook
	old    time.Time // stop time before
	target time.Time // stop time asked of ModelArts
	by     time.Duration
	raised bool // target was raised to the API's 1 h minimum
}

// refusal is a reason not to call ModelArts at all.
type refusal struct {
	code string // for the audit line
	text Text
}

// The texts of the limits, each written once.

func overMaxExtend(by, limit, most time.Duration) *refusal {
	return &refusal{"over_max_extend", Text{}.Plain("That is an extension of " + duration.Format(by) +
		"; this channel allows at most " + duration.Format(limit) + " at a time." + mostHint(most))}
}

func over72h(most time.Duration, nb lease.Notebook) *refusal {
	most = most.Truncate(time.Minute)
	if most < time.Minute {
		return &refusal{"over_72h", named(Text{}, nb).Plain(" already stops 72h from now, the most ModelArts allows; it cannot be extended further yet.")}
	}
	return &refusal{"over_72h", Text{}.Plain("ModelArts only lets a notebook run up to 72h from now, so the largest extension still possible is at most " + duration.Format(most) + ".")}
}

// planExtension checks an extension to target: the extension is target −
// max(stop, now); it may not exceed maxExtend nor end more than 72h from
// now; a target under an hour from now is raised to an hour, which must
// itself fit in maxExtend. A target earlier than the current stop is
// refused: leasebot only ever moves a stop time later.
func planExtension(nb lease.Notebook, target time.Time, maxExtend time.Duration, now time.Time) (plan, *refusal) {
	p := plan{nb: nb, old: nb.StopTime(), target: target}
	if !nb.Running() {
		return p, &refusal{"not_running", named(Text{}, nb).Plain(" is " + nb.Status + ", not RUNNING; only a running notebook has a stop time to extend.")}
	}
	if p.old.IsZero() {
		return p, &refusal{"auto_stop_off", named(Text{}, nb).Plain(" has auto-stop turned off, so it will not stop and there is nothing to extend.")}
	}
	if !nb.Lease.IsTiming() {
		// Renewing sets a scheduled stop; doing that to a stop-when-idle
		// notebook would change its policy, not extend it.
		return p, &refusal{"idle_lease", named(Text{}, nb).Plain(" stops when it has been idle (" + nb.Lease.Type + "), not at a set time; leasebot only extends scheduled stops, so it left it alone.")}
	}
	base := maxTime(p.old, now)
	if target.Before(p.old) {
		return p, &refusal{"earlier", stopAt(named(Text{}, nb).Plain(" already stops "), p.old, now).Plain("; leasebot only ever moves a stop time later.")}
	}
	if !target.After(p.old) {
		return p, &refusal{"unchanged", stopAt(named(Text{}, nb).Plain(" already stops at exactly that time: "), p.old, now).Plain(".")}
	}
	p.by = target.Sub(base)
	ceiling := now.Add(lease.MaxDuration)
	most := min(maxExtend, ceiling.Sub(base))
	if p.by > maxExtend {
		return p, overMaxExtend(p.by, maxExtend, most)
	}
	if target.After(ceiling) {
		return p, over72h(most, nb)
	}
	if target.Sub(now) < lease.MinDuration {
		p.target = now.Add(lease.MinDuration)
		p.by = p.target.Sub(base)
		p.raised = true
		if p.by > maxExtend {
			// ModelArts' minimum would exceed the limit: never extend by more than allowed.
			return p, &refusal{"over_max_extend", Text{}.Plain("ModelArts sets a stop time at least 1h from now, which would extend ").
				Concat(named(Text{}, nb)).Plain(" by " + duration.Format(p.by.Round(time.Minute)) + "; this channel allows at most " +
				duration.Format(maxExtend) + " at a time, so I did nothing.")}
		}
	}
	return p, nil
}

func mostHint(most time.Duration) string {
	most = most.Truncate(time.Minute)
	if most < time.Minute {
		return ""
	}
	return " The largest extension possible right now is " + duration.Format(most) + "."
}

func (b *Bot) extend(ctx context.Context, r *request) result {
	cmd := r.cmd
	// Limits that do not depend on the notebook are checked before any API call.
	if limit := r.member.MaxExtend; cmd.By > limit {
		no := overMaxExtend(cmd.By, limit, 0)
		return b.withAsk(b.refused(r, no.code, no.text), r.where, cmd.Notebook, cmd.By)
	}
	if cmd.By > lease.MaxDuration {
		return b.refused(r, "over_72h", Text{}.Plain("ModelArts only lets a notebook run up to 72h from now, so an extension of "+duration.Format(cmd.By)+" is not possible."))
	}
	var until time.Time
	var note Text
	if cmd.Until != nil {
		var no *refusal
		if until, note, no = b.readTime(ctx, r); no != nil {
			return b.refused(r, no.code, no.text)
		}
	}
	return b.changeNotebook(ctx, r, cmd.Notebook, config.ActionExtend, func(nb lease.Notebook, d access.Decision) result {
		now := b.now()
		target := until
		if cmd.Until == nil {
			target = maxTime(nb.StopTime(), now).Add(cmd.By)
		}
		p, no := planExtension(nb, target, d.MaxExtend, now)
		if no != nil {
			return b.withAsk(b.refusedOn(r, nb, no.code, no.text), r.where, nb.ID, p.by)
		}
		return b.renew(ctx, r.User, p, func(newStop time.Time) Text {
			now := b.now()
			t := Text{}.User(r.User).Plain(" extended ")
			t = named(t, nb).Plain(" by " + duration.Format(newStop.Sub(maxTime(p.old, now)).Round(time.Minute)) + ": it now stops ")
			t = stopAt(t, newStop, now).Plain(".")
			if p.raised {
				t = t.Plain(" (ModelArts sets at least 1h from now, so I raised it to that.)")
			}
			return t.Concat(note)
		})
	})
}

// readTime reads the command's "until" time for extend, at most 72h ahead.
func (b *Bot) readTime(ctx context.Context, r *request) (time.Time, Text, *refusal) {
	return b.untilTime(ctx, r, lease.MaxDuration, func(until time.Time, _ time.Duration) *refusal {
		return &refusal{"over_72h", Text{}.Plain("ModelArts only lets a notebook run up to 72h from now; ").Time(until).Plain(" is further away than that.")}
	})
}

// untilTime reads the command's "until" time in the caller's time zone and
// refuses, with tooFar, a time more than horizon ahead. When the zone cannot
// be read it uses UTC and says so in note.
func (b *Bot) untilTime(ctx context.Context, r *request, horizon time.Duration, tooFar func(until time.Time, ahead time.Duration) *refusal) (time.Time, Text, *refusal) {
	var note Text
	loc, err := b.tz.of(ctx, r.User)
	if err != nil {
		b.log.Warn("time zone lookup failed; reading the time as UTC", "user", r.User, "err", err)
		loc = time.UTC
		note = Text{}.Plain(" (I read " + r.cmd.Until.String() + " as UTC: your time zone could not be read just now.)")
	}
	now := b.now()
	until, err := r.cmd.Until.Resolve(now, loc)
	if err != nil {
		return time.Time{}, nil, &refusal{"bad_time", Text{}.Plain(err.Error())}
	}
	if ahead := until.Sub(now); ahead > horizon {
		no := tooFar(until, ahead)
		no.text = no.text.Concat(note)
		return time.Time{}, nil, no
	}
	return until, note, nil
}

// renew carries out a checked plan and says how it went: success in the
// channel (worded by said), failures and unknown outcomes to the caller.
func (b *Bot) renew(ctx context.Context, user string, p plan, said func(newStop time.Time) Text) result {
	newStop, err := b.leases.Renew(ctx, p.nb.ID, p.target)
	b.forget()
	c := &change{nb: p.nb, old: p.old}
	switch {
	case lease.KindOf(err) == lease.KindUnknown:
		c.outcome, c.code, c.err = outcomeUnknown, errCode(err), err
		b.log.Warn("a renewal's outcome is unknown", "notebook", p.nb.ID, "err", err)
		return result{reply: say(b.unknownOutcome(p.nb)), change: c}
	case err != nil:
		c.outcome, c.code, c.err = outcomeFailed, errCode(err), err
		return result{reply: say(b.leaseFailure(err, p.nb)), change: c}
	}
	c.outcome, c.new = "extended", newStop
	return result{reply: &Message{Text: said(newStop), InChannel: true}, change: c, ok: true}
}

// unknownOutcome says that a change may or may not have happened.
func (b *Bot) unknownOutcome(nb lease.Notebook) Text {
	return Text{}.Plain("I could not tell whether ModelArts applied that: the stop time of ").Concat(named(Text{}, nb)).
		Plain(" may have changed. See ").Code("/notebook status " + nb.ID).Plain(" before trying again.")
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// leaseFailure turns a lease client error into words a user can act on.
func (b *Bot) leaseFailure(err error, nb lease.Notebook) Text {
	who := func(t Text) Text {
		if nb.ID == "" {
			return t.Plain("That notebook")
		}
		return named(t, nb)
	}
	switch lease.KindOf(err) {
	case lease.KindNotFound:
		if nb.ID != "" {
			return Text{}.Plain("No such notebook: ").Code(nb.ID).Plain(". It may have been deleted.")
		}
		return Text{}.Plain("No such notebook.")
	case lease.KindNotRunning:
		return who(Text{}).Plain(" is not running, so its lease cannot be extended.")
	case lease.KindOutOfRange:
		return Text{}.Plain("ModelArts refused the new stop time as out of range (it allows 1h to 72h from now). Nothing was changed.")
	case lease.KindBusy:
		return who(Text{}).Plain(" is busy with another operation on ModelArts; try again in a minute.")
	case lease.KindAuth:
		b.log.Error("ModelArts refused the bot's credentials", "code", lease.CodeOf(err), "err", err)
		return Text{}.Plain("The bot's credentials were refused by ModelArts, so nothing was changed; please tell an admin.")
	case lease.KindConfig:
		b.log.Error("ModelArts answered that the API does not exist: check modelarts.endpoint and project_id", "code", lease.CodeOf(err), "err", err)
		return Text{}.Plain("leasebot is misconfigured: ModelArts says the API it calls does not exist, so nothing was changed. Please tell an admin.")
	case lease.KindUnknown:
		return who(Text{}).Plain(" may or may not have changed: I could not tell. Check with ").Code("/notebook status").Plain(".")
	case lease.KindUnavailable:
		b.log.Warn("ModelArts unavailable", "err", err)
		return Text{}.Plain("ModelArts is not answering right now. Nothing is known to have changed; check with ").Code("/notebook status").Plain(" and try again in a few minutes.")
	}
	b.log.Warn("ModelArts call failed", "err", err)
	code := lease.CodeOf(err)
	if code == "" {
		code = "unknown error"
	}
	return Text{}.Plain(fmt.Sprintf("ModelArts refused the request (%s). Nothing was changed.", code))
}

func errCode(err error) string {
	if c := lease.CodeOf(err); c != "" {
		return c
	}
	return lease.KindOf(err).String()
}
