package bot

import "context"

// Locker serializes changes to one notebook: every extension, click, keep
// renewal, approval, start and stop of a notebook runs while holding its
// lock, reads the lease fresh inside, and plans from what it read. The
// store's lock is the one used: within the process with SQLite, across
// replicas with PostgreSQL.
type Locker interface {
	// LockNotebook blocks until the caller holds notebook id's lock, or ctx
	// ends. The returned unlock must be called exactly once.
	LockNotebook(ctx context.Context, id string) (unlock func(), err error)
}
