package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dialect is what differs between SQLite and PostgreSQL. Everything else,
// all of the domain SQL included, is shared: both accept $N placeholders,
// INSERT … ON CONFLICT … DO and RETURNING.
type dialect interface {
	kind() string
	// where names the store for people: a file, or host:port/dbname.
	where() string
	// tokens are the DDL substitutions for the shared migrations.
	tokens() map[string]string
	// migrationConn returns a connection on which migrations may run with
	// no other process migrating the same store, and its release.
	migrationConn(ctx context.Context) (*sql.Conn, func(), error)
	// lockNotebook takes the cross-process part of a notebook lock (the
	// caller already holds the in-process part) and returns its release.
	lockNotebook(ctx context.Context, id string) (func() error, error)
	// leaderNow is the SQL expression for "now" in Unix milliseconds used
	// by leadership, with the arguments it binds; n is the number of its
	// first placeholder.
	leaderNow(n int, now time.Time) (string, []any)
	// unavailable reports whether err means the database could not be
	// reached.
	unavailable(err error) bool
	// describe is err's message with nothing secret in it.
	describe(err error) string
	close() error
}

// DB is leasebot's store. It is safe for concurrent use.
//
// Every public method, and every method of Tx, reports to Options.Observe
// under a short snake_case name of the method: "claim",
// "claim_warning_post", "history", "update", "add_history",
// "lock_notebook" (the wait), "unlock_notebook", and so on.
type DB struct {
	d       dialect
	w       *pool // writes and transactions (SQLite: one connection)
	r       *pool // reads (SQLite: a pool of read-only connections; PostgreSQL: w)
	now     func() time.Time
	observe func(op string, err error, took time.Duration)
	locks   notebookLocks

	// inspect: opened to look, not to use (Options.Inspect).
	inspect bool

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store that o names, creating it (SQLite) and bringing its
// schema up to date. It fails on a schema newer than this build knows and,
// changing nothing, on a SQLite file that is not leasebot's or that another
// process has open. On PostgreSQL leasebot's tables go into the database
// (or the search_path schema) the URL names: give it one of its own.
func Open(ctx context.Context, o Options) (db *DB, err error) {
	start := time.Now()
	if o.Observe != nil {
		defer func() { o.Observe("open", err, time.Since(start)) }()
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var d dialect
	var w, r *sql.DB
	switch {
	case o.URL != "":
		if !strings.HasPrefix(o.URL, "postgres://") && !strings.HasPrefix(o.URL, "postgresql://") {
			return nil, ErrURLScheme
		}
		d, w, r, err = openPostgres(ctx, o.URL)
	case o.Path != "":
		if o.Inspect {
			if _, serr := os.Stat(o.Path); errors.Is(serr, fs.ErrNotExist) {
				return nil, fmt.Errorf("store: SQLite file %s: %w; leasebot run creates it", o.Path, ErrNoStore)
			}
		}
		d, w, r, err = openSQLite(ctx, o.Path)
	default:
		return nil, errors.New("store: neither a SQLite path nor a PostgreSQL URL was given")
	}
	if err != nil {
		return nil, err
	}
	prepare := o.URL == "" // SQLite's driver does not cache statements itself
	wp := newPool(w, prepare)
	rp := wp
	if r != w {
		rp = newPool(r, prepare)
	}
	db = &DB{d: d, w: wp, r: rp, now: now, observe: o.Observe, inspect: o.Inspect}
	if o.Inspect {
		return db, nil
	}
	if err := db.migrate(ctx); err != nil {
		db.closeAll()
		return nil, err
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	conn, release, err := db.d.migrationConn(ctx)
	if err != nil {
		return db.fail(ctx, "migrate "+db.d.where(), err)
	}
	defer release()
	if _, err := migrate(ctx, conn, db.d, db.now().UnixMilli()); err != nil {
		return db.fail(ctx, db.d.where(), err)
	}
	return nil
}

// opError is how the store's operations fail: a message that is safe to show
// (no secret), and the causes for errors.Is and errors.As.
type opError struct {
	msg    string
	causes []error
}

func (e *opError) Error() string   { return e.msg }
func (e *opError) Unwrap() []error { return e.causes }

// fail wraps err from operation what. It marks failures to reach the
// database with ErrUnavailable and keeps ctx's error in the chain.
func (db *DB) fail(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	causes := []error{err}
	unavailable := db.d.unavailable(err)
	if ctx != nil && ctx.Err() != nil {
		if !errors.Is(err, ctx.Err()) {
			causes = append(causes, ctx.Err())
		}
		// The database did not answer in the time the caller allowed.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			unavailable = true
		}
	}
	msg := "store: " + what + ": "
	if unavailable && !errors.Is(err, ErrUnavailable) {
		causes = append(causes, ErrUnavailable)
		msg += ErrUnavailable.Error() + ": "
	}
	return &opError{msg: msg + db.d.describe(err), causes: causes}
}

func (db *DB) report(op string, start time.Time, err *error) {
	if db.observe != nil {
		db.observe(op, *err, time.Since(start))
	}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms. Times come back in UTC, so that they compare
// equal, == included, on every machine.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func dur(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// inTx runs fn in a write transaction.
func (db *DB) inTx(ctx context.Context, fn func(tx tx) error) error {
	t, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if err := fn(tx{t, db.w}); err != nil {
		return err
	}
	err = t.Commit()
	db.w.prepareMissed(ctx)
	return err
}

// Info describes the store and the schema version it is at.
func (db *DB) Info(ctx context.Context) (info Info, err error) {
	defer db.report("info", time.Now(), &err)
	var v int
	if db.inspect {
		v, err = db.inspectVersion(ctx)
	} else {
		v, err = schemaVersion(ctx, db.r.DB)
	}
	if err != nil {
		return Info{}, db.fail(ctx, "info", err)
	}
	return Info{Kind: db.d.kind(), Where: db.d.where(), SchemaVersion: v, Pending: max(0, SchemaVersion()-v)}, nil
}

// inspectVersion reads the schema version of a store that may never have
// been migrated: in a transaction that is rolled back, so that creating
// the missing version table (to read 0 from it) changes nothing.
func (db *DB) inspectVersion(ctx context.Context) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return 0, err
	}
	return schemaVersion(ctx, tx)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) (err error) {
	defer db.report("ping", time.Now(), &err)
	if err := db.w.PingContext(ctx); err != nil {
		return db.fail(ctx, "ping "+db.d.where(), err)
	}
	if db.r != db.w {
		if err := db.r.PingContext(ctx); err != nil {
			return db.fail(ctx, "ping "+db.d.where(), err)
		}
	}
	return nil
}

// Close closes the store and releases its locks; it may be called again.
func (db *DB) Close() (err error) {
	defer db.report("close", time.Now(), &err)
	db.closeOnce.Do(func() { db.closeErr = db.closeAll() })
	return db.closeErr
}

func (db *DB) closeAll() error {
	var errs []error
	if db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	errs = append(errs, db.w.Close(), db.d.close())
	if err := errors.Join(errs...); err != nil {
		return db.fail(context.Background(), "close", err)
	}
	return nil
}

// notebookLocks is the in-process part of LockNotebook: one token channel
// per notebook ID, present in the map only while someone holds or waits
// for it.
type notebookLocks struct {
	mu sync.Mutex
	m  map[string]*notebookLock
}

type notebookLock struct {
	token chan struct{} // full while held
	refs  int           // holders and waiters
}

func (l *notebookLocks) lock(ctx context.Context, id string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*notebookLock)
	}
	e := l.m[id]
	if e == nil {
		e = &notebookLock{token: make(chan struct{}, 1)}
		l.m[id] = e
	}
	e.refs++
	l.mu.Unlock()

	select {
	case e.token <- struct{}{}:
		return func() { <-e.token; l.drop(id, e) }, nil
	case <-ctx.Done():
		l.drop(id, e)
		return nil, ctx.Err()
	}
}

func (l *notebookLocks) drop(id string, e *notebookLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(l.m, id)
	}
}

// size reports how many notebooks are locked or waited for in this
// process; tests check that no entry outlives its last user.
func (l *notebookLocks) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// waitFailed is the error of a wait for a notebook lock that ctx ended: the
// lock was busy, which says nothing about whether the database is
// reachable, so it is not marked ErrUnavailable.
func waitFailed(what string, ctxErr error) error {
	return &opError{msg: "store: " + what + ": " + ctxErr.Error(), causes: []error{ctxErr}}
}

// pingTimeout bounds the check that tells a lock wait from a lost database.
const pingTimeout = 2 * time.Second

// ping reports whether the database answers within pingTimeout; a query
// connection that does not answer in time counts as unavailable.
func (db *DB) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	err := db.w.PingContext(ctx)
	if err != nil && !db.d.unavailable(err) {
		return nil // it answered, with something else: not the connection
	}
	return err
}

// LockNotebook serializes changes to one notebook. The in-process lock is
// taken first so that one process waits on the database (PostgreSQL) with
// at most one connection per notebook.
func (db *DB) LockNotebook(ctx context.Context, id string) (unlock func(), err error) {
	defer db.report("lock_notebook", time.Now(), &err)
	what := fmt.Sprintf("lock notebook %q", id)
	release, err := db.locks.lock(ctx, id)
	if err != nil {
		return nil, waitFailed(what, err)
	}
	dbUnlock, err := db.d.lockNotebook(ctx, id)
	if err != nil {
		release()
		if ctx.Err() != nil {
			// Time ran out: waiting for another holder, or for a database
			// that no longer answers? A short ping tells them apart.
			if perr := db.ping(); perr != nil {
				return nil, db.fail(context.Background(), what, perr)
			}
			return nil, waitFailed(what, ctx.Err())
		}
		return nil, db.fail(ctx, what, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			var err error
			defer db.report("unlock_notebook", time.Now(), &err)
			err = db.fail(context.Background(), fmt.Sprintf("unlock notebook %q", id), dbUnlock())
			release()
		})
	}, nil
}

// Claim records key until ttl from now by the process clock and reports
// whether this caller took it. One statement decides: the insert wins if
// the key is absent, the update wins if it expired; a competing claimer
// sees the winner's row and gets no row back.
func (db *DB) Claim(ctx context.Context, key string, ttl time.Duration) (won bool, err error) {
	defer db.report("claim", time.Now(), &err)
	now := db.now().UnixMilli()
	rows, err := db.w.QueryContext(ctx, `INSERT INTO claims (key, expires_at) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE claims.expires_at <= $3
RETURNING key`, key, now+ttl.Milliseconds(), now)
	if err != nil {
		return false, db.fail(ctx, fmt.Sprintf("claim %q", key), err)
	}
	won, err = anyRow(rows)
	return won, db.fail(ctx, fmt.Sprintf("claim %q", key), err)
}

// anyRow reports whether rows has a row, and closes it.
func anyRow(rows *sql.Rows) (bool, error) {
	defer rows.Close()
	found := rows.Next()
	if err := rows.Err(); err != nil {
		return false, err
	}
	return found, rows.Close()
}

// ensureWarning creates the open warning (notebook, stop) if it is not
// known, then locks its row (a no-op update: PostgreSQL takes a row lock,
// SQLite already writes alone) so that every change to its copies and
// outcome is serialized. It reports whether the warning is open.
func ensureWarning(ctx context.Context, tx tx, notebook string, stop time.Time, name string, now int64) (open bool, err error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO warnings (notebook, stop_ms, name, created_ms) VALUES ($1, $2, $3, $4)
ON CONFLICT (notebook, stop_ms) DO NOTHING`, notebook, ms(stop), name, now); err != nil {
		return false, err
	}
	var outcome string
	err = tx.QueryRowContext(ctx, `UPDATE warnings SET name = CASE WHEN name = '' THEN $3 ELSE name END
WHERE notebook = $1 AND stop_ms = $2 RETURNING outcome`, notebook, ms(stop), name).Scan(&outcome)
	return outcome == OutcomeOpen, err
}

// ClaimWarningPost claims one copy of a warning (see API). The warning's
// row lock makes the check and the insert one step for every claimer.
func (db *DB) ClaimWarningPost(ctx context.Context, p WarningPost) (won bool, err error) {
	defer db.report("claim_warning_post", time.Now(), &err)
	what := fmt.Sprintf("claim warning post %s@%d for %s", p.Notebook, ms(p.Stop), p.Target)
	err = db.inTx(ctx, func(tx tx) error {
		won = false
		open, err := ensureWarning(ctx, tx, p.Notebook, p.Stop, p.Name, db.now().UnixMilli())
		if err != nil || !open {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT 1 FROM warning_posts
WHERE notebook = $1 AND stop_ms = $2 AND target = $3 AND threshold_ms <= $4 LIMIT 1`,
			p.Notebook, ms(p.Stop), p.Target, p.Threshold.Milliseconds())
		if err != nil {
			return err
		}
		taken, err := anyRow(rows)
		if err != nil || taken {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO warning_posts (notebook, stop_ms, target, threshold_ms) VALUES ($1, $2, $3, $4)`,
			p.Notebook, ms(p.Stop), p.Target, p.Threshold.Milliseconds()); err != nil {
			return err
		}
		won = true
		return nil
	})
	if err != nil {
		return false, db.fail(ctx, what, err)
	}
	return won, nil
}

// PostedWarning records where a claimed copy landed. It is an error if the
// copy was never claimed.
func (db *DB) PostedWarning(ctx context.Context, p WarningPost, conversation, ref string) (err error) {
	defer db.report("posted_warning", time.Now(), &err)
	what := fmt.Sprintf("posted warning %s@%d for %s", p.Notebook, ms(p.Stop), p.Target)
	res, err := db.w.ExecContext(ctx, `UPDATE warning_posts SET conversation = $5, ref = $6
WHERE notebook = $1 AND stop_ms = $2 AND target = $3 AND threshold_ms = $4`,
		p.Notebook, ms(p.Stop), p.Target, p.Threshold.Milliseconds(), conversation, ref)
	if err != nil {
		return db.fail(ctx, what, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return db.fail(ctx, what, errors.Join(err, errors.New("no such claimed copy")))
	}
	return nil
}

// DropWarningPost forgets a claimed copy that was not posted; a copy that
// was posted is kept.
func (db *DB) DropWarningPost(ctx context.Context, p WarningPost) (err error) {
	defer db.report("drop_warning_post", time.Now(), &err)
	_, err = db.w.ExecContext(ctx, `DELETE FROM warning_posts
WHERE notebook = $1 AND stop_ms = $2 AND target = $3 AND threshold_ms = $4 AND ref = ''`,
		p.Notebook, ms(p.Stop), p.Target, p.Threshold.Milliseconds())
	return db.fail(ctx, fmt.Sprintf("drop warning post %s@%d for %s", p.Notebook, ms(p.Stop), p.Target), err)
}

// AddWarningCopy records a copy posted outside this store (see API). The
// copy is added whether or not the warning is still open, so that updating
// every copy reaches it too.
func (db *DB) AddWarningCopy(ctx context.Context, notebook string, stop time.Time, name string, p Post) (err error) {
	defer db.report("add_warning_copy", time.Now(), &err)
	what := fmt.Sprintf("add warning copy %s@%d in %s", notebook, ms(stop), p.Conversation)
	if p.Ref == "" {
		return db.fail(ctx, what, errors.New("the copy has no message reference"))
	}
	err = db.inTx(ctx, func(tx tx) error {
		if _, err := ensureWarning(ctx, tx, notebook, stop, name, db.now().UnixMilli()); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT 1 FROM warning_posts
WHERE notebook = $1 AND stop_ms = $2 AND conversation = $3 AND ref = $4`, notebook, ms(stop), p.Conversation, p.Ref)
		if err != nil {
			return err
		}
		if known, err := anyRow(rows); err != nil || known {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO warning_posts (notebook, stop_ms, target, threshold_ms, conversation, ref)
VALUES ($1, $2, $3, $4, $5, $6)`, notebook, ms(stop), p.Target, p.Threshold.Milliseconds(), p.Conversation, p.Ref)
		return err
	})
	return db.fail(ctx, what, err)
}

const warningCols = `w.notebook, w.stop_ms, w.name, w.outcome, w.by_user, w.amount_ms, w.new_stop_ms,
COALESCE(p.id, 0), COALESCE(p.target, ''), COALESCE(p.threshold_ms, 0), COALESCE(p.conversation, ''), COALESCE(p.ref, '')`

// scanWarnings reads rows of warningCols in any order and returns the
// warnings by stop time, then notebook ID (byte order, the same on both
// back ends), each with its copies in the order they were claimed. Sorting
// here rather than in SQL spares the database a sort by a collated text
// column.
func scanWarnings(rows *sql.Rows) ([]Warning, error) {
	defer rows.Close()
	type key struct {
		notebook string
		stop     int64
	}
	type post struct {
		id int64
		p  Post
	}
	index := map[key]int{}
	var ws []Warning
	var posts [][]post
	for rows.Next() {
		var w Warning
		var stop, amount, newStop, postID, threshold int64
		var p Post
		if err := rows.Scan(&w.Notebook, &stop, &w.Name, &w.Outcome, &w.By, &amount, &newStop,
			&postID, &p.Target, &threshold, &p.Conversation, &p.Ref); err != nil {
			return nil, err
		}
		k := key{w.Notebook, stop}
		i, ok := index[k]
		if !ok {
			w.Stop, w.Amount, w.NewStop = fromMS(stop), dur(amount), fromMS(newStop)
			i = len(ws)
			index[k] = i
			ws = append(ws, w)
			posts = append(posts, nil)
		}
		if postID != 0 {
			p.Threshold = dur(threshold)
			posts[i] = append(posts[i], post{postID, p})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, ps := range posts {
		sort.Slice(ps, func(a, b int) bool { return ps[a].id < ps[b].id })
		for _, p := range ps {
			ws[i].Posts = append(ws[i].Posts, p.p)
		}
	}
	sort.Slice(ws, func(a, b int) bool {
		if !ws[a].Stop.Equal(ws[b].Stop) {
			return ws[a].Stop.Before(ws[b].Stop)
		}
		return ws[a].Notebook < ws[b].Notebook
	})
	return ws, nil
}

// EnsureWarning returns the warning of (notebook, stop), creating it
// (open, without copies) if it is not known: a button that acts on a stop
// time (in the home view) needs the warning's outcome to act once.
func (db *DB) EnsureWarning(ctx context.Context, notebook string, stop time.Time, name string) (Warning, error) {
	// Almost always the warning is known, named, from the message clicked:
	// then this is one read, no write.
	if w, found, err := db.Warning(ctx, notebook, stop); err != nil || found && (w.Name != "" || name == "") {
		return w, err
	}
	err := func() (err error) {
		defer db.report("ensure_warning", time.Now(), &err)
		err = db.inTx(ctx, func(tx tx) error {
			_, err := ensureWarning(ctx, tx, notebook, stop, name, db.now().UnixMilli())
			return err
		})
		return db.fail(ctx, fmt.Sprintf("ensure warning %s@%d", notebook, ms(stop)), err)
	}()
	if err != nil {
		return Warning{}, err
	}
	w, _, err := db.Warning(ctx, notebook, stop)
	return w, err
}

// Warning returns the warning of (notebook, stop) with all its copies,
// claimed or posted, in the order they were claimed.
func (db *DB) Warning(ctx context.Context, notebook string, stop time.Time) (w Warning, found bool, err error) {
	defer db.report("warning", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `SELECT `+warningCols+`
FROM warnings w LEFT JOIN warning_posts p ON p.notebook = w.notebook AND p.stop_ms = w.stop_ms
WHERE w.notebook = $1 AND w.stop_ms = $2`, notebook, ms(stop))
	w, found, err = one(rows, err, scanWarnings)
	return w, found, db.fail(ctx, fmt.Sprintf("warning %s@%d", notebook, ms(stop)), err)
}

// one reads the row a query by key found, if it found one, with scan.
func one[T any](rows *sql.Rows, err error, scan func(*sql.Rows) ([]T, error)) (T, bool, error) {
	var zero T
	if err != nil {
		return zero, false, err
	}
	ts, err := scan(rows)
	if err != nil || len(ts) == 0 {
		return zero, false, err
	}
	return ts[0], true, nil
}

// OpenWarnings returns the open warnings with a posted copy whose stop time
// is after since, earliest stop first, each with all its copies. The
// partial index on open warnings keeps this to the open ones however many
// have ended.
func (db *DB) OpenWarnings(ctx context.Context, since time.Time) (ws []Warning, err error) {
	defer db.report("open_warnings", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `SELECT `+warningCols+`
FROM warnings w JOIN warning_posts p ON p.notebook = w.notebook AND p.stop_ms = w.stop_ms
WHERE w.outcome = '' AND w.stop_ms > $1`, ms(since))
	if err != nil {
		return nil, db.fail(ctx, "open warnings", err)
	}
	all, err := scanWarnings(rows)
	if err != nil {
		return nil, db.fail(ctx, "open warnings", err)
	}
	ws = all[:0]
	for _, w := range all {
		for _, p := range w.Posts {
			if p.Posted() {
				ws = append(ws, w)
				break
			}
		}
	}
	return ws, nil
}

// ImportWarnings stores warnings read from an old state file in one
// transaction; a warning already known is left as it is, copies included.
func (db *DB) ImportWarnings(ctx context.Context, ws []Warning) (err error) {
	defer db.report("import_warnings", time.Now(), &err)
	now := db.now().UnixMilli()
	err = db.inTx(ctx, func(tx tx) error {
		for _, w := range ws {
			res, err := tx.ExecContext(ctx, `INSERT INTO warnings (notebook, stop_ms, name, outcome, by_user, amount_ms, new_stop_ms, created_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (notebook, stop_ms) DO NOTHING`,
				w.Notebook, ms(w.Stop), w.Name, w.Outcome, w.By, w.Amount.Milliseconds(), ms(w.NewStop), now)
			if err != nil {
				return fmt.Errorf("%s@%d: %w", w.Notebook, ms(w.Stop), err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return err
				}
				continue
			}
			for _, p := range w.Posts {
				if _, err := tx.ExecContext(ctx, `INSERT INTO warning_posts (notebook, stop_ms, target, threshold_ms, conversation, ref)
VALUES ($1, $2, $3, $4, $5, $6)`, w.Notebook, ms(w.Stop), p.Target, p.Threshold.Milliseconds(), p.Conversation, p.Ref); err != nil {
					return fmt.Errorf("%s@%d: %w", w.Notebook, ms(w.Stop), err)
				}
			}
		}
		return nil
	})
	return db.fail(ctx, fmt.Sprintf("import %d warnings", len(ws)), err)
}

// Tx is one transaction of Update. Its methods use the context given to
// Update and must not be called after fn returns.
type Tx struct {
	db  *DB
	ctx context.Context
	tx  tx
}

// Update runs fn in one transaction and commits it if fn returns nil; fn's
// error (or panic) rolls everything back and is returned as it is. fn must
// only use tx: on SQLite the transaction holds the one write connection.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) (err error) {
	defer db.report("update", time.Now(), &err)
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return db.fail(ctx, "update: begin", err)
	}
	done := false
	defer func() {
		if !done {
			sqlTx.Rollback()
		}
	}()
	if err := fn(&Tx{db: db, ctx: ctx, tx: tx{sqlTx, db.w}}); err != nil {
		return err
	}
	done = true
	err = db.fail(ctx, "update: commit", sqlTx.Commit())
	db.w.prepareMissed(ctx)
	return err
}

const historyCols = `id, at_ms, user_id, channel, via, notebook, notebook_name, verb, requested,
old_stop_ms, new_stop_ms, outcome, code, approver`

// AddHistory appends e and sets e.ID; a zero e.At is set to now.
func (t *Tx) AddHistory(e *Entry) (err error) {
	defer t.db.report("add_history", time.Now(), &err)
	return t.db.fail(t.ctx, fmt.Sprintf("add history %s %s", e.Verb, e.Notebook), addHistory(t.ctx, t.tx, e, t.db.now))
}

// AddHistory appends e on its own (see API) and sets e.ID; a zero e.At is
// set to now.
func (db *DB) AddHistory(ctx context.Context, e *Entry) (err error) {
	defer db.report("add_history", time.Now(), &err)
	return db.fail(ctx, fmt.Sprintf("add history %s %s", e.Verb, e.Notebook), addHistory(ctx, db.w, e, db.now))
}

func addHistory(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, e *Entry, now func() time.Time) error {
	if e.At.IsZero() {
		e.At = now()
	}
	return q.QueryRowContext(ctx, `INSERT INTO history (at_ms, user_id, channel, via, notebook, notebook_name, verb, requested,
old_stop_ms, new_stop_ms, outcome, code, approver)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		ms(e.At), e.User, e.Channel, e.Via, e.Notebook, e.NotebookName, e.Verb, e.Requested,
		ms(e.OldStop), ms(e.NewStop), e.Outcome, e.Code, e.Approver).Scan(&e.ID)
}

// EndWarning ends an open warning (see TxAPI). The condition on the
// outcome makes the second of two concurrent callers change nothing.
func (t *Tx) EndWarning(o WarningOutcome) (ended bool, err error) {
	defer t.db.report("end_warning", time.Now(), &err)
	what := fmt.Sprintf("end warning %s@%d", o.Notebook, ms(o.Stop))
	if o.Outcome == OutcomeOpen {
		return false, t.db.fail(t.ctx, what, errors.New("no outcome given"))
	}
	res, err := t.tx.ExecContext(t.ctx, `UPDATE warnings SET outcome = $3, by_user = $4, amount_ms = $5, new_stop_ms = $6
WHERE notebook = $1 AND stop_ms = $2 AND outcome = ''`,
		o.Notebook, ms(o.Stop), o.Outcome, o.By, o.Amount.Milliseconds(), ms(o.NewStop))
	return changed(t.db, t.ctx, what, res, err)
}

func changed(db *DB, ctx context.Context, what string, res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, db.fail(ctx, what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, db.fail(ctx, what, err)
	}
	return n > 0, nil
}

// SetKeep stores k, replacing the notebook's keep; a zero k.Set is set to
// now.
func (t *Tx) SetKeep(k Keep) (err error) {
	defer t.db.report("set_keep", time.Now(), &err)
	if k.Set.IsZero() {
		k.Set = t.db.now()
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO keeps (notebook, name, until_ms, by_user, channel, set_ms, warned_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (notebook) DO UPDATE SET name = excluded.name, until_ms = excluded.until_ms, by_user = excluded.by_user,
channel = excluded.channel, set_ms = excluded.set_ms, warned_ms = excluded.warned_ms`,
		k.Notebook, k.Name, ms(k.Until), k.By, k.Channel, ms(k.Set), ms(k.Warned))
	return t.db.fail(t.ctx, fmt.Sprintf("set keep %s", k.Notebook), err)
}

// EndKeep deletes the keep of notebook (see TxAPI).
func (t *Tx) EndKeep(notebook string) (ended bool, err error) {
	defer t.db.report("end_keep", time.Now(), &err)
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM keeps WHERE notebook = $1`, notebook)
	return changed(t.db, t.ctx, "end keep "+notebook, res, err)
}

// EndKeepSet deletes the keep of notebook only if it is still the one set
// at set (see TxAPI).
func (t *Tx) EndKeepSet(notebook string, set time.Time) (ended bool, err error) {
	defer t.db.report("end_keep", time.Now(), &err)
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM keeps WHERE notebook = $1 AND set_ms = $2`, notebook, ms(set))
	return changed(t.db, t.ctx, "end keep "+notebook, res, err)
}

// KeepWarned records the stop time a failed renewal was told for; it does
// nothing if the keep has ended meanwhile.
func (t *Tx) KeepWarned(notebook string, stop time.Time) (err error) {
	defer t.db.report("keep_warned", time.Now(), &err)
	_, err = t.tx.ExecContext(t.ctx, `UPDATE keeps SET warned_ms = $2 WHERE notebook = $1`, notebook, ms(stop))
	return t.db.fail(t.ctx, "keep warned "+notebook, err)
}

// CreateApproval stores a as a pending request and sets a.ID and a.State;
// a zero a.Created is set to now.
func (t *Tx) CreateApproval(a *Approval) (err error) {
	defer t.db.report("create_approval", time.Now(), &err)
	if a.Created.IsZero() {
		a.Created = t.db.now()
	}
	err = t.tx.QueryRowContext(t.ctx, `INSERT INTO approvals (channel, requester, notebook, name, amount_ms, created_ms, expires_ms,
state, conversation, ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		a.Channel, a.Requester, a.Notebook, a.Name, a.Amount.Milliseconds(), ms(a.Created), ms(a.Expires),
		ApprovalPending, a.Conversation, a.Ref).Scan(&a.ID)
	if err != nil {
		return t.db.fail(t.ctx, fmt.Sprintf("create approval for %s", a.Notebook), err)
	}
	a.State, a.Decider, a.Decided = ApprovalPending, "", time.Time{}
	return nil
}

// ApprovalPosted records where request id was posted. It is an error if
// there is no such request.
func (t *Tx) ApprovalPosted(id int64, conversation, ref string) (err error) {
	defer t.db.report("approval_posted", time.Now(), &err)
	what := fmt.Sprintf("approval %d posted", id)
	res, err := t.tx.ExecContext(t.ctx, `UPDATE approvals SET conversation = $2, ref = $3 WHERE id = $1`, id, conversation, ref)
	ok, err := changed(t.db, t.ctx, what, res, err)
	if err == nil && !ok {
		err = t.db.fail(t.ctx, what, errors.New("no such request"))
	}
	return err
}

// DecideApproval decides a pending request (see TxAPI). The condition on
// the state makes the second of two concurrent deciders change nothing.
func (t *Tx) DecideApproval(id int64, state, decider string, at time.Time) (decided bool, err error) {
	defer t.db.report("decide_approval", time.Now(), &err)
	what := fmt.Sprintf("decide approval %d", id)
	switch state {
	case ApprovalApproved, ApprovalDenied, ApprovalExpired:
	default:
		return false, t.db.fail(t.ctx, what, fmt.Errorf("%q is not a decision", state))
	}
	res, err := t.tx.ExecContext(t.ctx, `UPDATE approvals SET state = $2, decider = $3, decided_ms = $4
WHERE id = $1 AND state = 'pending'`, id, state, decider, ms(at))
	return changed(t.db, t.ctx, what, res, err)
}

// historyBranches bounds the notebooks of one History query: each becomes
// one branch of a UNION ALL (SQLite allows 500).
const historyBranches = 100

// History returns entries newest first (see HistoryQuery). Without a
// notebook filter it walks the primary key backwards from Before. With one,
// each notebook is read from the (notebook, id) index with its own limit
// and the branches are merged, so the cost depends on the page size and
// the number of notebooks, never on how much history there is.
func (db *DB) History(ctx context.Context, q HistoryQuery) (es []Entry, err error) {
	defer db.report("history", time.Now(), &err)
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	if q.Notebooks == nil {
		es, err = db.history(ctx, nil, q.Before, limit)
		return es, db.fail(ctx, "history", err)
	}
	nbs := dedupe(q.Notebooks)
	for len(nbs) > 0 {
		n := min(len(nbs), historyBranches)
		page, err := db.history(ctx, nbs[:n], q.Before, limit)
		if err != nil {
			return nil, db.fail(ctx, "history", err)
		}
		es = append(es, page...)
		nbs = nbs[n:]
	}
	if len(q.Notebooks) > historyBranches {
		sort.Slice(es, func(i, j int) bool { return es[i].ID > es[j].ID })
		es = es[:min(len(es), limit)]
	}
	return es, nil
}

// AddStartWatch records an announced start (see API); recording the same
// message again changes nothing.
func (db *DB) AddStartWatch(ctx context.Context, w StartWatch) (err error) {
	defer db.report("add_start_watch", time.Now(), &err)
	if w.Started.IsZero() {
		w.Started = db.now()
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO start_watches (conversation, ref, notebook, name, user_id, started_ms)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (conversation, ref) DO NOTHING`,
		w.Conversation, w.Ref, w.Notebook, w.Name, w.User, ms(w.Started))
	return db.fail(ctx, fmt.Sprintf("add start watch %s", w.Notebook), err)
}

// StartWatches returns the starts whose end is yet to be told, oldest first.
func (db *DB) StartWatches(ctx context.Context) (out []StartWatch, err error) {
	defer db.report("start_watches", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `SELECT conversation, ref, notebook, name, user_id, started_ms FROM start_watches ORDER BY started_ms`)
	if err != nil {
		return nil, db.fail(ctx, "start watches", err)
	}
	defer rows.Close()
	for rows.Next() {
		var w StartWatch
		var started int64
		if err := rows.Scan(&w.Conversation, &w.Ref, &w.Notebook, &w.Name, &w.User, &started); err != nil {
			return nil, db.fail(ctx, "start watches", err)
		}
		w.Started = fromMS(started)
		out = append(out, w)
	}
	return out, db.fail(ctx, "start watches", rows.Err())
}

// EndStartWatch deletes a start watch (see API); the delete decides which
// caller tells the end.
func (db *DB) EndStartWatch(ctx context.Context, conversation, ref string) (ended bool, err error) {
	defer db.report("end_start_watch", time.Now(), &err)
	res, err := db.w.ExecContext(ctx, `DELETE FROM start_watches WHERE conversation = $1 AND ref = $2`, conversation, ref)
	return changed(db, ctx, fmt.Sprintf("end start watch %s/%s", conversation, ref), res, err)
}

// HistoryNotebooks returns the notebooks of the history (see API). One
// query walks the (notebook, id) index from one notebook to the next, an
// index seek per notebook, rather than reading every entry.
func (db *DB) HistoryNotebooks(ctx context.Context) (out []SeenNotebook, err error) {
	defer db.report("history_notebooks", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `WITH RECURSIVE seen (nb) AS (
    SELECT (SELECT notebook FROM history ORDER BY notebook LIMIT 1)
    UNION ALL
    SELECT (SELECT notebook FROM history WHERE notebook > seen.nb ORDER BY notebook LIMIT 1)
    FROM seen WHERE seen.nb IS NOT NULL
)
SELECT nb, COALESCE((SELECT notebook_name FROM history WHERE notebook = seen.nb ORDER BY id DESC LIMIT 1), '')
FROM seen WHERE nb IS NOT NULL`)
	if err != nil {
		return nil, db.fail(ctx, "history notebooks", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n SeenNotebook
		if err := rows.Scan(&n.ID, &n.Name); err != nil {
			return nil, db.fail(ctx, "history notebooks", err)
		}
		if n.ID != "" {
			out = append(out, n)
		}
	}
	return out, db.fail(ctx, "history notebooks", rows.Err())
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// history runs one query: every notebook (nbs nil) or the branches of nbs.
func (db *DB) history(ctx context.Context, nbs []string, before int64, limit int) ([]Entry, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	args := []any{before, limit}
	var query string
	if nbs == nil {
		query = `SELECT ` + historyCols + ` FROM history WHERE id < $1 ORDER BY id DESC LIMIT $2`
	} else {
		var b strings.Builder
		for i, nb := range nbs {
			args = append(args, nb)
			if i > 0 {
				b.WriteString("\nUNION ALL\n")
			}
			fmt.Fprintf(&b, `SELECT * FROM (SELECT %s FROM history WHERE notebook = $%d AND id < $1 ORDER BY id DESC LIMIT $2) AS h%d`,
				historyCols, len(args), i)
		}
		if len(nbs) == 1 {
			query = b.String()
		} else {
			query = b.String() + "\nORDER BY id DESC LIMIT $2"
		}
	}
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	es := make([]Entry, 0, limit)
	for rows.Next() {
		var e Entry
		var at, oldStop, newStop int64
		if err := rows.Scan(&e.ID, &at, &e.User, &e.Channel, &e.Via, &e.Notebook, &e.NotebookName, &e.Verb, &e.Requested,
			&oldStop, &newStop, &e.Outcome, &e.Code, &e.Approver); err != nil {
			return nil, err
		}
		e.At, e.OldStop, e.NewStop = fromMS(at), fromMS(oldStop), fromMS(newStop)
		es = append(es, e)
	}
	return es, rows.Err()
}

const keepCols = `notebook, name, until_ms, by_user, channel, set_ms, warned_ms`

func scanKeeps(rows *sql.Rows) ([]Keep, error) {
	defer rows.Close()
	var ks []Keep
	for rows.Next() {
		var k Keep
		var until, set, warned int64
		if err := rows.Scan(&k.Notebook, &k.Name, &until, &k.By, &k.Channel, &set, &warned); err != nil {
			return nil, err
		}
		k.Until, k.Set, k.Warned = fromMS(until), fromMS(set), fromMS(warned)
		ks = append(ks, k)
	}
	return ks, rows.Err()
}

// Keep returns the keep of notebook, if there is one.
func (db *DB) Keep(ctx context.Context, notebook string) (k Keep, found bool, err error) {
	defer db.report("keep", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `SELECT `+keepCols+` FROM keeps WHERE notebook = $1`, notebook)
	k, found, err = one(rows, err, scanKeeps)
	return k, found, db.fail(ctx, "keep "+notebook, err)
}

// Keeps returns every keep, by notebook ID.
func (db *DB) Keeps(ctx context.Context) (ks []Keep, err error) {
	defer db.report("keeps", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `SELECT `+keepCols+` FROM keeps ORDER BY notebook`)
	if err == nil {
		ks, err = scanKeeps(rows)
	}
	return ks, db.fail(ctx, "keeps", err)
}

const approvalCols = `id, channel, requester, notebook, name, amount_ms, created_ms, expires_ms, state, decider, decided_ms,
conversation, ref`

func scanApprovals(rows *sql.Rows) ([]Approval, error) {
	defer rows.Close()
	var as []Approval
	for rows.Next() {
		var a Approval
		var amount, created, expires, decided int64
		if err := rows.Scan(&a.ID, &a.Channel, &a.Requester, &a.Notebook, &a.Name, &amount, &created, &expires,
			&a.State, &a.Decider, &decided, &a.Conversation, &a.Ref); err != nil {
			return nil, err
		}
		a.Amount, a.Created, a.Expires, a.Decided = dur(amount), fromMS(created), fromMS(expires), fromMS(decided)
		as = append(as, a)
	}
	return as, rows.Err()
}

// Approval returns request id, if it exists.
func (db *DB) Approval(ctx context.Context, id int64) (a Approval, found bool, err error) {
	defer db.report("approval", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `SELECT `+approvalCols+` FROM approvals WHERE id = $1`, id)
	a, found, err = one(rows, err, scanApprovals)
	return a, found, db.fail(ctx, "approval "+strconv.FormatInt(id, 10), err)
}

// PendingApprovals returns every pending request, oldest first.
func (db *DB) PendingApprovals(ctx context.Context) (as []Approval, err error) {
	defer db.report("pending_approvals", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `SELECT `+approvalCols+` FROM approvals WHERE state = 'pending' ORDER BY id`)
	if err == nil {
		as, err = scanApprovals(rows)
	}
	return as, db.fail(ctx, "pending approvals", err)
}

// leaderName is the one leadership leasebot has.
const leaderName = "leasebot"

// TryLead takes or renews leadership (see API). One statement decides: the
// row is taken if absent, renewed if holder has it, taken over if it ran
// out; otherwise nothing changes and no row comes back. "Now" is the
// database's clock on PostgreSQL, so replicas need not agree on the time.
func (db *DB) TryLead(ctx context.Context, holder string, ttl time.Duration) (leads bool, err error) {
	defer db.report("try_lead", time.Now(), &err)
	if holder == "" {
		return false, db.fail(ctx, "try lead", errors.New("no holder given"))
	}
	now, extra := db.d.leaderNow(4, db.now())
	rows, err := db.w.QueryContext(ctx, `INSERT INTO leader (name, holder, expires_at) VALUES ($1, $2, `+now+` + $3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leader.holder = excluded.holder OR leader.expires_at <= `+now+`
RETURNING holder`, append([]any{leaderName, holder, ttl.Milliseconds()}, extra...)...)
	if err == nil {
		leads, err = anyRow(rows)
	}
	return leads, db.fail(ctx, fmt.Sprintf("try lead as %q", holder), err)
}

// Resign gives up leadership at once if holder has it, so that the next
// TryLead of another holder wins.
func (db *DB) Resign(ctx context.Context, holder string) (err error) {
	defer db.report("resign", time.Now(), &err)
	_, err = db.w.ExecContext(ctx, `DELETE FROM leader WHERE name = $1 AND holder = $2`, leaderName, holder)
	return db.fail(ctx, fmt.Sprintf("resign as %q", holder), err)
}

// HomeOpened records that user has opened the app's home view.
func (db *DB) HomeOpened(ctx context.Context, user string) (err error) {
	defer db.report("home_opened", time.Now(), &err)
	_, err = db.w.ExecContext(ctx, `INSERT INTO homes (user_id, opened_ms) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET opened_ms = excluded.opened_ms`, user, db.now().UnixMilli())
	return db.fail(ctx, "home opened by "+user, err)
}

// HasHome reports whether user has ever opened the app's home view.
func (db *DB) HasHome(ctx context.Context, user string) (has bool, err error) {
	defer db.report("has_home", time.Now(), &err)
	rows, err := db.r.QueryContext(ctx, `SELECT 1 FROM homes WHERE user_id = $1`, user)
	if err == nil {
		has, err = anyRow(rows)
	}
	return has, db.fail(ctx, "has home "+user, err)
}

// warningDays is how long past its stop time a warning is kept: long
// enough for a late click on it to be recognised.
const warningDays = 7

// pruneBatch bounds one delete of history, so that pruning a large backlog
// never holds the write lock for long.
const pruneBatch = 5000

// Prune deletes what is no longer needed as of now (see API); every delete
// follows an index. historyDays <= 0 keeps history and decided requests
// for ever.
func (db *DB) Prune(ctx context.Context, now time.Time, historyDays int) (err error) {
	defer db.report("prune", time.Now(), &err)
	if _, err := db.w.ExecContext(ctx, `DELETE FROM claims WHERE expires_at <= $1`, now.UnixMilli()); err != nil {
		return db.fail(ctx, "prune claims", err)
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM start_watches WHERE started_ms < $1`,
		now.Add(-24*time.Hour).UnixMilli()); err != nil {
		return db.fail(ctx, "prune start watches", err)
	}
	// Copies go with their warning (ON DELETE CASCADE).
	if _, err := db.w.ExecContext(ctx, `DELETE FROM warnings WHERE stop_ms < $1`,
		now.Add(-warningDays*24*time.Hour).UnixMilli()); err != nil {
		return db.fail(ctx, "prune warnings", err)
	}
	if historyDays <= 0 {
		return nil
	}
	cutoff := now.Add(-time.Duration(historyDays) * 24 * time.Hour).UnixMilli()
	// Entries are written in the order of their times, so the old ones are
	// those before the first recent one, found by reading in ID order from
	// the oldest: no index on the time is needed, and the reading stops at
	// the first entry kept.
	var keep int64
	err = db.w.QueryRowContext(ctx, `SELECT COALESCE(
(SELECT id FROM history WHERE at_ms >= $1 ORDER BY id LIMIT 1),
(SELECT MAX(id) + 1 FROM history), 0)`, cutoff).Scan(&keep)
	if err != nil {
		return db.fail(ctx, "prune history", err)
	}
	for {
		res, err := db.w.ExecContext(ctx, `DELETE FROM history WHERE id IN
(SELECT id FROM history WHERE id < $1 ORDER BY id LIMIT $2)`, keep, pruneBatch)
		n, err := changedRows(res, err)
		if err != nil {
			return db.fail(ctx, "prune history", err)
		}
		if n < pruneBatch {
			break
		}
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM approvals WHERE state <> 'pending' AND created_ms < $1`, cutoff); err != nil {
		return db.fail(ctx, "prune approvals", err)
	}
	return nil
}

func changedRows(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
