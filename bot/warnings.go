package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// A warning is what leasebot knows about one (notebook, stop time): the
// copies it posted (in channels, and to the owner) and how it ended. It
// lives in the store, so that a restart or another replica never repeats a
// warning: each copy is claimed there, keyed by notebook, stop time, target
// and threshold, before it is posted.

// smallestCovering returns the smallest threshold that left is inside, or 0.
func smallestCovering(thresholds []time.Duration, left time.Duration) time.Duration {
	var best time.Duration
	for _, t := range thresholds {
		if left <= t && (best == 0 || t < best) {
			best = t
		}
	}
	return best
}

// pendingPost is a warning copy claimed in the store, to post.
type pendingPost struct {
	claim store.WarningPost
	nb    lease.Notebook
}

// ending is an open warning that ends without a click: its notebook
// stopped, or its stop time moved.
type ending struct {
	w   store.Warning
	out store.WarningOutcome
	msg Message
}

// Poll runs one cycle of the leader's work: one paginated listing of
// running notebooks, a diff against the warnings in the store, delivery of
// the new copies and of updates to warnings whose notebook stopped or
// whose stop time moved; then keep renewals, and expiry of requests for
// approval nobody decided in time.
func (b *Bot) Poll(ctx context.Context) error {
	nbs, err := b.leases.List(ctx, lease.ListOptions{Status: lease.StatusRunning})
	if err != nil {
		return fmt.Errorf("list running notebooks: %w", err)
	}
	now := b.now()
	open, err := b.store.OpenWarnings(ctx, now.Add(-maxWarningAge))
	if err != nil {
		return fmt.Errorf("read open warnings: %w", err)
	}
	keeps, err := b.keepsByNotebook(ctx)
	if err != nil {
		return fmt.Errorf("read keeps: %w", err)
	}
	// Delivery is not abandoned half-way on shutdown: a post that reached
	// the chat but was cancelled here would be repeated after a restart.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	posts, ends := b.diff(ctx, nbs, open, keeps, now)
	b.deliver(ctx, posts, ends)
	running := &runningSet{nbs: nbs}
	b.renewKeeps(ctx, running, keeps)
	b.expireApprovals(ctx)
	b.resumeStarts(ctx, running)
	return nil
}

// runningSet is a cycle's listing of running notebooks, looked up by ID:
// the map is built on the first look-up, so a cycle with no keep and no
// start to watch never builds it.
type runningSet struct {
	nbs  []lease.Notebook
	byID map[string]lease.Notebook
}

func (r *runningSet) get(id string) (lease.Notebook, bool) {
	if r.byID == nil {
		r.byID = make(map[string]lease.Notebook, len(r.nbs))
		for _, nb := range r.nbs {
			r.byID[nb.ID] = nb
		}
	}
	nb, ok := r.byID[id]
	return nb, ok
}

// diff compares a listing with the open warnings and claims, in the store,
// the copies to post.
func (b *Bot) diff(ctx context.Context, nbs []lease.Notebook, open []store.Warning, keeps map[string]store.Keep, now time.Time) ([]pendingPost, []ending) {
	var posts []pendingPost
	var ends []ending
	byNotebook := map[string][]store.Warning{}
	for _, w := range open {
		byNotebook[w.Notebook] = append(byNotebook[w.Notebook], w)
	}
	chans := make([]string, 0, 8)
	index := b.access.Index()
	for _, nb := range nbs {
		// A warned notebook still running keeps its warnings open unless its
		// stop time moved; one listed but not running is handled below as
		// stopped (a server may ignore the status filter).
		if ws, ok := byNotebook[nb.ID]; ok && nb.Running() {
			for _, w := range ws {
				if stop := nb.StopTime(); !stop.Equal(w.Stop) && !stop.IsZero() {
					ends = append(ends, ending{w, store.WarningOutcome{Notebook: w.Notebook, Stop: w.Stop, Outcome: store.OutcomeMoved, NewStop: stop},
						b.movedMessage(w, nb, now)})
				}
			}
			delete(byNotebook, nb.ID)
		}
		if !nb.Running() {
			continue
		}
		stop := nb.StopTime()
		left := stop.Sub(now)
		if stop.IsZero() || left <= 0 || left > b.widestWarning || !nb.Lease.IsTiming() {
			continue
		}
		// A kept notebook is warned only about its last lease, the one
		// that ends when the keep does.
		if k, kept := keeps[nb.ID]; kept && stop.Before(k.Until.Add(-time.Minute)) {
			continue
		}
		chans = index.Channels(chans[:0], nb)
		for _, id := range chans {
			ch, _ := b.access.Channel(id)
			if !ch.Warn {
				continue
			}
			if p, ok := b.claim(ctx, nb, stop, id, ch.WarnBefore, left); ok {
				posts = append(posts, p)
			}
		}
		// The owner gets a copy by direct message, with the same buttons.
		if owner := b.access.Owner(nb); owner != "" && b.cfg.Defaults.NotifyOwner {
			if p, ok := b.claim(ctx, nb, stop, ownerTarget(owner), b.cfg.Defaults.WarnBefore, left); ok {
				posts = append(posts, p)
			}
		}
	}
	for _, ws := range byNotebook { // warned notebooks no longer running
		for _, w := range ws {
			ends = append(ends, ending{w, store.WarningOutcome{Notebook: w.Notebook, Stop: w.Stop, Outcome: store.OutcomeStopped}, b.stoppedMessage(w)})
		}
	}
	return posts, ends
}

// claimKey names one (notebook, stop, target) in the process's memory of
// claims, which spares the store a question per notebook per cycle.
type claimKey struct {
	notebook string
	stop     int64
	target   string
}

// claim claims the copy for target when nb's time left has crossed a
// threshold not yet warned at.
func (b *Bot) claim(ctx context.Context, nb lease.Notebook, stop time.Time, target string, thresholds []time.Duration, left time.Duration) (pendingPost, bool) {
	th := smallestCovering(thresholds, left)
	if th == 0 {
		return pendingPost{}, false
	}
	key := claimKey{nb.ID, stop.UnixMilli(), target}
	if prev, ok := b.claimed.Load(key); ok && prev.(time.Duration) <= th {
		return pendingPost{}, false
	}
	p := store.WarningPost{Notebook: nb.ID, Stop: stop, Name: nb.Name, Target: target, Threshold: th}
	won, err := b.store.ClaimWarningPost(ctx, p)
	if err != nil {
		b.log.Warn("claiming a warning failed; trying again next cycle", "notebook", nb.ID, "target", target, "err", err)
		return pendingPost{}, false
	}
	b.claimed.Store(key, th)
	return pendingPost{claim: p, nb: nb}, won
}

// A warning copy meant for a person (the notebook's owner) has a target of
// "@" and their user ID; every other target is a channel ID.
func ownerTarget(user string) string { return "@" + user }

func targetOf(target string) Target {
	if user, ok := strings.CutPrefix(target, "@"); ok {
		return Target{User: user}
	}
	return Target{Channel: target}
}

// deliver posts new warning copies and ends warnings whose notebook
// stopped or moved, updating their copies.
func (b *Bot) deliver(ctx context.Context, posts []pendingPost, ends []ending) {
	now := b.now()
	for _, p := range posts {
		msg := b.warningMessage(p.nb, p.claim.Target, now)
		ref, err := b.chat.Post(ctx, targetOf(p.claim.Target), msg)
		if errors.Is(err, ErrUndeliverable) {
			// Kept as claimed: posting again every cycle would fail the same way.
			b.log.Error("a warning cannot be posted there; is the bot a member of the channel?", "target", p.claim.Target, "notebook", p.nb.ID, "err", err)
			continue
		}
		if err != nil {
			b.log.Warn("posting a warning failed; trying again next cycle", "target", p.claim.Target, "notebook", p.nb.ID, "err", err)
			b.claimed.Delete(claimKey{p.claim.Notebook, p.claim.Stop.UnixMilli(), p.claim.Target})
			if err := b.store.DropWarningPost(ctx, p.claim); err != nil {
				b.log.Warn("dropping a warning claim failed", "err", err)
			}
			continue
		}
		b.obs.WarningPosted()
		if err := b.store.PostedWarning(ctx, p.claim, ref.Conversation, ref.ID); err != nil {
			b.log.Warn("recording a posted warning failed", "notebook", p.nb.ID, "err", err)
			continue
		}
		// Someone may have acted on another copy while this one was being
		// posted: then this copy says so too.
		if w, ok, err := b.store.Warning(ctx, p.claim.Notebook, p.claim.Stop); err == nil && ok && w.Outcome != store.OutcomeOpen {
			if m, ok := b.outcomeMessage(w); ok {
				if err := b.chat.Update(ctx, ref, m); err != nil {
					b.log.Warn("updating a warning failed", "conversation", ref.Conversation, "ref", ref.ID, "err", err)
				}
			}
		}
	}
	for _, e := range ends {
		var ended bool
		err := b.store.Update(ctx, func(tx *store.Tx) error {
			var err error
			ended, err = tx.EndWarning(e.out)
			return err
		})
		if err != nil {
			b.log.Warn("ending a warning failed; trying again next cycle", "notebook", e.w.Notebook, "err", err)
			continue
		}
		if ended {
			b.updateCopies(ctx, e.w.Posts, e.msg)
		}
	}
}

// updateCopies replaces every posted copy of a warning with msg.
func (b *Bot) updateCopies(ctx context.Context, posts []store.Post, msg Message) {
	for _, p := range posts {
		if !p.Posted() {
			continue
		}
		if err := b.chat.Update(ctx, MessageRef{Conversation: p.Conversation, ID: p.Ref}, msg); err != nil {
			b.log.Warn("updating a warning failed", "conversation", p.Conversation, "ref", p.Ref, "err", err)
		}
	}
}

// buttonsFor is the extend buttons of a warning copy: the channel's, or
// for an owner's copy the default buttons within the owner limit.
func (b *Bot) buttonsFor(target string) []time.Duration {
	if ch, ok := b.access.Channel(target); ok {
		return ch.ExtendButtons
	}
	var out []time.Duration
	for _, d := range b.cfg.Defaults.ExtendButtons {
		if d <= b.cfg.Defaults.OwnerMaxExtend {
			out = append(out, d)
		}
	}
	return out
}

func (b *Bot) warningMessage(nb lease.Notebook, target string, now time.Time) Message {
	stop := nb.StopTime()
	t := Text{}.Plain("⏳ ")
	if strings.HasPrefix(target, "@") {
		t = t.Plain("Your notebook ")
	}
	t = named(t, nb).Plain(" will stop ")
	t = stopAt(t, stop, now).Plain(". Whatever runs in it will be stopped with it. Extend it?")
	var buttons []Button
	for _, d := range b.buttonsFor(target) {
		buttons = append(buttons, Button{
			Action: ActionExtend,
			Value:  warningButton{id: nb.ID, shown: stop, amount: d}.value(),
			Label:  "Extend " + duration.Format(d),
		})
	}
	buttons = append(buttons, Button{Action: ActionDismiss, Value: warningButton{id: nb.ID, shown: stop}.value(), Label: "Let it stop", Danger: true})
	return Message{Text: t, Buttons: buttons, InChannel: true}
}

func warned(w store.Warning) lease.Notebook { return lease.Notebook{ID: w.Notebook, Name: w.Name} }

func (b *Bot) stoppedMessage(w store.Warning) Message {
	t := named(Text{}.Plain("⏹ "), warned(w)).Plain(" is no longer running (it was due to stop ").Time(w.Stop).Plain(").")
	return Message{Text: t, InChannel: true}
}

func (b *Bot) movedMessage(w store.Warning, nb lease.Notebook, now time.Time) Message {
	t := named(Text{}.Plain("↪ The stop time of "), warned(w)).Plain(" was moved without this warning: it now stops ")
	t = stopAt(t, nb.StopTime(), now).Plain(" instead of ").Time(w.Stop).Plain(".")
	return Message{Text: t, InChannel: true}
}

func (b *Bot) extendedMessage(w store.Warning, by string, amount time.Duration, newStop, now time.Time) Message {
	t := Text{}.Plain("✅ ").User(by).Plain(" extended ")
	t = named(t, warned(w)).Plain(" by " + duration.Format(amount) + ": it now stops ")
	t = stopAt(t, newStop, now).Plain(".")
	return Message{Text: t, InChannel: true}
}

// outcomeMessage is what every copy of an ended warning says.
func (b *Bot) outcomeMessage(w store.Warning) (Message, bool) {
	switch w.Outcome {
	case store.OutcomeExtended:
		return b.extendedMessage(w, w.By, w.Amount, w.NewStop, b.now()), true
	case store.OutcomeDismissed:
		return b.dismissedMessage(w, w.By), true
	case store.OutcomeStopped:
		if w.By != "" {
			return Message{Text: Text{}.Plain("⏹ ").User(w.By).Plain(" stopped ").Concat(named(Text{}, warned(w))).Plain("."), InChannel: true}, true
		}
		return b.stoppedMessage(w), true
	case store.OutcomeMoved:
		return b.movedMessage(w, lease.Notebook{ID: w.Notebook, Name: w.Name, Lease: leaseUntil(w.NewStop)}, b.now()), true
	}
	return Message{}, false
}

// leaseUntil is a lease that stops at stop, for describing a moved warning.
func leaseUntil(stop time.Time) lease.Lease {
	return lease.Lease{CreateAt: stop.UnixMilli(), Enable: true}
}

func (b *Bot) dismissedMessage(w store.Warning, by string) Message {
	t := Text{}.Plain("🛑 ").User(by).Plain(" chose to let ")
	t = named(t, warned(w)).Plain(" stop at ").Time(w.Stop).Plain(". No more warnings for this stop time.")
	return Message{Text: t, InChannel: true}
}
