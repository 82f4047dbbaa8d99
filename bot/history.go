package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// History limits: how many entries a reply shows by default, and how far
// back `history` without a notebook searches for this channel's notebooks.
const (
	defaultHistoryCount = 10
	historyScanLimit    = 20_000
	// historyFirstBatch and historyMaxBatch bound the pages read while
	// searching: small first, as a busy channel finds its entries at once,
	// then four times larger each time, so a quiet one needs few queries.
	historyFirstBatch = 50
	historyMaxBatch   = 2_000
)

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
// was asked: the channel's notebooks, or in a direct message the person's own.
func (b *Bot) historyHere(ctx context.Context, r *request, n int) ([]store.Entry, error) {
	all, err := b.listing(ctx)
	if err != nil && r.where.Direct {
		return nil, err // ownership needs the listing
	}
	current := make(map[string]lease.Notebook, len(all))
	for _, nb := range all {
		current[nb.ID] = nb
	}
	shown := func(e store.Entry) bool {
		nb, ok := current[e.Notebook]
		if !ok {
			nb = lease.Notebook{ID: e.Notebook, Name: e.NotebookName} // deleted since: judged by its ID and name
		}
		if r.where.Direct {
			return ok && b.access.Owner(nb) == r.User
		}
		return b.access.Covers(r.Channel, nb)
	}
	var out []store.Entry
	var before int64
	size := max(historyFirstBatch, 2*n)
	for scanned := 0; scanned < historyScanLimit; size = min(4*size, historyMaxBatch) {
		size = min(size, historyScanLimit-scanned)
		batch, err := b.store.History(ctx, store.HistoryQuery{Before: before, Limit: size})
		if err != nil {
			return nil, err
		}
		for _, e := range batch {
			if shown(e) {
				if out = append(out, e); len(out) == n {
					return out, nil
				}
			}
		}
		if len(batch) < size {
			break
		}
		scanned += len(batch)
		before = batch[len(batch)-1].ID
	}
	return out, nil
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
