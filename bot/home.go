package bot

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
	gocache "github.com/patrickmn/go-cache"
)

// Action ID of the Start button in the home view.
const ActionStart = "leasebot_start"

// homeNotebooks returns, sorted for display, the notebooks user sees in the
// home view: their own, and those of the channels whose access list holds
// them.
func (b *Bot) homeNotebooks(ctx context.Context, user string) ([]lease.Notebook, error) {
	all, err := b.listing(ctx)
	if err != nil {
		return nil, err
	}
	channels := b.access.ChannelsOf(ctx, user)
	var out []lease.Notebook
	for _, nb := range all {
		if b.access.Owner(nb) == user || slices.ContainsFunc(channels, func(ch string) bool { return b.access.Covers(ch, nb) }) {
			out = append(out, nb)
		}
	}
	sortForList(out)
	return out, nil
}

// homeFor builds user's home view: a header, and per notebook its name,
// status, stop time and time left, with the extend buttons (and Start on
// their own stopped notebooks, when owners may start them).
func (b *Bot) homeFor(ctx context.Context, user string) Home {
	h := Home{Title: Text{}.Plain("My notebooks")}
	nbs, err := b.homeNotebooks(ctx, user)
	if err != nil {
		h.Intro = Text{}.Plain("I could not list the notebooks just now: ").Concat(b.leaseFailure(err, lease.Notebook{}))
		return h
	}
	now := b.now()
	h.Intro = Text{}.Plain("Your own notebooks and those of your channels, as of ").Time(now).Plain(". Buttons act like a warning's: the same access rules and limits, one change at a time.")
	h.Empty = Text{}.Plain("You have no notebooks here: none you own that an admin linked to you, and none in a channel whose access list holds you.")
	canStart := slices.Contains(b.cfg.Defaults.OwnerActions, config.ActionStart)
	keeps := b.keepsOrNone(ctx)
	for _, nb := range nbs {
		t := named(Text{}, nb).Plain("\n")
		t = b.describeStop(t, nb, now)
		k, kept := keeps[nb.ID]
		t = keptNote(t, k, kept)
		if nb.User.Name != "" && b.access.Owner(nb) != user {
			t = t.Plain(" · owner " + nb.User.Name)
		}
		m := Message{Text: t}
		switch {
		case nb.Running() && !nb.StopTime().IsZero() && nb.Lease.IsTiming():
			for _, d := range b.cfg.Defaults.ExtendButtons {
				m.Buttons = append(m.Buttons, Button{Action: ActionExtend, Label: "Extend " + duration.Format(d),
					Value: warningButton{id: nb.ID, shown: nb.StopTime(), amount: d}.value()})
			}
		case strings.EqualFold(nb.Status, lease.StatusStopped) && canStart && b.access.Owner(nb) == user:
			m.Buttons = append(m.Buttons, Button{Action: ActionStart, Label: "Start for " + duration.Format(b.cfg.Defaults.StartDuration), Value: nb.ID})
		}
		h.Items = append(h.Items, m)
	}
	return h
}

// publishHome shows user their home view, if the chat has one.
func (b *Bot) publishHome(ctx context.Context, user string) {
	hp, ok := b.chat.(HomePublisher)
	if !ok {
		return
	}
	if err := hp.PublishHome(ctx, user, b.homeFor(ctx, user)); err != nil {
		b.log.Warn("publishing a home view failed", "user", user, "err", err)
	}
}

// homeOpened publishes the home view of the person who opened it.
func (b *Bot) homeOpened(ctx context.Context, e Event) {
	if first, err := b.first(ctx, e.ID); err == nil && !first {
		return
	}
	if err := b.store.HomeOpened(ctx, e.User); err != nil {
		b.log.Warn("recording an opened home view failed", "user", e.User, "err", err)
	}
	b.homes.Set(e.User, true, gocache.NoExpiration)
	b.publishHome(ctx, e.User)
}

// refreshHome republishes user's home view after a change they made, in
// the background, if they have a home view open to refresh.
func (b *Bot) refreshHome(user string) {
	if _, ok := b.chat.(HomePublisher); !ok {
		return
	}
	b.background(func(ctx context.Context) {
		if !b.hasHome(ctx, user) {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		b.forget() // the view must show the change just made
		b.publishHome(ctx, user)
	})
}

// homeNoTTL is how long "has no home view" is believed before the store is
// asked again: a person who opens the home view on another replica sees
// it built fresh, and their changes refresh it at most this much later.
const homeNoTTL = 30 * time.Second

// hasHome reports whether user has a home view to refresh. Concurrent
// questions about one person share one store look-up.
func (b *Bot) hasHome(ctx context.Context, user string) bool {
	if v, ok := b.homes.Get(user); ok {
		return v.(bool)
	}
	v, err, _ := b.homeLookups.Do(user, func() (any, error) {
		if v, ok := b.homes.Get(user); ok {
			return v, nil
		}
		opened, err := b.store.HasHome(ctx, user)
		if err != nil {
			return false, err // asked again next time
		}
		ttl := homeNoTTL
		if opened {
			ttl = gocache.NoExpiration
		}
		b.homes.Set(user, opened, ttl)
		return opened, nil
	})
	return err == nil && v.(bool)
}

// clickStart starts one of the clicker's own stopped notebooks from the
// home view, as `/notebook start` would with the default duration.
func (b *Bot) clickStart(ctx context.Context, c *click) result {
	id := strings.ToLower(c.Value)
	if !lease.IsNotebookID(id) {
		return b.ignored(c, errIgnored)
	}
	r := &request{Event: c.Event, where: c.where}
	r.Text = "start " + id
	r.cmd.Verb, r.cmd.Notebook = "start", id
	r.verb = verbByName["start"]
	if r.member = b.access.Member(ctx, c.User, c.where); !r.member.OK() {
		return b.refused(r, refusalCode(r.member), b.refusal(r.member))
	}
	res := b.start(ctx, r)
	if res.change != nil && res.change.requested == "" {
		res.change.requested = duration.Format(b.cfg.Defaults.StartDuration)
	}
	return res
}
