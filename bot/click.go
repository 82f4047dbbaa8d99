package bot

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/access"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// Action IDs of the buttons the core puts on messages.
const (
	ActionExtend  = "leasebot_extend"  // a warning's "Extend 1h"
	ActionDismiss = "leasebot_dismiss" // a warning's "Let it stop"
)

// clickAction is one kind of button: how a press on it is carried out. A
// button is not a bearer token: every handler re-checks the clicker.
type clickAction struct {
	verb   string // as the audit log names the change
	handle func(b *Bot, ctx context.Context, c *click) result
}

// clickActions registers one handler per button action.
var clickActions = map[string]clickAction{
	ActionExtend:     {verb: "extend", handle: (*Bot).clickExtend},
	ActionDismiss:    {verb: "dismiss", handle: (*Bot).clickDismiss},
	ActionStopNow:    {verb: "stop", handle: (*Bot).clickStopNow},
	ActionStopCancel: {verb: "stop", handle: (*Bot).clickStopCancel},
	ActionStart:      {verb: "start", handle: (*Bot).clickStart},

	ActionAskApproval: {verb: "approval-request", handle: (*Bot).clickAsk},
	ActionApprove:     {verb: "approve", handle: (*Bot).clickApprove},
	ActionDeny:        {verb: "deny", handle: (*Bot).clickDeny},
}

// click is one button press being carried out.
type click struct {
	Event
	where  access.Where
	action clickAction
}

// errIgnored marks a press that is not acted on at all: an unknown action,
// or a value leasebot did not write (forged or mangled).
var errIgnored = errors.New("ignored")

// click carries out one button press: decode, authorize, act under the
// notebook's lock, report.
func (b *Bot) click(ctx context.Context, e Event) *Reply {
	a, ok := clickActions[e.Action]
	if !ok {
		b.log.Info("ignored click on an unknown action", "action", e.Action)
		b.obs.Click(e.Action, "ignored")
		return nil
	}
	c := &click{Event: e, where: whereOf(e), action: a}
	first, err := b.first(ctx, e.ID)
	switch {
	case err != nil:
		b.obs.Click(e.Action, "refused")
		return &Reply{Message: ephemeral(cannotRecord())}
	case !first:
		b.log.Info("ignored a delivery already handled", "id", e.ID)
		return nil
	}
	res := a.handle(b, ctx, c)
	outcome := "refused"
	switch {
	case res.ok:
		outcome = "ok"
	case res.ignored:
		outcome = "ignored"
	}
	b.obs.Click(e.Action, outcome)
	if res.change != nil {
		if res.change.verb == "" {
			res.change.verb = a.verb
		}
		b.record(ctx, c.User, c.place(), *res.change)
		if res.ok {
			b.refreshHome(c.User)
		}
	}
	return res.reply.toReply(res.replace)
}

// ignored is the result of a press leasebot does not act on.
func (b *Bot) ignored(c *click, err error) result {
	b.log.Info("ignored click with a bad value", "action", c.Action, "err", err)
	return result{ignored: true}
}

// warningButton is what a warning's button carries: the notebook, the stop
// time the warning showed, and for extend buttons the amount.
type warningButton struct {
	id     string
	shown  time.Time
	amount time.Duration
}

func (w warningButton) value() string {
	v := w.id + "|" + strconv.FormatInt(w.shown.UnixMilli(), 10)
	if w.amount > 0 {
		v += "|" + strconv.FormatInt(int64(w.amount/time.Second), 10)
	}
	return v
}

// maxWarningAge bounds how old a warning may be and still be acted on.
const maxWarningAge = 7 * 24 * time.Hour

// parseWarningButton reads "id|stop_ms[|seconds]" and checks it could be
// a button leasebot made: a notebook ID, a stop time within the last week
// and no more than 72h ahead, an amount within 72h.
func parseWarningButton(value string, withAmount bool, now time.Time) (warningButton, error) {
	parts := strings.Split(value, "|")
	want := 2
	if withAmount {
		want = 3
	}
	if len(parts) != want || !lease.IsNotebookID(parts[0]) {
		return warningButton{}, errors.New("malformed button value")
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || ms <= 0 {
		return warningButton{}, errors.New("malformed stop time in button value")
	}
	w := warningButton{id: strings.ToLower(parts[0]), shown: time.UnixMilli(ms)}
	if w.shown.Before(now.Add(-maxWarningAge)) || w.shown.After(now.Add(lease.MaxDuration+time.Hour)) {
		return warningButton{}, errors.New("stop time in button value is too old or too far ahead")
	}
	if withAmount {
		s, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || s <= 0 || s > int64(lease.MaxDuration/time.Second) {
			return warningButton{}, errors.New("malformed amount in button value")
		}
		w.amount = time.Duration(s) * time.Second
	}
	return w, nil
}

func (b *Bot) clickExtend(ctx context.Context, c *click) result {
	btn, err := parseWarningButton(c.Value, true, b.now())
	if err != nil {
		return b.ignored(c, err)
	}
	return b.onWarning(ctx, c, btn, config.ActionExtend, func(nb lease.Notebook, w store.Warning, d access.Decision) result {
		now := b.now()
		current := nb.StopTime()
		target := btn.shown.Add(btn.amount)
		fail := func(no *refusal) result {
			return result{reply: say(no.text), change: &change{nb: nb, old: btn.shown, requested: duration.Format(btn.amount), outcome: outcomeRefused, code: no.code}}
		}
		if !nb.Running() || current.IsZero() {
			_, no := planExtension(nb, target, d.MaxExtend, now)
			return fail(no)
		}
		// A stop time within a minute of the target (or later) is this
		// extension done before, or a later one: ModelArts' clock and ours
		// differ by milliseconds.
		if !current.Equal(btn.shown) && current.After(target.Add(-time.Minute)) {
			return fail(&refusal{"already_later", stopAt(named(Text{}, nb).Plain(" already stops "), current, now).Plain(", no earlier than this button would set; nothing changed.")})
		}
		p, no := planExtension(nb, target, d.MaxExtend, now)
		if no != nil {
			return fail(no)
		}
		res := b.renew(ctx, c.User, p, func(time.Time) Text { return nil })
		res.change.requested, res.change.old = duration.Format(btn.amount), btn.shown
		res.reply = nil
		if !res.ok {
			res.reply = say(b.leaseFailure(res.change.err, nb))
			if res.change.outcome == outcomeUnknown {
				res.reply = say(b.unknownOutcome(nb))
			}
			return res
		}
		amount := res.change.new.Sub(maxTime(current, now)).Round(time.Minute)
		b.endWarning(ctx, c, res.change, store.WarningOutcome{Notebook: nb.ID, Stop: btn.shown, Outcome: store.OutcomeExtended,
			By: c.User, Amount: amount, NewStop: res.change.new})
		b.updateCopies(ctx, b.copiesNow(ctx, w), b.extendedMessage(w, c.User, amount, res.change.new, b.now()))
		return res
	})
}

func (b *Bot) clickDismiss(ctx context.Context, c *click) result {
	btn, err := parseWarningButton(c.Value, false, b.now())
	if err != nil {
		return b.ignored(c, err)
	}
	return b.onWarning(ctx, c, btn, "", func(nb lease.Notebook, w store.Warning, _ access.Decision) result {
		ch := &change{nb: nb, old: btn.shown, new: btn.shown, outcome: "dismissed"}
		if !b.endWarning(ctx, c, ch, store.WarningOutcome{Notebook: nb.ID, Stop: btn.shown, Outcome: store.OutcomeDismissed, By: c.User}) {
			return result{reply: say(cannotRecord()), change: &change{nb: nb, old: btn.shown, outcome: outcomeRefused, code: "store_unavailable"}}
		}
		b.updateCopies(ctx, b.copiesNow(ctx, w), b.dismissedMessage(w, c.User))
		return result{ok: true, change: ch}
	})
}

// copiesNow is every copy of w as the store knows it now: a copy posted
// while the warning was being ended is updated too (the watcher updates
// the ones it posts after).
func (b *Bot) copiesNow(ctx context.Context, w store.Warning) []store.Post {
	if cur, ok, err := b.store.Warning(ctx, w.Notebook, w.Stop); err == nil && ok {
		return cur.Posts
	}
	return w.Posts
}

// endWarning records, in one transaction, how a warning ended and the
// history entry of the change that ended it. It reports whether that was
// recorded; only then is the change marked recorded, so that a failed
// transaction's history entry is tried again on its own.
func (b *Bot) endWarning(ctx context.Context, c *click, ch *change, out store.WarningOutcome) bool {
	entry := b.entry(c.User, c.place(), *ch)
	err := b.store.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.EndWarning(out); err != nil {
			return err
		}
		return tx.AddHistory(&entry)
	})
	if err != nil {
		b.log.Error("recording how a warning ended failed", "notebook", out.Notebook, "err", err)
		return false
	}
	ch.recorded = true
	return true
}

// onWarning runs act on the warning a button belongs to, once the clicker
// is known to be allowed, under the notebook's lock, with the notebook read
// fresh, and unless someone already acted on the warning.
func (b *Bot) onWarning(ctx context.Context, c *click, btn warningButton, action config.Action, act func(lease.Notebook, store.Warning, access.Decision) result) result {
	refused := func(nb lease.Notebook, code string, t Text) result {
		ch := &change{nb: nb, old: btn.shown, outcome: outcomeRefused, code: code}
		if btn.amount > 0 {
			ch.requested = duration.Format(btn.amount)
		}
		return result{reply: say(t), change: ch}
	}
	stub := lease.Notebook{ID: btn.id}
	if d := b.member(ctx, c); !d.OK() {
		return refused(stub, refusalCode(d), b.refusal(d))
	}
	unlock, err := b.locks.LockNotebook(ctx, btn.id)
	if err != nil {
		return refused(stub, lockCode(err), lockRefusal(err))
	}
	defer unlock()
	nb, err := b.leases.Get(ctx, btn.id)
	if err != nil {
		res := refused(stub, errCode(err), b.leaseFailure(err, stub))
		res.change.outcome, res.change.err = outcomeFailed, err
		return res
	}
	d := b.decide(ctx, c, action, nb)
	if !d.OK() {
		return refused(nb, refusalCode(d), b.refusal(d))
	}
	w, err := b.store.EnsureWarning(ctx, nb.ID, btn.shown, nb.Name)
	if err == nil && c.Message.ID != "" && !hasCopy(w, c.Message) {
		cp := store.Post{Target: c.Channel, Conversation: c.Message.Conversation, Ref: c.Message.ID}
		if c.Surface != InChannel {
			cp.Target = ownerTarget(c.User)
		}
		if err = b.store.AddWarningCopy(ctx, nb.ID, btn.shown, nb.Name, cp); err == nil {
			w.Posts = append(w.Posts, cp)
		}
	}
	if err != nil {
		b.log.Error("reading a warning failed", "notebook", nb.ID, "err", err)
		return refused(nb, "store_unavailable", cannotRecord())
	}
	switch w.Outcome {
	case store.OutcomeExtended:
		return refused(nb, "already_extended", stopAt(Text{}.User(w.By).Plain(" already extended it; it now stops "), w.NewStop, b.now()).Plain("."))
	case store.OutcomeDismissed:
		return refused(nb, "already_dismissed", Text{}.User(w.By).Plain(" already chose to let it stop at that time."))
	case store.OutcomeStopped:
		if w.By != "" {
			return refused(nb, "already_stopped", Text{}.User(w.By).Plain(" already stopped it."))
		}
	}
	res := act(nb, w, d)
	if res.change != nil && res.change.via == "" {
		res.change.via = d.Via
	}
	return res
}

// member checks that the clicker may use leasebot where the button is. In
// the home view there is no channel: anyone leasebot knows (an owner, or a
// member of a configured channel) passes, and decide checks the notebook.
func (b *Bot) member(ctx context.Context, c *click) access.Decision {
	if c.Surface == InHome {
		if b.access.IsOwner(c.User) || b.access.IsAdmin(c.User) || len(b.access.ChannelsOf(ctx, c.User)) > 0 {
			return access.Decision{Reason: access.Allowed}
		}
		return access.Decision{Reason: access.DirectMessage}
	}
	return b.access.Member(ctx, c.User, c.where)
}

// decide checks the clicker may take action on nb: in the home view by any
// route the person has (their own notebook, or a channel whose list holds
// them), elsewhere by the rules of the place the button is in.
func (b *Bot) decide(ctx context.Context, c *click, action config.Action, nb lease.Notebook) access.Decision {
	if c.Surface == InHome {
		return b.access.Anywhere(ctx, c.User, action, nb)
	}
	return b.access.Check(ctx, c.User, c.where, action, nb)
}

// place names where the button was pressed (see placeOf).
func (c *click) place() string { return placeOf(c.Event) }

func hasCopy(w store.Warning, ref MessageRef) bool {
	for _, p := range w.Posts {
		if p.Conversation == ref.Conversation && p.Ref == ref.ID {
			return true
		}
	}
	return false
}
