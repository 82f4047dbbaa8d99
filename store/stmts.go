package store

import (
	"context"
	"database/sql"
	"sync"
)

// pool is a *sql.DB that prepares each query once and reuses the
// statement. SQLite's driver would otherwise parse every query anew on
// every call, a third of the store's CPU under load, while holding the one
// write connection. PostgreSQL's driver caches statements itself, so its
// pools do not prepare here.
type pool struct {
	*sql.DB
	prepare bool

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	missed map[string]bool // queries transactions ran unprepared
}

func newPool(db *sql.DB, prepare bool) *pool {
	return &pool{DB: db, prepare: prepare, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement of q, preparing it the first time;
// nil when the pool does not prepare or preparing failed (the query then
// runs unprepared and reports its own error).
func (p *pool) stmt(ctx context.Context, q string) *sql.Stmt {
	if !p.prepare {
		return nil
	}
	p.mu.Lock()
	st, ok := p.stmts[q]
	p.mu.Unlock()
	if ok {
		return st
	}
	// Prepare without the lock: on SQLite's one write connection a prepare
	// waits for any open transaction, and that transaction needs the lock
	// to look up its own statements.
	st, err := p.DB.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if have, ok := p.stmts[q]; ok {
		st.Close()
		return have
	}
	p.stmts[q] = st
	return st
}

// ExecContext runs q prepared.
func (p *pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, q, args...)
}

// QueryContext runs q prepared.
func (p *pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q prepared.
func (p *pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := p.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, q, args...)
}

// Close closes the prepared statements and the pool.
func (p *pool) Close() error {
	p.mu.Lock()
	for _, st := range p.stmts {
		st.Close()
	}
	p.stmts = map[string]*sql.Stmt{}
	p.mu.Unlock()
	return p.DB.Close()
}

// cached returns the statement of q if it is prepared already; inside a
// transaction nothing is prepared (on SQLite the transaction holds the one
// write connection a prepare would need), but a miss is noted, and
// prepareMissed prepares it once the transaction is over.
func (p *pool) cached(q string) *sql.Stmt {
	if !p.prepare {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.stmts[q]
	if !ok {
		if p.missed == nil {
			p.missed = map[string]bool{}
		}
		p.missed[q] = true
	}
	return st
}

// prepareMissed prepares the queries transactions ran unprepared.
func (p *pool) prepareMissed(ctx context.Context) {
	if !p.prepare {
		return
	}
	p.mu.Lock()
	var qs []string
	for q := range p.missed {
		qs = append(qs, q)
	}
	p.missed = nil
	p.mu.Unlock()
	for _, q := range qs {
		p.stmt(ctx, q)
	}
}

// tx is a transaction of a pool, running the pool's prepared statements.
type tx struct {
	*sql.Tx
	p *pool
}

// ExecContext runs q in the transaction, prepared if it already is.
func (t tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.p.cached(q); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

// QueryContext runs q in the transaction, prepared if it already is.
func (t tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.p.cached(q); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q in the transaction, prepared if it already is.
func (t tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.p.cached(q); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}
