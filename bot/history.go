package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// defaultHistoryCount is how many entries a reply shows unless asked.
const defaultHistoryCount = 10

// historyFirstLook is how many of the newest entries `history` without a
// notebook reads first: a busy channel finds its entries among them.
const historyFirstLook = 200

func (b *Bot) history(ctx context.Context, r *request) result {
	n := r.cmd.Count
	if n == 0 {
		n = defaultHistoryCount
	}
	var entries []store.Entry
	var head Text
	if r.cmd.Notebook != "" {
		nb, why := b.resolve(ctx, r, r.cmd.Notebook)
		if why != nil {
			return result{reply: say(why)}
		}
		var err error
		if entries, err = b.store.History(ctx, store.HistoryQuery{Notebooks: []string{nb.ID}, Limit: n}); err != nil {
			b.log.Warn("reading the history failed", "err", err)
			return result{reply: say(Text{}.Plain("leasebot cannot read its history right now; please try again in a few minutes."))}
		}
		head = Text{}.Plain("Changes to ").Concat(named(Text{}, nb))
	} else {
		var err error
		if entries, err = b.historyHere(ctx, r, n); err != nil {
			b.log.Warn("reading the history failed", "err", err)
			return result{reply: say(Text{}.Plain("leasebot cannot read its history right now; please try again in a few minutes."))}
		}
		head = Text{}.Plain("Changes to the notebooks this channel manages")
		if r.where.Direct {
			head = Text{}.Plain("Changes to your notebooks")
		}
	}
	if len(entries) == 0 {
		return result{reply: say(head.Plain(": none recorded.")), ok: true}
	}
	t := head.Plain(fmt.Sprintf(", newest first (%d):", len(entries)))
	for _, e := range entries {
		t = t.Plain("\n• ").Concat(b.historyLine(e, r.cmd.Notebook == ""))
	}
	return result{reply: say(t), ok: true}
}

// historyHere returns the newest n entries about notebooks visible where r
// was asked: the channel's notebooks, or in a direct message the person's
// own. A channel with "*" reads the newest entries. Otherwise the newest
// few are read first, which is enough in a busy channel; if they hold
// fewer than n, the store is asked for exactly the notebooks shown here
// among those the history knows (deleted ones are judged by their ID and
// their name in the history), so that a quiet channel's older entries are
// found too, at an index seek per notebook rather than a scan of the
// history.
func (b *Bot) historyHere(ctx context.Context, r *request, n int) ([]store.Entry, error) {
	if !r.where.Direct && b.access.CoversAll(r.Channel) {
		return b.store.History(ctx, store.HistoryQuery{Limit: n})
	}
	all, err := b.listing(ctx)
	if err != nil && r.where.Direct {
		return nil, err // ownership needs the listing
	}
	current := make(map[string]lease.Notebook, len(all))
	for _, nb := range all {
		current[nb.ID] = nb
	}
	shown := func(id, name string) bool {
		nb, ok := current[id]
		if !ok {
			nb = lease.Notebook{ID: id, Name: name} // deleted since
		}
		if r.where.Direct {
			return ok && b.access.Owner(nb) == r.User
		}
		return b.access.Covers(r.Channel, nb)
	}
	newest, err := b.store.History(ctx, store.HistoryQuery{Limit: max(historyFirstLook, 4*n)})
	if err != nil {
		return nil, err
	}
	var out []store.Entry
	for _, e := range newest {
		if shown(e.Notebook, e.NotebookName) {
			if out = append(out, e); len(out) == n {
				return out, nil
			}
		}
	}
	if len(newest) < max(historyFirstLook, 4*n) {
		return out, nil // that was the whole history
	}
	seen, err := b.store.HistoryNotebooks(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range seen {
		if shown(s.ID, s.Name) {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return b.store.History(ctx, store.HistoryQuery{Notebooks: ids, Limit: n})
}

// historyLine is one entry: when, who, what, the stop time before and
// after, and how it ended.
func (b *Bot) historyLine(e store.Entry, withName bool) Text {
	t := Text{}.Time(e.At).Plain(" ").User(e.User).Plain(" " + e.Verb)
	if e.Requested != "" {
		t = t.Plain(" " + e.Requested)
	}
	if withName {
		t = t.Plain(" ").Concat(named(Text{}, lease.Notebook{ID: e.Notebook, Name: e.NotebookName}))
	}
	if !e.OldStop.IsZero() || !e.NewStop.IsZero() {
		t = t.Plain(": ")
		if e.OldStop.IsZero() {
			t = t.Plain("–")
		} else {
			t = t.Time(e.OldStop)
		}
		t = t.Plain(" → ")
		if e.NewStop.IsZero() {
			t = t.Plain("–")
		} else {
			t = t.Time(e.NewStop)
		}
	}
	t = t.Plain(", " + e.Outcome)
	if e.Code != "" && e.Outcome != "extended" {
		t = t.Plain(" (" + strings.ReplaceAll(e.Code, "_", " ") + ")")
	}
	if e.Approver != "" {
		t = t.Plain(", approved by ").User(e.Approver)
	}
	return t
}
