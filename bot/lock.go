package bot

import (
	"context"
	"sync"
)

// Locker serializes changes to one notebook: every extension, click, keep
// renewal, approval, start and stop of a notebook runs while holding its
// lock, reads the lease fresh inside, and plans from what it read. The
// store's lock holds across replicas; LocalLocker holds within one process.
type Locker interface {
	// LockNotebook blocks until the caller holds notebook id's lock, or ctx
	// ends. The returned unlock must be called exactly once.
	LockNotebook(ctx context.Context, id string) (unlock func(), err error)
}

// LocalLocker is a Locker for one process: one channel per notebook being
// changed, forgotten when nobody holds or waits for it.
type LocalLocker struct {
	mu    sync.Mutex
	locks map[string]*localLock
}

type localLock struct {
	ch   chan struct{} // holds a token while the lock is held
	refs int           // holders and waiters
}

// NewLocalLocker returns an empty LocalLocker.
func NewLocalLocker() *LocalLocker { return &LocalLocker{locks: map[string]*localLock{}} }

// LockNotebook implements Locker.
func (l *LocalLocker) LockNotebook(ctx context.Context, id string) (func(), error) {
	l.mu.Lock()
	lk := l.locks[id]
	if lk == nil {
		lk = &localLock{ch: make(chan struct{}, 1)}
		l.locks[id] = lk
	}
	lk.refs++
	l.mu.Unlock()
	select {
	case lk.ch <- struct{}{}:
	case <-ctx.Done():
		l.release(id, lk)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-lk.ch
			l.release(id, lk)
		})
	}, nil
}

func (l *LocalLocker) release(id string, lk *localLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lk.refs--; lk.refs == 0 {
		delete(l.locks, id)
	}
}
