package bot

import (
	"context"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/access"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// Action IDs of the stop confirmation's buttons.
const (
	ActionStopNow    = "leasebot_stop_now"
	ActionStopCancel = "leasebot_stop_cancel"
)

// Starting a notebook takes minutes: after the start call, leasebot
// watches it (every startPoll, for at most startWatch) and updates the
// message that announced the start with the stop time, or the failure.
const (
	defaultStartWatch = 10 * time.Minute
	defaultStartPoll  = 5 * time.Second
)

// where says where a change announced to everyone goes: the channel, or in
// a direct message (or the home view) the person's own conversation with the app.
func (b *Bot) announceTarget(user string, e Event) Target {
	if e.Surface == InChannel {
		return Target{Channel: e.Channel}
	}
	return Target{User: user}
}

func (b *Bot) start(ctx context.Context, r *request) result {
	d := r.cmd.By
	if d == 0 {
		// The default start_duration, within the limit of this place.
		d = min(b.cfg.Defaults.StartDuration, max(r.member.MaxExtend, lease.MinDuration))
	}
	// Limits that need no notebook come before any ModelArts call.
	switch limit := r.member.MaxExtend; {
	case d < lease.MinDuration:
		return b.refused(r, "under_1h", Text{}.Plain("ModelArts runs a started notebook for at least 1h; ask for 1h or more."))
	case d > lease.MaxDuration:
		return b.refused(r, "over_72h", Text{}.Plain("ModelArts runs a started notebook for at most 72h; ask for "+duration.Format(lease.MaxDuration)+" or less."))
	case d > limit:
		return b.refused(r, "over_max_extend", Text{}.Plain("That is "+duration.Format(d)+"; notebooks started here may run at most "+duration.Format(limit)+" before their first stop."))
	}
	var announced MessageRef
	res := b.changeNotebook(ctx, r, r.cmd.Notebook, config.ActionStart, func(nb lease.Notebook, _ access.Decision) result {
		c := &change{nb: nb, requested: duration.Format(d)}
		if !strings.EqualFold(nb.Status, lease.StatusStopped) {
			c.outcome, c.code = outcomeRefused, "not_stopped"
			t := named(Text{}, nb).Plain(" is " + nb.Status + "; only a stopped notebook can be started.")
			if nb.Running() {
				t = named(Text{}, nb).Plain(" is already running.")
			}
			return result{reply: say(t), change: c}
		}
		started, err := b.leases.Start(ctx, nb.ID, d)
		b.forget()
		switch {
		case lease.KindOf(err) == lease.KindUnknown:
			c.outcome, c.code, c.err = outcomeUnknown, errCode(err), err
			return result{reply: say(Text{}.Plain("I could not tell whether ModelArts started ").Concat(named(Text{}, nb)).Plain(". See ").Code("/notebook status " + nb.ID).Plain(".")), change: c}
		case err != nil:
			c.outcome, c.code, c.err = outcomeFailed, errCode(err), err
			return result{reply: say(b.leaseFailure(err, nb)), change: c}
		}
		c.outcome = "started"
		if s := started.StopTime(); !s.IsZero() {
			c.new = s
		}
		msg := Message{Text: Text{}.Plain("▶ ").User(r.User).Plain(" started ").Concat(named(Text{}, nb)).
			Plain(" to run for " + duration.Format(d) + "; it is starting."), InChannel: true}
		ref, perr := b.chat.Post(ctx, b.announceTarget(r.User, r.Event), msg)
		if perr != nil {
			b.log.Warn("announcing a start failed", "notebook", nb.ID, "err", perr)
			return result{reply: &msg, change: c, ok: true}
		}
		announced = ref
		return result{change: c, ok: true, reply: say(Text{}.Plain("Starting ").Concat(named(Text{}, nb)).Plain("; the message announcing it will show its stop time once it runs."))}
	})
	if announced.ID != "" {
		nb := res.change.nb
		w := store.StartWatch{Conversation: announced.Conversation, Ref: announced.ID, Notebook: nb.ID, Name: nb.Name, User: r.User, Started: b.now()}
		// Recorded, the watch outlives this process: the leader tells the
		// end if nobody here does.
		recorded := true
		if err := b.store.AddStartWatch(ctx, w); err != nil {
			b.log.Warn("recording a start to watch failed; only this process watches it", "notebook", nb.ID, "err", err)
			recorded = false
		}
		b.background(func(ctx context.Context) { b.watchStart(ctx, w, recorded) })
	}
	return res
}

// watchStart follows a notebook after its start until it runs, fails, or
// the watch gives up, and says so in the message that announced the start.
// recorded says the watch is in the store: then, if this process stops
// first, the leader tells the end instead.
func (b *Bot) watchStart(ctx context.Context, w store.StartWatch, recorded bool) {
	key := w.Conversation + "/" + w.Ref
	if _, dup := b.watching.LoadOrStore(key, true); dup {
		return
	}
	defer b.watching.Delete(key)
	// Watched for startWatch from the start, on the core's clock.
	ctx, cancel := context.WithTimeout(ctx, b.startWatch-b.now().Sub(w.Started))
	defer cancel()
	tick := time.NewTicker(b.startPoll)
	defer tick.Stop()
	last := lease.StatusStarting
	for {
		select {
		case <-ctx.Done():
			if b.life.Err() != nil {
				if recorded {
					return // the leader takes it from here
				}
				// leasebot is stopping: say only what is known.
				t := startHead(w).Plain("; leasebot stopped watching it while it was " + last + ". See ").Code("/notebook status " + w.Notebook).Plain(".")
				b.update(MessageRef{Conversation: w.Conversation, ID: w.Ref}, Message{Text: t, InChannel: true})
				return
			}
			b.tellStartEnd(w, recorded, b.stillStarting(w, last))
			return
		case <-tick.C:
		}
		cur, err := b.leases.Get(ctx, w.Notebook)
		if err != nil && lease.KindOf(err) != lease.KindNotFound {
			continue // a transient failure: look again next tick
		}
		last = cur.Status
		if m, done := b.startEnd(w, cur, err); done {
			b.tellStartEnd(w, recorded, m)
			return
		}
	}
}

// resumeStarts is the leader's part in starts: it tells the end of those
// whose notebook now runs or failed, or that were watched long enough,
// when the process that started them did not (it stopped, or was killed),
// and watches the others itself, as their starter would, so that a start
// left by a process that stopped is told within moments of its end, not
// at a later cycle. running is the cycle's listing of running notebooks.
func (b *Bot) resumeStarts(ctx context.Context, running *runningSet) {
	ws, err := b.store.StartWatches(ctx)
	if err != nil {
		b.log.Warn("reading the starts to watch failed", "err", err)
		return
	}
	now := b.now()
	for _, w := range ws {
		cur, ok := running.get(w.Notebook)
		var err error
		if !ok {
			if cur, err = b.leases.Get(ctx, w.Notebook); err != nil && lease.KindOf(err) != lease.KindNotFound {
				continue // look again next cycle
			}
		}
		switch m, done := b.startEnd(w, cur, err); {
		case done:
			b.tellStartEnd(w, true, m)
		case now.Sub(w.Started) >= b.startWatch:
			b.tellStartEnd(w, true, b.stillStarting(w, cur.Status))
		default:
			if _, watched := b.watching.Load(w.Conversation + "/" + w.Ref); !watched {
				b.background(func(ctx context.Context) { b.watchStart(ctx, w, true) })
			}
		}
	}
}

// startHead is how an announcement of a start begins.
func startHead(w store.StartWatch) Text {
	return Text{}.Plain("▶ ").User(w.User).Plain(" started ").Concat(named(Text{}, lease.Notebook{ID: w.Notebook, Name: w.Name}))
}

// startEnd is the announcement of w once its notebook, read as cur (or
// found missing: notFound), runs or did not start; false while it is
// still starting.
func (b *Bot) startEnd(w store.StartWatch, cur lease.Notebook, notFound error) (Message, bool) {
	head := startHead(w)
	switch {
	case notFound != nil:
		return Message{Text: head.Plain(", but it no longer exists."), InChannel: true}, true
	case cur.Running():
		t := head.Plain(": it is running")
		if s := cur.StopTime(); !s.IsZero() {
			t = stopAt(t.Plain(" and stops "), s, b.now())
		}
		return Message{Text: t.Plain("."), InChannel: true}, true
	case strings.EqualFold(cur.Status, lease.StatusStarting):
		return Message{}, false
	}
	// START_FAILED, ERROR, STOPPED again: it did not start.
	why := cur.FailReason
	if why == "" {
		why = "ModelArts reports it " + cur.Status
	}
	return Message{Text: head.Plain(", but it did not start: " + why + "."), InChannel: true}, true
}

// stillStarting is the announcement of w once it was watched long enough.
func (b *Bot) stillStarting(w store.StartWatch, status string) Message {
	t := startHead(w).Plain(", but it is still " + status + " after " + duration.Format(b.startWatch) + ". See ").Code("/notebook status " + w.Notebook).Plain(".")
	return Message{Text: t, InChannel: true}
}

// tellStartEnd updates w's announcement with m, once: when the watch is
// recorded, only the process whose EndStartWatch ends it says so. If the
// store cannot be asked, it says so anyway: the same words twice are
// better than none.
func (b *Bot) tellStartEnd(w store.StartWatch, recorded bool, m Message) {
	if recorded {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ended, err := b.store.EndStartWatch(ctx, w.Conversation, w.Ref)
		cancel()
		if err == nil && !ended {
			return // told already, by another process or the leader
		}
	}
	b.update(MessageRef{Conversation: w.Conversation, ID: w.Ref}, m)
}

// update replaces a message, on a fresh context: it must happen even when
// the work that asked for it is ending.
func (b *Bot) update(ref MessageRef, m Message) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := b.chat.Update(ctx, ref, m); err != nil {
		b.log.Warn("updating a message failed", "conversation", ref.Conversation, "ref", ref.ID, "err", err)
	}
}

// background runs f until it returns or the Bot closes.
func (b *Bot) background(f func(ctx context.Context)) {
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		f(b.life)
	}()
}

func (b *Bot) stop(ctx context.Context, r *request) result {
	nb, why := b.resolve(ctx, r, r.cmd.Notebook)
	if why != nil {
		return b.refused(r, "resolve", why)
	}
	if d := b.access.Check(ctx, r.User, r.where, config.ActionStop, nb); !d.OK() {
		return b.refusedOn(r, nb, refusalCode(d), b.refusal(d))
	}
	if !nb.Running() {
		return b.refusedOn(r, nb, "not_running", named(Text{}, nb).Plain(" is "+nb.Status+"; only a running notebook can be stopped."))
	}
	t := Text{}.Plain("Stop ").Concat(named(Text{}, nb)).Plain(" now? Whatever runs in it stops with it, and anything outside /home/ma-user/work is lost.")
	return result{ok: true, reply: &Message{Text: t, Buttons: []Button{
		{Action: ActionStopNow, Value: nb.ID, Label: "Stop now", Danger: true},
		{Action: ActionStopCancel, Value: nb.ID, Label: "Cancel"},
	}}}
}

// clickStopNow carries out a confirmed stop: access is checked again, and
// under the notebook's lock it must still be running, so a double click or a
// second copy of the confirmation stops it once.
func (b *Bot) clickStopNow(ctx context.Context, c *click) result {
	id := strings.ToLower(c.Value)
	if !lease.IsNotebookID(id) {
		return b.ignored(c, errIgnored)
	}
	stub := lease.Notebook{ID: id}
	refused := func(nb lease.Notebook, code string, t Text) result {
		return result{reply: say(t), replace: true, change: &change{nb: nb, old: nb.StopTime(), outcome: outcomeRefused, code: code}}
	}
	if d := b.member(ctx, c); !d.OK() {
		return refused(stub, refusalCode(d), b.refusal(d))
	}
	unlock, err := b.locks.LockNotebook(ctx, id)
	if err != nil {
		return refused(stub, lockCode(err), lockRefusal(err))
	}
	defer unlock()
	nb, err := b.leases.Get(ctx, id)
	if err != nil {
		res := refused(stub, errCode(err), b.leaseFailure(err, stub))
		res.change.outcome, res.change.err = outcomeFailed, err
		return res
	}
	d := b.decide(ctx, c, config.ActionStop, nb)
	if !d.OK() {
		return refused(nb, refusalCode(d), b.refusal(d))
	}
	if !nb.Running() {
		return refused(nb, "not_running", named(Text{}, nb).Plain(" is already "+nb.Status+"; nothing to stop."))
	}
	_, err = b.leases.Stop(ctx, id)
	b.forget()
	ch := &change{nb: nb, old: nb.StopTime(), via: d.Via}
	switch {
	case lease.KindOf(err) == lease.KindUnknown:
		ch.outcome, ch.code, ch.err = outcomeUnknown, errCode(err), err
		return result{reply: say(Text{}.Plain("I could not tell whether ModelArts stopped ").Concat(named(Text{}, nb)).Plain(". See ").Code("/notebook status " + nb.ID).Plain(".")), replace: true, change: ch}
	case err != nil:
		ch.outcome, ch.code, ch.err = outcomeFailed, errCode(err), err
		return result{reply: say(b.leaseFailure(err, nb)), replace: true, change: ch}
	}
	ch.outcome = "stopped"
	msg := Message{Text: Text{}.Plain("⏹ ").User(c.User).Plain(" stopped ").Concat(named(Text{}, nb)).Plain("."), InChannel: true}
	if _, err := b.chat.Post(ctx, b.announceTarget(c.User, c.Event), msg); err != nil {
		b.log.Warn("announcing a stop failed", "notebook", id, "err", err)
	}
	b.stoppedBy(ctx, nb, c.User)
	return result{ok: true, replace: true, change: ch, reply: say(Text{}.Plain("Stopped ").Concat(named(Text{}, nb)).Plain("."))}
}

func (b *Bot) clickStopCancel(_ context.Context, c *click) result {
	id := strings.ToLower(c.Value)
	if !lease.IsNotebookID(id) {
		return b.ignored(c, errIgnored)
	}
	return result{ok: true, replace: true, reply: say(Text{}.Plain("Cancelled: nothing was stopped."))}
}

// stoppedBy ends the open warnings of a notebook someone stopped and
// updates their copies.
func (b *Bot) stoppedBy(ctx context.Context, nb lease.Notebook, user string) {
	open, err := b.store.OpenWarnings(ctx, b.now().Add(-maxWarningAge))
	if err != nil {
		b.log.Warn("reading the warnings of a stopped notebook failed", "notebook", nb.ID, "err", err)
		return
	}
	for _, w := range open {
		if w.Notebook != nb.ID {
			continue
		}
		var ended bool
		err := b.store.Update(ctx, func(tx *store.Tx) error {
			var err error
			ended, err = tx.EndWarning(store.WarningOutcome{Notebook: w.Notebook, Stop: w.Stop, Outcome: store.OutcomeStopped, By: user})
			return err
		})
		if err != nil || !ended {
			continue
		}
		t := Text{}.Plain("⏹ ").User(user).Plain(" stopped ").Concat(named(Text{}, warned(w))).Plain(".")
		b.updateCopies(ctx, w.Posts, Message{Text: t, InChannel: true})
	}
}
