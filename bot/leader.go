package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// LeaderStore is the part of the store that elects a leader.
type LeaderStore interface {
	// TryLead takes or renews leadership for holder until ttl from now
	// (on PostgreSQL by the database's clock, so replicas agree), and
	// reports whether holder leads.
	TryLead(ctx context.Context, holder string, ttl time.Duration) (bool, error)
	// Resign gives up leadership at once if holder has it.
	Resign(ctx context.Context, holder string) error
}

// Leader holds leadership through the store, renewing it every few
// seconds. It acts as leader only while its last renewal is recent enough
// that no other replica can have taken over: leadership in the database
// lasts TTL from when the renewal reached it, and this process stops
// leading Margin before TTL has passed since it sent that renewal, so two
// replicas never lead at once, even when this one loses the database.
type Leader struct {
	Store  LeaderStore
	Holder string        // this replica's name, unique among replicas
	TTL    time.Duration // how long a renewal holds leadership; default 15s
	Every  time.Duration // how often to renew or try to take over; default 2s
	Margin time.Duration // default TTL/5
	Log    *slog.Logger
	// OnChange, if set, is told when this process starts or stops leading.
	OnChange func(leading bool)

	mu      sync.Mutex
	until   time.Time // leading until then (monotonic clock)
	leading bool
}

// Leading reports whether this process leads now.
func (l *Leader) Leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Now().Before(l.until)
}

func (l *Leader) defaults() {
	if l.TTL <= 0 {
		l.TTL = 15 * time.Second
	}
	if l.Every <= 0 {
		l.Every = 2 * time.Second
	}
	if l.Margin <= 0 {
		l.Margin = l.TTL / 5
	}
	if l.Log == nil {
		l.Log = slog.Default()
	}
}

// Run takes and keeps leadership until ctx ends, then gives it up at once
// so another replica can take over.
func (l *Leader) Run(ctx context.Context) {
	l.defaults()
	t := time.NewTicker(l.Every)
	defer t.Stop()
	for {
		l.try(ctx)
		select {
		case <-ctx.Done():
			l.resign()
			return
		case <-t.C:
		}
	}
}

func (l *Leader) try(ctx context.Context) {
	sent := time.Now()
	tctx, cancel := context.WithTimeout(ctx, l.Every)
	won, err := l.Store.TryLead(tctx, l.Holder, l.TTL)
	cancel()
	l.mu.Lock()
	if err == nil {
		if won {
			l.until = sent.Add(l.TTL - l.Margin)
		} else {
			l.until = time.Time{}
		}
	}
	// On an error, leadership lasts only until the last renewal runs out.
	now := time.Now().Before(l.until)
	changed := now != l.leading
	l.leading = now
	l.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		l.Log.Warn("leadership could not be renewed", "err", err)
	}
	if changed {
		if now {
			l.Log.Info("leading: this replica polls, warns, renews keeps and expires approvals", "holder", l.Holder)
		} else {
			l.Log.Info("following: another replica leads, or the database cannot be reached", "holder", l.Holder)
		}
		if l.OnChange != nil {
			l.OnChange(now)
		}
	}
}

func (l *Leader) resign() {
	l.mu.Lock()
	was := l.leading
	l.until, l.leading = time.Time{}, false
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := l.Store.Resign(ctx, l.Holder); err != nil {
		l.Log.Warn("giving up leadership failed; another replica takes over when it runs out", "err", err)
	}
	if was && l.OnChange != nil {
		l.OnChange(false)
	}
}
