package bot

import (
	"context"
	"errors"
	"time"

	"github.com/leasebot/leasebot/bot/access"
	"github.com/leasebot/leasebot/bot/command"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
)

// request is one command being carried out.
type request struct {
	Event
	where  access.Where
	cmd    command.Command
	verb   *verb
	member access.Decision // may the caller use leasebot here at all
	// claim is the delivery's claim, made while the command reads; nil for
	// a request a click builds, whose delivery was claimed before.
	claim *pendingClaim
}

// pendingClaim is a delivery claim being made in the store. A command
// claims its delivery while it reads what it needs (the access list, the
// notebook at ModelArts), since reading is safe to do twice, and waits for
// the claim before its first change and before its answer: a delivery
// that another process or connection claimed first changes and says
// nothing.
type pendingClaim struct {
	done  chan struct{}
	first bool
	err   error
}

// claimDelivery starts claiming delivery id (see first).
func (b *Bot) claimDelivery(ctx context.Context, id string) *pendingClaim {
	c := &pendingClaim{done: make(chan struct{})}
	if id == "" {
		c.first = true
		close(c.done)
		return c
	}
	go func() {
		defer close(c.done)
		c.first, c.err = b.first(ctx, id)
	}()
	return c
}

// wait returns the claim's outcome once it is known; no claim to wait
// for is a delivery claimed already.
func (c *pendingClaim) wait() (bool, error) {
	if c == nil {
		return true, nil
	}
	<-c.done
	return c.first, c.err
}

// mayChange waits for r's claim and reports whether r may change something;
// if not, it returns what r comes to instead: nothing at all for a
// delivery already handled, a refusal when the store could not record it.
func (b *Bot) mayChange(r *request) (result, bool) {
	switch first, err := r.claim.wait(); {
	case err != nil && r.verb.change != "":
		return b.refused(r, "store_unavailable", cannotRecord()), false
	case err == nil && !first:
		return result{duplicate: true}, false
	}
	return result{}, true
}

// placeOf names where a command was typed or a button pressed, for the
// audit line and the history: the channel, or "@" and the person for a
// direct message or the home view.
func placeOf(e Event) string {
	if e.Surface != InChannel || e.Channel == "" {
		return "@" + e.User
	}
	return e.Channel
}

// place names where the command was typed (see placeOf).
func (r *request) place() string { return placeOf(r.Event) }

func whereOf(e Event) access.Where {
	return access.Where{Channel: e.Channel, Direct: e.Surface != InChannel}
}

// result is what carrying out a command or a click came to: the answer for
// the person, and, for an attempted change, what the audit line and the
// history record.
type result struct {
	reply   *Message
	replace bool
	change  *change // nil for reads
	ok      bool    // for metrics: the command did what was asked
	ignored bool    // a press that was not acted on at all (malformed or forged)
	// duplicate: the same delivery was carried out already, here or by
	// another replica; nothing is done and nothing is said.
	duplicate bool
}

// claimTTL is how long a delivery ID is remembered: Slack redelivers
// within minutes.
const claimTTL = 24 * time.Hour

// first claims a delivery ID in the store and reports whether this is its
// first delivery anywhere. An event without an ID is always first.
func (b *Bot) first(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return true, nil
	}
	won, err := b.store.Claim(ctx, "event/"+id, claimTTL)
	if err != nil {
		b.log.Warn("claiming a delivery failed", "err", err)
	}
	return won, err
}

// change is one attempted change, allowed or refused.
type change struct {
	nb        lease.Notebook
	verb      string
	requested string
	old, new  time.Time
	outcome   string // extended, dismissed, refused, failed, unknown, …
	code      string
	err       error
	via       access.Via
	approver  string // who decided a request for approval
	recorded  bool   // its history entry was written with the state change it describes
}

// Audit outcomes.
const (
	outcomeRefused = "refused"
	outcomeFailed  = "failed"
	outcomeUnknown = "unknown"
)

// say is a reply only the person sees.
func say(t Text) *Message { m := ephemeral(t); return &m }

// command carries out one /notebook command.
func (b *Bot) command(ctx context.Context, e Event) *Reply {
	r := &request{Event: e, where: whereOf(e)}
	res := b.runCommand(ctx, r)
	if res.duplicate {
		b.log.Info("ignored a delivery already handled", "id", r.ID)
		return nil
	}
	name := "invalid"
	if r.verb != nil {
		name = r.verb.Name
	}
	outcome := "refused"
	if res.ok {
		outcome = "ok"
	}
	b.obs.Command(name, outcome)
	if res.change != nil {
		c := res.change
		if c.requested == "" && r.cmd.Verb != "" {
			c.requested = requested(r.cmd)
		}
		if c.nb.ID == "" {
			c.nb.ID = r.cmd.Notebook
		}
		if c.verb == "" && r.verb != nil {
			c.verb = r.verb.Name
		}
		b.record(ctx, r.User, r.place(), *c)
		if res.ok {
			b.refreshHome(r.User)
		}
	}
	return res.reply.toReply(res.replace)
}

func (m *Message) toReply(replace bool) *Reply {
	if m == nil {
		return nil
	}
	return &Reply{Message: *m, Replace: replace}
}

func (b *Bot) runCommand(ctx context.Context, r *request) result {
	cmd, err := parser.Parse(r.Text)
	if err != nil {
		res := result{reply: say(syntaxText(err))}
		if v := verbOf(r.Text); v != nil && v.change != "" {
			r.verb = v
			res.change = &change{requested: command.Clip(r.Text, 80), outcome: outcomeRefused, code: "syntax"}
		}
		return res
	}
	r.cmd, r.verb = cmd, verbByName[cmd.Verb]
	// Everything up to a change only reads, so the claim is made meanwhile;
	// changeNotebook waits for it before changing anything, and the answer
	// waits for it here.
	r.claim = b.claimDelivery(ctx, r.ID)
	res := b.handle(ctx, r)
	if instead, ok := b.mayChange(r); !ok {
		return instead
	}
	return res
}

// handle checks that the caller may use r's verb here and carries it out.
func (b *Bot) handle(ctx context.Context, r *request) result {
	if r.member = b.access.Member(ctx, r.User, r.where); !r.member.OK() {
		return b.refused(r, refusalCode(r.member), b.refusal(r.member))
	}
	// An action this place does not allow is refused before any ModelArts call.
	if a := r.verb.change; !b.access.Permits(r.member, a) {
		d := access.Decision{Reason: access.ActionNotAllowed, Action: a, Via: r.member.Via, Channel: r.member.Channel}
		return b.refused(r, refusalCode(d), b.refusal(d))
	}
	return r.verb.handle(b, ctx, r)
}

func syntaxText(err error) Text {
	var se *command.SyntaxError
	if errors.As(err, &se) {
		if se.Hint != "" {
			return Text{}.Plain(se.Msg + "\nTry: ").Code(se.Hint)
		}
		return Text{}.Plain(se.Msg)
	}
	return Text{}.Plain("I could not read that command. ").Code("/notebook help").Plain(" shows what I understand.")
}

// refused is a refusal of r: audited when r's verb changes something.
func (b *Bot) refused(r *request, code string, t Text) result {
	res := result{reply: say(t)}
	if r.verb != nil && r.verb.change != "" {
		res.change = &change{outcome: outcomeRefused, code: code}
	}
	return res
}

// refusedOn is a refusal concerning nb.
func (b *Bot) refusedOn(r *request, nb lease.Notebook, code string, t Text) result {
	res := b.refused(r, code, t)
	if res.change != nil {
		res.change.nb, res.change.old = nb, nb.StopTime()
	}
	return res
}

func refusalCode(d access.Decision) string {
	switch d.Reason {
	case access.DirectMessage:
		return "direct_message"
	case access.UnknownChannel:
		return "unknown_channel"
	case access.NotMember:
		return "not_member"
	case access.NotCovered:
		return "not_covered"
	case access.ActionNotAllowed:
		return "action_not_allowed"
	case access.GroupLookupError:
		return "group_lookup"
	}
	return ""
}

// refusal says why an access check failed, in words the person can act on.
func (b *Bot) refusal(d access.Decision) Text {
	switch d.Reason {
	case access.DirectMessage:
		return Text{}.Plain("Sorry, in direct messages leasebot only helps people manage the notebooks they own, and an admin has not linked you to any. Use it in a channel an admin has set up for your notebooks.")
	case access.UnknownChannel:
		return Text{}.Plain("Sorry, leasebot is not set up for this channel, so it can do nothing here. Ask an admin to add this channel to leasebot's config.")
	case access.NotMember:
		return Text{}.Plain("Sorry, you are not on this channel's leasebot access list. Ask an admin to add you (or one of your user groups).")
	case access.NotCovered:
		return Text{}.Plain("Sorry, that notebook is not managed from this channel.")
	case access.ActionNotAllowed:
		if d.Action == config.ActionKeep && d.Channel != nil && d.Channel.MaxKeep == 0 {
			return Text{}.Plain("Keeping notebooks is off for this channel (max_keep is 0). Ask an admin to set max_keep.")
		}
		if d.Via == access.ViaOwner {
			return Text{}.Plain("Sorry, owners may not " + string(d.Action) + " their notebooks from a direct message here; ask in a channel that manages it, or ask an admin.")
		}
		return Text{}.Plain("Sorry, this channel does not allow members to " + string(d.Action) + " notebooks. Ask an admin (admins may), or use a channel that allows it.")
	case access.GroupLookupError:
		b.log.Warn("user group lookup failed", "err", d.Err)
		return Text{}.Plain("I could not check your user groups with Slack just now, so I did nothing. Please try again in a minute.")
	}
	return Text{}.Plain("Sorry, that is not allowed.")
}

func requested(cmd command.Command) string {
	switch {
	case cmd.Until != nil:
		return "until " + cmd.Until.String()
	case cmd.Off:
		return "off"
	case cmd.By > 0:
		return duration.Format(cmd.By)
	}
	return ""
}
