package store

import (
	"context"
	"time"
)

// Test hooks: they reach inside the store where the API offers no way.

// SeedHistory appends n history entries spread over notebooks notebooks in
// one statement, a fast bulk insert for benchmarks.
func SeedHistory(ctx context.Context, db *DB, n, notebooks int) error {
	_, err := db.w.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1)
INSERT INTO history (at_ms, user_id, channel, via, notebook, notebook_name, verb, requested, old_stop_ms, new_stop_ms, outcome)
SELECT 1700000000000 + i * 1000, 'U' || CAST(i % 50 AS TEXT), 'C1', 'channel', 'nb-' || CAST(i % $2 AS TEXT), 'train', 'extend', '2h',
       1700000000000 + i * 1000, 1700007200000 + i * 1000, 'extended'
FROM s`, n, notebooks)
	if err == nil && db.d.kind() == "postgres" {
		_, err = db.w.ExecContext(ctx, `ANALYZE history`)
	}
	return err
}

// Placeholders returns $2 $1 $2 joined by "-": $N binds by number, in any
// order, as often as it appears.
func Placeholders(ctx context.Context, db *DB, a, b string) (string, error) {
	var s string
	err := db.r.QueryRowContext(ctx, `SELECT CAST($2 AS TEXT) || '-' || CAST($1 AS TEXT) || '-' || CAST($2 AS TEXT)`, a, b).Scan(&s)
	return s, err
}

// ForgeSchemaVersion records schema version v as if a newer leasebot had
// applied it.
func ForgeSchemaVersion(ctx context.Context, db *DB, v int) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, 'future', 0)`, v)
	return err
}

// LockedNotebooks is how many notebooks have an in-process lock entry.
func LockedNotebooks(db *DB) int { return db.locks.size() }

// CreateAtVersion creates the SQLite store at path with the schema as
// version v left it, as an older leasebot would have.
func CreateAtVersion(ctx context.Context, path string, v int) error {
	d, w, r, err := openSQLite(ctx, path)
	if err != nil {
		return err
	}
	defer func() { r.Close(); w.Close(); d.close() }()
	conn, release, err := d.migrationConn(ctx)
	if err != nil {
		return err
	}
	defer release()
	_, err = migrateTo(ctx, conn, d, 0, v)
	return err
}

// SetLockTTL shortens how long a PostgreSQL notebook lock row lasts
// unrenewed, so that tests see one run out.
func SetLockTTL(db *DB, ttl time.Duration) {
	db.d.(*pgDialect).lockTTL = ttl
}

// Exec runs a statement on the store's database, for tests that plant rows
// the API would never write.
func Exec(ctx context.Context, db *DB, q string, args ...any) error {
	_, err := db.w.ExecContext(ctx, q, args...)
	return err
}
