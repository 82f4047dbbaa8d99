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

// Action IDs of the buttons of requests for approval.
const (
	ActionAskApproval = "leasebot_ask_approval" // on the refusal of an extension over max_extend
	ActionApprove     = "leasebot_approve"      // on the request in the channel
	ActionDeny        = "leasebot_deny"
)

// An extension over a channel's max_extend but within its approval_max may
// be asked for: the request is posted in the channel, mentioning the
// approvers, and an approver (or an admin, never the requester) approves or
// denies it. The request lives in the store, so it survives restarts; the
// leader expires it after approval_ttl. Deciding is conditional in the
// store, and carrying out runs under the notebook's lock: two approvers
// clicking at once approve once.

// askButton is the "Ask for approval" button for an extension by by of the
// notebook ref, when the channel takes requests for that much; nil otherwise.
func (b *Bot) askButton(where access.Where, ref string, by time.Duration) []Button {
	if where.Direct {
		return nil
	}
	ch, ok := b.access.Channel(where.Channel)
	if !ok || ch.Approvers.Empty() || by <= ch.MaxExtend || by > ch.ApprovalMax || by > lease.MaxDuration {
		return nil
	}
	return []Button{{Action: ActionAskApproval, Label: "Ask for approval", Value: ref + "|" + strconv.FormatInt(int64(by/time.Second), 10)}}
}

// withAsk adds the "Ask for approval" button to a refusal over max_extend.
func (b *Bot) withAsk(res result, where access.Where, ref string, by time.Duration) result {
	if res.reply == nil || res.change == nil || res.change.code != "over_max_extend" {
		return res
	}
	if btns := b.askButton(where, ref, by); btns != nil {
		res.reply.Buttons = btns
		res.reply.Text = res.reply.Text.Plain(" You can ask an approver for more.")
	}
	return res
}

// parseAsk reads "ref|seconds".
func parseAsk(value string) (string, time.Duration, error) {
	ref, secs, ok := strings.Cut(value, "|")
	s, err := strconv.ParseInt(secs, 10, 64)
	if !ok || err != nil || s <= 0 || s > int64(lease.MaxDuration/time.Second) || !lease.ValidName(ref) {
		return "", 0, errors.New("malformed request for approval")
	}
	return ref, time.Duration(s) * time.Second, nil
}

// clickAsk posts a request for approval in the channel.
func (b *Bot) clickAsk(ctx context.Context, c *click) result {
	ref, amount, err := parseAsk(c.Value)
	if err != nil || c.Surface != InChannel {
		return b.ignored(c, errIgnored)
	}
	ch, ok := b.access.Channel(c.Channel)
	refuse := func(nb lease.Notebook, code string, t Text) result {
		return result{reply: say(t), replace: true, change: &change{nb: nb, verb: "approval-request", requested: duration.Format(amount), outcome: outcomeRefused, code: code}}
	}
	switch {
	case !ok || ch.Approvers.Empty():
		return refuse(lease.Notebook{ID: ref}, "no_approvers", Text{}.Plain("This channel has no approvers, so there is nobody to ask."))
	case amount > ch.ApprovalMax:
		return refuse(lease.Notebook{ID: ref}, "over_approval_max", Text{}.Plain("That is more than this channel lets anyone ask for ("+duration.Format(ch.ApprovalMax)+")."))
	}
	r := &request{Event: c.Event, where: c.where}
	if r.member = b.access.Member(ctx, c.User, c.where); !r.member.OK() {
		return refuse(lease.Notebook{ID: ref}, refusalCode(r.member), b.refusal(r.member))
	}
	nb, why := b.resolve(ctx, r, ref)
	if why != nil {
		return refuse(lease.Notebook{ID: ref}, "resolve", why)
	}
	d := b.access.Check(ctx, c.User, c.where, config.ActionExtend, nb)
	switch {
	case !d.OK():
		return refuse(nb, refusalCode(d), b.refusal(d))
	case amount <= d.MaxExtend:
		return refuse(nb, "within_max_extend", Text{}.Plain("You may extend by "+duration.Format(amount)+" yourself: ").Code("/notebook extend "+nb.ID+" "+duration.Format(amount)))
	case !nb.Running():
		return refuse(nb, "not_running", named(Text{}, nb).Plain(" is "+nb.Status+"; only a running notebook can be extended."))
	}
	// Under the notebook's lock, so that a double click (or two replicas)
	// cannot both find no request and each create one.
	unlock, err := b.locks.LockNotebook(ctx, nb.ID)
	if err != nil {
		return refuse(nb, lockCode(err), lockRefusal(err))
	}
	defer unlock()
	pending, err := b.store.PendingApprovals(ctx)
	if err != nil {
		return refuse(nb, "store_unavailable", cannotRecord())
	}
	for _, a := range pending {
		if a.Requester == c.User && a.Notebook == nb.ID && b.now().Before(a.Expires) {
			return refuse(nb, "already_asked", Text{}.Plain("You already asked to extend ").Concat(named(Text{}, nb)).Plain("; the approvers can decide until ").Time(a.Expires).Plain("."))
		}
	}
	now := b.now()
	a := store.Approval{Channel: c.Channel, Requester: c.User, Notebook: nb.ID, Name: nb.Name, Amount: amount,
		Created: now, Expires: now.Add(ch.ApprovalTTL), State: store.ApprovalPending}
	ch0 := change{nb: nb, old: nb.StopTime(), verb: "approval-request", requested: duration.Format(amount), outcome: "requested", via: d.Via}
	entry := b.entry(c.User, c.Channel, ch0)
	if err := b.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateApproval(&a); err != nil {
			return err
		}
		return tx.AddHistory(&entry)
	}); err != nil {
		b.log.Error("recording a request for approval failed", "err", err)
		return refuse(nb, "store_unavailable", cannotRecord())
	}
	ch0.recorded = true
	msg := b.requestMessage(a, ch, nb)
	ref2, err := b.chat.Post(ctx, Target{Channel: c.Channel}, msg)
	if err != nil {
		b.log.Warn("posting a request for approval failed", "err", err)
	} else if err := b.store.Update(ctx, func(tx *store.Tx) error { return tx.ApprovalPosted(a.ID, ref2.Conversation, ref2.ID) }); err != nil {
		b.log.Warn("recording where a request for approval was posted failed", "err", err)
	}
	t := Text{}.Plain("Asked for approval to extend ").Concat(named(Text{}, nb)).Plain(" by " + duration.Format(amount) + "; the approvers can decide until ").Time(a.Expires).Plain(".")
	return result{ok: true, replace: true, reply: say(t), change: &ch0}
}

// requestMessage is a pending request, mentioning the approvers, with its buttons.
func (b *Bot) requestMessage(a store.Approval, ch *config.Channel, nb lease.Notebook) Message {
	t := Text{}.Plain("🙋 ").User(a.Requester).Plain(" asks to extend ").Concat(named(Text{}, nb)).Plain(" by " + duration.Format(a.Amount))
	if s := nb.StopTime(); !s.IsZero() {
		t = t.Plain(" (it stops ").Time(s).Plain(")")
	}
	t = t.Plain(". Approvers:")
	for _, u := range ch.Approvers.Users {
		t = t.Plain(" ").User(u)
	}
	for _, g := range ch.Approvers.Groups {
		t = t.Plain(" ").Group(g)
	}
	t = t.Plain(" — please decide before ").Time(a.Expires).Plain(".")
	id := strconv.FormatInt(a.ID, 10)
	return Message{Text: t, InChannel: true, Buttons: []Button{
		{Action: ActionApprove, Label: "Approve", Value: id},
		{Action: ActionDeny, Label: "Deny", Value: id, Danger: true},
	}}
}

func parseApprovalID(value string) (int64, bool) {
	id, err := strconv.ParseInt(value, 10, 64)
	return id, err == nil && id > 0
}

// approvalAction checks a decision on a request: a known, pending request
// of this channel, decided by an approver or an admin who did not ask.
func (b *Bot) approvalAction(ctx context.Context, c *click, verb string) (store.Approval, *result) {
	id, ok := parseApprovalID(c.Value)
	if !ok || c.Surface != InChannel {
		res := b.ignored(c, errIgnored)
		return store.Approval{}, &res
	}
	a, found, err := b.store.Approval(ctx, id)
	if err != nil {
		return a, &result{reply: say(cannotRecord())}
	}
	if !found || a.Channel != c.Channel {
		res := b.ignored(c, errIgnored)
		return a, &res
	}
	refuse := func(code string, t Text) *result {
		return &result{reply: say(t), change: &change{nb: lease.Notebook{ID: a.Notebook, Name: a.Name}, verb: verb, requested: duration.Format(a.Amount), outcome: outcomeRefused, code: code}}
	}
	switch {
	case a.State != store.ApprovalPending:
		return a, refuse("already_decided", b.decidedText(a))
	case c.User == a.Requester:
		return a, refuse("own_request", Text{}.Plain("You cannot decide your own request; another approver must."))
	}
	if ok, err := b.access.IsApprover(ctx, c.User, c.Channel); err != nil || !ok {
		if err != nil {
			return a, refuse("group_lookup", Text{}.Plain("I could not check your user groups with Slack just now, so I did nothing. Please try again in a minute."))
		}
		return a, refuse("not_approver", Text{}.Plain("Only this channel's approvers (and admins) can decide requests for approval."))
	}
	if !b.now().Before(a.Expires) {
		b.expire(ctx, a)
		return a, refuse("expired", Text{}.Plain("This request expired at ").Time(a.Expires).Plain("; ask again if it is still needed."))
	}
	return a, nil
}

func (b *Bot) decidedText(a store.Approval) Text {
	switch a.State {
	case store.ApprovalApproved:
		return Text{}.User(a.Decider).Plain(" already approved this request.")
	case store.ApprovalDenied:
		return Text{}.User(a.Decider).Plain(" already denied this request.")
	}
	return Text{}.Plain("This request expired at ").Time(a.Expires).Plain(".")
}

func (b *Bot) clickApprove(ctx context.Context, c *click) result {
	a, stop := b.approvalAction(ctx, c, "approve")
	if stop != nil {
		return *stop
	}
	unlock, err := b.locks.LockNotebook(ctx, a.Notebook)
	if err != nil {
		return result{reply: say(lockRefusal(err))}
	}
	defer unlock()
	ch := &change{nb: lease.Notebook{ID: a.Notebook, Name: a.Name}, verb: "approve", requested: duration.Format(a.Amount), approver: c.User, via: "approver"}
	var won bool
	if err := b.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		won, err = tx.DecideApproval(a.ID, store.ApprovalApproved, c.User, b.now())
		return err
	}); err != nil {
		return result{reply: say(cannotRecord())}
	}
	if !won { // another approver was first
		cur, _, _ := b.store.Approval(ctx, a.ID)
		return result{reply: say(b.decidedText(cur))}
	}
	a.State, a.Decider = store.ApprovalApproved, c.User
	nb, err := b.leases.Get(ctx, a.Notebook)
	var outcome Text
	switch {
	case err != nil:
		ch.outcome, ch.code, ch.err = outcomeFailed, errCode(err), err
		outcome = Text{}.Plain(", but it could not be carried out: ").Concat(b.leaseFailure(err, ch.nb))
	default:
		ch.nb, ch.old = nb, nb.StopTime()
		now := b.now()
		p, no := planExtension(nb, maxTime(nb.StopTime(), now).Add(a.Amount), a.Amount, now)
		if no != nil {
			ch.outcome, ch.code = outcomeRefused, no.code
			outcome = Text{}.Plain(", but it could not be carried out: ").Concat(no.text)
			break
		}
		res := b.renew(ctx, a.Requester, p, func(time.Time) Text { return nil })
		ch.outcome, ch.code, ch.err, ch.new = res.change.outcome, res.change.code, res.change.err, res.change.new
		switch {
		case res.ok:
			outcome = stopAt(Text{}.Plain(": extended by "+duration.Format(ch.new.Sub(maxTime(ch.old, now)).Round(time.Minute))+", it now stops "), ch.new, b.now())
		case ch.outcome == outcomeUnknown:
			outcome = Text{}.Plain(", but ").Concat(b.unknownOutcome(nb))
		default:
			outcome = Text{}.Plain(", but it could not be carried out: ").Concat(b.leaseFailure(ch.err, nb))
		}
	}
	head := Text{}.Plain("✅ ").User(c.User).Plain(" approved ").User(a.Requester).Plain("'s request to extend ").Concat(named(Text{}, ch.nb)).Plain(" by " + duration.Format(a.Amount))
	b.settle(ctx, a, head.Concat(outcome).Plain("."))
	// The history entry is the requester's change, decided by the approver.
	entry := b.entry(a.Requester, a.Channel, *ch)
	b.auditChange(a.Requester, a.Channel, *ch)
	if err := b.store.AddHistory(ctx, &entry); err != nil {
		b.log.Error("recording an approval in the history failed", "err", err)
	}
	return result{ok: ch.outcome == "extended"} // the click's metric: was the extension made
}

func (b *Bot) clickDeny(ctx context.Context, c *click) result {
	a, stop := b.approvalAction(ctx, c, "deny")
	if stop != nil {
		return *stop
	}
	ch := change{nb: lease.Notebook{ID: a.Notebook, Name: a.Name}, verb: "deny", requested: duration.Format(a.Amount), approver: c.User, outcome: "denied", via: "approver"}
	entry := b.entry(a.Requester, a.Channel, ch)
	var won bool
	if err := b.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if won, err = tx.DecideApproval(a.ID, store.ApprovalDenied, c.User, b.now()); err != nil || !won {
			return err
		}
		return tx.AddHistory(&entry)
	}); err != nil {
		return result{reply: say(cannotRecord())}
	}
	if !won {
		cur, _, _ := b.store.Approval(ctx, a.ID)
		return result{reply: say(b.decidedText(cur))}
	}
	b.auditChange(a.Requester, a.Channel, ch)
	a.State, a.Decider = store.ApprovalDenied, c.User
	b.settle(ctx, a, Text{}.Plain("❌ ").User(c.User).Plain(" denied ").User(a.Requester).Plain("'s request to extend ").
		Concat(named(Text{}, ch.nb)).Plain(" by "+duration.Format(a.Amount)+"."))
	return result{ok: true}
}

// settle replaces a decided request's message with what happened, and
// tells the requester in a direct message.
func (b *Bot) settle(ctx context.Context, a store.Approval, t Text) {
	if a.Ref != "" {
		b.update(MessageRef{Conversation: a.Conversation, ID: a.Ref}, Message{Text: t, InChannel: true})
	}
	if _, err := b.chat.Post(ctx, Target{User: a.Requester}, Message{Text: Text{}.Plain("Your request: ").Concat(t)}); err != nil {
		b.log.Warn("telling a requester failed", "user", a.Requester, "err", err)
	}
}

// expire marks a request nobody decided in time as expired, once.
func (b *Bot) expire(ctx context.Context, a store.Approval) {
	ch := change{nb: lease.Notebook{ID: a.Notebook, Name: a.Name}, verb: "approval-expire", requested: duration.Format(a.Amount), outcome: "expired", via: "leader"}
	entry := b.entry(a.Requester, a.Channel, ch)
	var won bool
	if err := b.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if won, err = tx.DecideApproval(a.ID, store.ApprovalExpired, "", b.now()); err != nil || !won {
			return err
		}
		return tx.AddHistory(&entry)
	}); err != nil || !won {
		return
	}
	b.auditChange(a.Requester, a.Channel, ch)
	a.State = store.ApprovalExpired
	b.settle(ctx, a, Text{}.Plain("⌛ ").User(a.Requester).Plain("'s request to extend ").Concat(named(Text{}, ch.nb)).
		Plain(" by "+duration.Format(a.Amount)+" expired: nobody decided by ").Time(a.Expires).Plain("."))
}

// expireApprovals is the leader's work for requests: expire the ones nobody
// decided within approval_ttl.
func (b *Bot) expireApprovals(ctx context.Context) {
	pending, err := b.store.PendingApprovals(ctx)
	if err != nil {
		b.log.Warn("reading requests for approval failed", "err", err)
		return
	}
	now := b.now()
	for _, a := range pending {
		if !now.Before(a.Expires) {
			b.expire(ctx, a)
		}
	}
}
