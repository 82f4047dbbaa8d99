package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/access"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
)

// A notebook the caller may not see here is answered exactly like one that
// does not exist: the answer never tells a non-member which names exist.

// notFound is the answer for a reference that names no notebook visible here.
func (b *Bot) notFound(r *request, ref string) Text {
	if lease.IsNotebookID(ref) {
		t := Text{}.Plain("No such notebook: ").Code(strings.ToLower(ref)).Plain(". It may have been deleted")
		if r.where.Direct {
			return t.Plain(", or it is not yours.")
		}
		return t.Plain(", or it is not managed from this channel.")
	}
	t := Text{}.Plain("No notebook is called ").Code(ref).Plain(" here: ")
	if r.where.Direct {
		return t.Plain("it does not exist or is not yours. ").Code("/notebook list").Plain(" shows yours.")
	}
	return t.Plain("it does not exist or is not managed from this channel. ").Code("/notebook list").Plain(" shows the notebooks this channel manages.")
}

// find turns a reference into a notebook ID: an ID as it is, a name through
// a (cached) listing, among the notebooks visible to the caller here. When
// it fails, the text says why.
func (b *Bot) find(ctx context.Context, r *request, ref string) (string, Text) {
	if lease.IsNotebookID(ref) {
		return strings.ToLower(ref), nil
	}
	var found []lease.Notebook
	for fresh := false; ; fresh = true {
		all, age, err := b.cachedListing(ctx)
		fresh = fresh || age < refetchAfter
		if err != nil {
			return "", b.leaseFailure(err, lease.Notebook{})
		}
		for _, nb := range all {
			if (nb.Name == ref || strings.EqualFold(nb.ID, ref)) && b.access.Visible(r.User, r.where, nb) {
				found = append(found, nb)
			}
		}
		// A cached listing may predate a notebook made a moment ago: one
		// older than refetchAfter is fetched again before saying "no".
		if len(found) > 0 || fresh {
			break
		}
		b.forget()
	}
	switch len(found) {
	case 0:
		return "", b.notFound(r, ref)
	case 1:
		return found[0].ID, nil
	}
	t := Text{}.Plain(fmt.Sprintf("%d notebooks are called ", len(found))).Strong(ref).Plain("; use the ID of the one you mean:")
	for _, nb := range found {
		t = t.Plain("\n• ").Strong(nb.Name).Plain(" ").Code(nb.ID).Plain(" " + nb.Status)
	}
	return "", t
}

// fetch reads notebook id fresh and checks the caller may see it here.
func (b *Bot) fetch(ctx context.Context, r *request, ref, id string) (lease.Notebook, Text) {
	nb, err := b.leases.Get(ctx, id)
	if lease.KindOf(err) == lease.KindNotFound {
		return lease.Notebook{}, b.notFound(r, ref)
	}
	if err != nil {
		return lease.Notebook{}, b.leaseFailure(err, lease.Notebook{ID: id})
	}
	if !b.access.Visible(r.User, r.where, nb) {
		return lease.Notebook{}, b.notFound(r, ref)
	}
	return nb, nil
}

// resolve finds the notebook a command names and reads it fresh.
func (b *Bot) resolve(ctx context.Context, r *request, ref string) (lease.Notebook, Text) {
	id, why := b.find(ctx, r, ref)
	if why != nil {
		return lease.Notebook{}, why
	}
	return b.fetch(ctx, r, ref, id)
}

// changeNotebook carries out a change to the notebook ref names: it finds
// the notebook, takes its lock, reads it fresh, checks that the caller may
// take action on it here, waits for the delivery's claim, and runs act with
// what it read. Everything act does happens while no other change to this
// notebook can, and only in the one process that claimed the delivery.
func (b *Bot) changeNotebook(ctx context.Context, r *request, ref string, action config.Action, act func(nb lease.Notebook, d access.Decision) result) result {
	id, why := b.find(ctx, r, ref)
	if why != nil {
		return b.refused(r, "resolve", why)
	}
	unlock, err := b.locks.LockNotebook(ctx, id)
	if err != nil {
		return b.refused(r, lockCode(err), lockRefusal(err))
	}
	defer unlock()
	nb, why := b.fetch(ctx, r, ref, id)
	if why != nil {
		return b.refused(r, "resolve", why)
	}
	d := b.access.Check(ctx, r.User, r.where, action, nb)
	if !d.OK() {
		if d.Reason == access.NotCovered {
			return b.refusedOn(r, nb, refusalCode(d), b.notFound(r, ref))
		}
		return b.refusedOn(r, nb, refusalCode(d), b.refusal(d))
	}
	// The first change: only now must the delivery be known to be this
	// one's to carry out.
	if instead, ok := b.mayChange(r); !ok {
		return instead
	}
	res := act(nb, d)
	if res.change != nil && res.change.via == "" {
		res.change.via = d.Via
	}
	return res
}

// listing returns all notebooks, from a short-lived cache.
func (b *Bot) listing(ctx context.Context) ([]lease.Notebook, error) {
	all, _, err := b.cachedListing(ctx)
	return all, err
}

// refetchAfter is how old a cached listing must be before a name missing
// from it is looked up again.
const refetchAfter = 5 * time.Second

type cachedNotebooks struct {
	nbs []lease.Notebook
	at  time.Time
}

// cachedListing is listing, with the age of the answer (0 when fetched now).
// Concurrent misses share one listing; one that began before a change is
// returned to its callers but not kept.
func (b *Bot) cachedListing(ctx context.Context) ([]lease.Notebook, time.Duration, error) {
	if v, ok := b.listings.Get("all"); ok {
		c := v.(cachedNotebooks)
		return c.nbs, time.Since(c.at), nil
	}
	v, err, _ := b.listLookups.Do("all", func() (any, error) {
		gen := b.listGen.Load()
		// Not cut short by the first caller giving up: others may wait.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listTimeout)
		defer cancel()
		all, err := b.leases.List(ctx, lease.ListOptions{})
		if err != nil {
			return nil, err
		}
		if b.listGen.Load() == gen {
			b.listings.SetDefault("all", cachedNotebooks{all, time.Now()})
		}
		return all, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return v.([]lease.Notebook), 0, nil
}

// listTimeout bounds one shared listing.
const listTimeout = 30 * time.Second

// forget drops the cached listing after a change.
func (b *Bot) forget() {
	b.listGen.Add(1)
	b.listings.Flush()
}
