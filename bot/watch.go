package bot

import (
	"context"
	"time"
)

// Leadership says whether this process should do the work only one
// replica may do: poll ModelArts, post warnings, renew keeps and expire
// requests for approval.
type Leadership interface {
	Leading() bool
}

// pruneEvery is how often the leader deletes what the store no longer needs.
const pruneEvery = time.Hour

// Watch does the leader's work every interval until ctx ends, while lead
// says this process leads (nil: always).
func (b *Bot) Watch(ctx context.Context, every time.Duration, lead Leadership) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	// A replica that becomes the leader starts its work at once, not at
	// its next tick.
	check := time.NewTicker(min(every, time.Second))
	defer check.Stop()
	var pruned time.Time
	leading := false
	for due := true; ; {
		now := lead == nil || lead.Leading()
		if now && (due || !leading) {
			b.cycle(ctx)
			if t := b.now(); t.Sub(pruned) >= pruneEvery && ctx.Err() == nil {
				b.prune(ctx, t)
				pruned = t
			}
		}
		leading, due = now, false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			due = true
		case <-check.C:
		}
	}
}

// cycle is one round of the leader's work.
func (b *Bot) cycle(ctx context.Context) {
	if err := b.Poll(ctx); err != nil && ctx.Err() == nil {
		b.log.Warn("watcher cycle failed", "err", err)
	}
}

// prune deletes what the store no longer needs, and forgets claims of
// warnings too old to matter.
func (b *Bot) prune(ctx context.Context, now time.Time) {
	if err := b.store.Prune(ctx, now, b.cfg.Defaults.HistoryDays); err != nil {
		b.log.Warn("pruning the store failed", "err", err)
	}
	old := now.Add(-maxWarningAge).UnixMilli()
	b.claimed.Range(func(k, _ any) bool {
		if k.(claimKey).stop < old {
			b.claimed.Delete(k)
		}
		return true
	})
}
