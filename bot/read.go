package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// maxListed caps how many notebooks one `list` reply shows.
const maxListed = 40

func (b *Bot) help(_ context.Context, r *request) result {
	return result{reply: say(Text{}.Plain(parser.TopicUsage(r.cmd.Topic))), ok: true}
}

func (b *Bot) list(ctx context.Context, r *request) result {
	all, err := b.listing(ctx)
	if err != nil {
		return result{reply: say(b.leaseFailure(err, lease.Notebook{}))}
	}
	var mine []lease.Notebook
	for _, nb := range all {
		if b.listedHere(r, nb) {
			mine = append(mine, nb)
		}
	}
	if len(mine) == 0 {
		if r.where.Direct {
			return result{reply: say(Text{}.Plain("You own no notebook that exists right now.")), ok: true}
		}
		return result{reply: say(Text{}.Plain("This channel manages no notebooks that exist right now.")), ok: true}
	}
	sortForList(mine)
	keeps := b.keepsOrNone(ctx)
	now := b.now()
	head := fmt.Sprintf("Notebooks managed from this channel (%d):", len(mine))
	if r.where.Direct {
		head = fmt.Sprintf("Your notebooks (%d):", len(mine))
	}
	t := Text{}.Plain(head)
	for i, nb := range mine {
		if i == maxListed {
			t = t.Plain(fmt.Sprintf("\n…and %d more. Use ", len(mine)-maxListed)).Code("/notebook status <name>").Plain(" for one.")
			break
		}
		t = t.Plain("\n• ").Strong(nb.Name).Plain(" ").Code(nb.ID).Plain(" ")
		t = b.describeStop(t, nb, now)
		k, kept := keeps[nb.ID]
		t = keptNote(t, k, kept)
	}
	return result{reply: say(t), ok: true}
}

// keepsOrNone is the active keeps by notebook, or none when the store
// cannot say: a read shows what it can.
func (b *Bot) keepsOrNone(ctx context.Context) map[string]store.Keep {
	keeps, err := b.keepsByNotebook(ctx)
	if err != nil {
		b.log.Warn("reading keeps failed", "err", err)
	}
	return keeps
}

// listedHere reports whether list shows nb to r: the channel's own
// notebooks (admins see the same list as everyone), or in a direct message
// the caller's own.
func (b *Bot) listedHere(r *request, nb lease.Notebook) bool {
	if r.where.Direct {
		return b.access.Visible(r.User, r.where, nb)
	}
	return b.access.Covers(r.Channel, nb)
}

// sortForList puts running notebooks first, soonest stop first, then by name.
func sortForList(nbs []lease.Notebook) {
	slices.SortStableFunc(nbs, func(a, c lease.Notebook) int {
		if a.Running() != c.Running() {
			if a.Running() {
				return -1
			}
			return 1
		}
		if a.Running() && !a.StopTime().Equal(c.StopTime()) {
			return a.StopTime().Compare(c.StopTime())
		}
		return strings.Compare(a.Name, c.Name)
	})
}

// describeStop appends a notebook's state and stop time.
func (b *Bot) describeStop(t Text, nb lease.Notebook, now time.Time) Text {
	if !nb.Running() {
		return t.Plain(nb.Status)
	}
	stop := nb.StopTime()
	if stop.IsZero() {
		return t.Plain("RUNNING, auto-stop off")
	}
	return stopAt(t.Plain("RUNNING, stops "), stop, now)
}

// stopAt appends "<time> (in 2h 05m)".
func stopAt(t Text, stop, now time.Time) Text {
	t = t.Time(stop)
	if left := stop.Sub(now); left > 0 {
		return t.Plain(" (in " + duration.Format(left.Round(time.Minute)) + ")")
	}
	return t.Plain(" (now)")
}

func (b *Bot) status(ctx context.Context, r *request) result {
	nb, why := b.resolve(ctx, r, r.cmd.Notebook)
	if why != nil {
		return result{reply: say(why)}
	}
	now := b.now()
	t := named(Text{}, nb).Plain("\nStatus: " + nb.Status)
	if nb.Flavor != "" {
		t = t.Plain(" · " + nb.Flavor)
	}
	if nb.Running() {
		stop := nb.StopTime()
		switch {
		case stop.IsZero():
			t = t.Plain("\nAuto-stop is off: it runs until someone stops it.")
		default:
			kind := "scheduled stop"
			if !nb.Lease.IsTiming() {
				kind = "stop when idle (" + strings.ToLower(nb.Lease.Type) + ")"
			}
			t = stopAt(t.Plain("\nLease: "+kind+"\nStops: "), stop, now)
		}
	}
	if k, kept, err := b.store.Keep(ctx, nb.ID); err == nil && kept {
		t = t.Plain("\nKept running until ").Time(k.Until).Plain(" by ").User(k.By).Plain(": leasebot renews its lease as it runs out.")
	}
	return result{reply: say(t), ok: true}
}

// named appends "*name* `id`".
func named(t Text, nb lease.Notebook) Text {
	if nb.Name == "" {
		return t.Code(nb.ID)
	}
	return t.Strong(nb.Name).Plain(" ").Code(nb.ID)
}
