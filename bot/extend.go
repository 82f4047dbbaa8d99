package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/leasebot/leasebot/bot/command"
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

// planExtension applies SPEC §4: the extension is target − max(stop, now); it
// may not exceed maxExtend nor end more than 72 h from now; a target under an
// hour from now is raised to an hour.
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
	base := p.old
	if base.Before(now) {
		base = now
	}
	if target.Before(p.old) {
		return p, &refusal{"earlier", stopAt(named(Text{}, nb).Plain(" already stops "), p.old, now).Plain("; leasebot only ever moves a stop time later.")}
	}
	if !target.After(p.old) {
		return p, &refusal{"unchanged", stopAt(named(Text{}, nb).Plain(" already stops at exactly that time: "), p.old, now).Plain(".")}
	}
	p.by = target.Sub(base)
	ceiling := now.Add(lease.MaxDuration)
	if p.by > maxExtend {
		most := min(maxExtend, ceiling.Sub(base))
		return p, &refusal{"over_max_extend", Text{}.Plain("That is an extension of " + duration.Format(p.by) + "; this channel allows at most " + duration.Format(maxExtend) + " at a time." + mostHint(most))}
	}
	if target.After(ceiling) {
		most := min(maxExtend, ceiling.Sub(base)).Truncate(time.Minute)
		if most < time.Minute {
			return p, &refusal{"over_72h", named(Text{}, nb).Plain(" already stops 72h from now, the most ModelArts allows; it cannot be extended further yet.")}
		}
		return p, &refusal{"over_72h", Text{}.Plain("ModelArts only lets a notebook run up to 72h from now, so the largest extension still possible is at most " + duration.Format(most) + ".")}
	}
	if target.Sub(now) < lease.MinDuration {
		p.target = now.Add(lease.MinDuration)
		p.by = p.target.Sub(base)
		p.raised = true
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

// named appends "*name* `id`".
func named(t Text, nb lease.Notebook) Text {
	if nb.Name == "" {
		return t.Code(nb.ID)
	}
	return t.Strong(nb.Name).Plain(" ").Code(nb.ID)
}

func (b *Bot) maxExtend(channel string) time.Duration {
	if ch, ok := b.acl.Channel(channel); ok && ch.MaxExtend > 0 {
		return ch.MaxExtend
	}
	if b.cfg.Defaults.MaxExtend > 0 {
		return b.cfg.Defaults.MaxExtend
	}
	return 8 * time.Hour
}

func (b *Bot) extend(ctx context.Context, r Request, cmd command.Command) (Message, bool) {
	// Limits that do not depend on the notebook are checked before any API call.
	if limit := b.maxExtend(r.Channel); cmd.By > limit {
		b.auditRefusal(r, cmd, nil, "over_max_extend")
		return ephemeral(Text{}.Plain("That is an extension of " + duration.Format(cmd.By) + "; this channel allows at most " + duration.Format(limit) + " at a time.")), false
	}
	if cmd.By > lease.MaxDuration {
		b.auditRefusal(r, cmd, nil, "over_72h")
		return ephemeral(Text{}.Plain("ModelArts only lets a notebook run up to 72h from now, so an extension of " + duration.Format(cmd.By) + " is not possible.")), false
	}
	now := b.now()
	var until time.Time
	if cmd.Until != nil {
		loc, err := b.dir.TimeZone(ctx, r.User)
		if err != nil {
			b.log.Warn("time zone lookup failed; using UTC", "user", r.User, "err", err)
			loc = time.UTC
		}
		if until, err = cmd.Until.Resolve(now, loc); err != nil {
			b.auditRefusal(r, cmd, nil, "bad_time")
			return ephemeral(Text{}.Plain(err.Error())), false
		}
		if until.Sub(now) > lease.MaxDuration {
			b.auditRefusal(r, cmd, nil, "over_72h")
			return ephemeral(Text{}.Plain("ModelArts only lets a notebook run up to 72h from now; ").Time(until).Plain(" is further away than that.")), false
		}
	}
	nb, why, ok := b.resolve(ctx, r, cmd.Notebook)
	if !ok {
		b.auditRefusal(r, cmd, nil, "resolve")
		return ephemeral(why), false
	}
	if d := b.acl.Check(ctx, r.User, r.Channel, nb); !d.OK() {
		b.auditRefusal(r, cmd, &nb, refusalCode(d))
		return ephemeral(b.refusal(d)), false
	}
	now = b.now()
	target := until
	if cmd.Until == nil {
		target = maxTime(nb.StopTime(), now).Add(cmd.By)
	}
	p, no := planExtension(nb, target, b.maxExtend(r.Channel), now)
	if no != nil {
		b.auditChange(auditEntry{user: r.User, channel: r.Channel, nb: nb, verb: "extend", requested: requested(cmd), old: p.old, outcome: "refused", code: no.code})
		return ephemeral(no.text), false
	}
	newStop, err := b.leases.Renew(ctx, nb.ID, p.target)
	b.forget()
	if err != nil {
		b.auditChange(auditEntry{user: r.User, channel: r.Channel, nb: nb, verb: "extend", requested: requested(cmd), old: p.old, outcome: "failed", code: errCode(err), err: err})
		return ephemeral(b.leaseFailure(err, nb)), false
	}
	b.auditChange(auditEntry{user: r.User, channel: r.Channel, nb: nb, verb: "extend", requested: requested(cmd), old: p.old, new: newStop, outcome: "extended"})
	now = b.now()
	t := Text{}.User(r.User).Plain(" extended ")
	t = named(t, nb).Plain(" by " + duration.Format(newStop.Sub(maxTime(p.old, now)).Round(time.Minute)) + ": it now stops ")
	t = stopAt(t, newStop, now).Plain(".")
	if p.raised {
		t = t.Plain(" (ModelArts sets at least 1h from now, so I raised it to that.)")
	}
	return Message{Text: t, InChannel: true}, true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func requested(cmd command.Command) string {
	if cmd.Until != nil {
		return "until " + cmd.Until.String()
	}
	if cmd.By > 0 {
		return duration.Format(cmd.By)
	}
	return ""
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
