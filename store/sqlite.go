package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// applicationID marks a SQLite file as leasebot's (PRAGMA application_id,
// bytes 68-71 of the file): "leas" in ASCII. A file without it that holds
// tables belongs to something else and is never touched.
const applicationID = 0x6c656173

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// sqliteReaders bounds the read connections; reads run concurrently in WAL
// mode while the single write connection serializes every write.
const sqliteReaders = 4

// sqliteBusy is how long a connection waits for a lock held by another
// connection of this process (a checkpoint, say) before giving up.
const sqliteBusy = 10 * time.Second

type sqliteDialect struct {
	path string
	lock *os.File // PATH.lock, flocked until close
	w    *sql.DB  // the write pool
}

// openSQLite opens (creating if needed) the leasebot database at path for
// this process alone. It checks the file before anything can write to it:
// a file that is not SQLite, is damaged, or belongs to another application
// is refused untouched.
func openSQLite(ctx context.Context, path string) (dialect, *sql.DB, *sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("store: SQLite file %s: %w", path, err)
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		return nil, nil, nil, fmt.Errorf("store: the directory of the SQLite file %s does not exist", abs)
	}
	fresh, err := checkSQLiteFile(ctx, abs)
	if err != nil {
		return nil, nil, nil, err
	}
	d := &sqliteDialect{path: abs}
	if d.lock, err = os.OpenFile(abs+".lock", os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, nil, nil, fmt.Errorf("store: lock %s: %w", abs, err)
	}
	if busy, err := lockFile(d.lock); err != nil {
		d.lock.Close()
		if busy {
			return nil, nil, nil, fmt.Errorf("store: %s is in use by another leasebot process (SQLite is for one process; use LEASEBOT_DATABASE_URL with PostgreSQL for several replicas): %w", abs, ErrInUse)
		}
		return nil, nil, nil, fmt.Errorf("store: lock %s: %w", abs, err)
	}
	busy := fmt.Sprintf("_pragma=busy_timeout(%d)", sqliteBusy.Milliseconds())
	// One write connection whose transactions start with BEGIN IMMEDIATE:
	// a transaction never has to upgrade a read lock to a write lock, which
	// SQLite would refuse at once instead of waiting. synchronous=NORMAL is
	// WAL's usual setting: a crash of leasebot loses nothing, a power cut
	// may lose the last commits but never corrupts the file. The unix-excl
	// VFS locks the file for this process once, instead of taking and
	// releasing locks (system calls) in every transaction, and keeps the
	// WAL index in the process's memory rather than a -shm file: the file
	// lock above keeps other leasebots out already, and other programs
	// cannot read the file while leasebot runs.
	w, err := sql.Open("sqlite", sqliteDSN(abs, busy, "_pragma=foreign_keys(1)", "_pragma=synchronous(NORMAL)", "_txlock=immediate", "vfs=unix-excl"))
	if err != nil {
		d.close()
		return nil, nil, nil, fmt.Errorf("store: SQLite file %s: %w", abs, err)
	}
	d.w = w
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	fail := func(err error) (dialect, *sql.DB, *sql.DB, error) {
		w.Close()
		d.close()
		if damaged(err) {
			return nil, nil, nil, fmt.Errorf("store: SQLite file %s is damaged: %w", abs, err)
		}
		return nil, nil, nil, fmt.Errorf("store: SQLite file %s: %w", abs, err)
	}
	if fresh {
		// Mark the file before the switch to WAL, so the mark is in the
		// main file, where checkSQLiteFile reads it.
		if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
			return fail(err)
		}
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fail(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fail(fmt.Errorf("cannot use WAL mode (got %q)", mode))
	}
	r, err := sql.Open("sqlite", sqliteDSN(abs, busy, "_pragma=foreign_keys(1)", "_pragma=query_only(1)", "vfs=unix-excl"))
	if err != nil {
		return fail(err)
	}
	r.SetMaxOpenConns(sqliteReaders)
	r.SetMaxIdleConns(sqliteReaders)
	r.SetConnMaxLifetime(0)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		return fail(err)
	}
	return d, w, r, nil
}

// sqliteDSN is a file: URI for path with the driver's parameters; the path
// is escaped so that "?" or "#" in a name cannot end it.
func sqliteDSN(path string, params ...string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + strings.Join(params, "&")
}

// checkSQLiteFile decides whether path may be opened as leasebot's store,
// reading it without changing it. It reports fresh for a missing or empty
// file, or an empty SQLite database, which Open then marks as leasebot's.
func checkSQLiteFile(ctx context.Context, path string) (fresh bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: SQLite file %s: %w", path, err)
	}
	defer f.Close()
	// Leasebot marks its files before their first write-ahead log, so a
	// log beside an unmarked (or empty) file is another application's work.
	foreignLog := func() bool {
		fi, err := os.Stat(path + "-wal")
		return err == nil && fi.Size() > 0
	}
	errForeignLog := fmt.Errorf("store: %s is a SQLite database that another application is writing (it has a write-ahead log), not leasebot's; leasebot will not touch it", path)
	hdr := make([]byte, 100)
	n, err := io.ReadFull(f, hdr)
	if n == 0 && (err == io.EOF || err == nil) {
		if foreignLog() {
			return false, errForeignLog
		}
		return true, nil
	}
	if n < len(hdr) || !bytes.HasPrefix(hdr, []byte(sqliteHeader)) {
		return false, fmt.Errorf("store: %s is not a SQLite database; leasebot will not touch it (move it away or choose another store.path)", path)
	}
	switch id := binary.BigEndian.Uint32(hdr[68:72]); id {
	case applicationID:
		return false, nil
	case 0:
	default:
		return false, fmt.Errorf("store: %s is the SQLite database of another application (application_id %#x), not leasebot's; leasebot will not touch it", path, id)
	}
	// A SQLite file without leasebot's mark: empty, or someone else's.
	if foreignLog() {
		return false, errForeignLog
	}
	// immutable=1 reads it without locks, journals or any write.
	ro, err := sql.Open("sqlite", sqliteDSN(path, "mode=ro", "immutable=1"))
	if err != nil {
		return false, fmt.Errorf("store: SQLite file %s: %w", path, err)
	}
	defer ro.Close()
	var tables int
	if err := ro.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`).Scan(&tables); err != nil {
		return false, fmt.Errorf("store: %s is not a readable SQLite database (damaged?): %w", path, err)
	}
	if tables > 0 {
		return false, fmt.Errorf("store: %s holds another application's tables (%d), not leasebot's; leasebot will not touch it", path, tables)
	}
	return true, nil
}

func (d *sqliteDialect) kind() string  { return "sqlite" }
func (d *sqliteDialect) where() string { return d.path }

func (d *sqliteDialect) tokens() map[string]string {
	return map[string]string{"{{autoid}}": "INTEGER PRIMARY KEY AUTOINCREMENT"}
}

// migrationConn: the file lock already keeps other processes out, and the
// write connection's BEGIN IMMEDIATE keeps this one's writers out.
func (d *sqliteDialect) migrationConn(ctx context.Context) (*sql.Conn, func(), error) {
	c, err := d.w.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}

// lockNotebook: one process owns the file, so the in-process lock is all.
func (d *sqliteDialect) lockNotebook(ctx context.Context, id string) (func() error, error) {
	return func() error { return nil }, nil
}

// leaderNow: the process clock, which is the only clock there is for a
// store that one process owns.
func (d *sqliteDialect) leaderNow(n int, now time.Time) (string, []any) {
	return fmt.Sprintf("$%d", n), []any{now.UnixMilli()}
}

// unavailable: the file could not be reached or written right now, as
// opposed to a mistake in what was asked.
func (d *sqliteDialect) unavailable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}

func (d *sqliteDialect) describe(err error) string {
	if damaged(err) {
		return "the file is damaged: " + err.Error()
	}
	return err.Error()
}

// damaged reports whether err says the file is not a sound database.
func damaged(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	c := e.Code() & 0xff
	return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
}

// close releases the file lock. The lock file stays: removing it could
// race with a process that has just opened it.
func (d *sqliteDialect) close() error {
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close()
	d.lock = nil
	return err
}
