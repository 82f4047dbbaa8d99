package store_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/store"
	"github.com/leasebot/leasebot/store/storetest"
)

func openSQLite(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *store.DB {
		return openSQLite(t, filepath.Join(t.TempDir(), "leasebot.db"))
	})
}

func TestPlaceholdersSQLite(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "leasebot.db"))
	testPlaceholders(t, db)
}

func testPlaceholders(t *testing.T, db *store.DB) {
	got, err := store.Placeholders(context.Background(), db, "a", "b")
	if err != nil || got != "b-a-b" {
		t.Errorf("$2 $1 $2 with (a, b) = %q, %v; want b-a-b", got, err)
	}
}

func TestSQLiteOpenTwiceRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasebot.db")
	db := openSQLite(t, path)
	_, err := store.Open(context.Background(), store.Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "in use by another leasebot process") ||
		!strings.Contains(err.Error(), "LEASEBOT_DATABASE_URL") {
		t.Fatalf("second Open = %v, want in use, naming %s", err, path)
	}
	t.Log(err)
	// The first is unharmed, and after Close the file may be opened again.
	if _, err := db.Claim(context.Background(), "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	again := openSQLite(t, path)
	if won, err := again.Claim(context.Background(), "k", time.Hour); err != nil || won {
		t.Errorf("claim after reopening = %v, %v; want it remembered", won, err)
	}
}

// TestSQLiteHelperProcess is not a test: TestSQLiteOtherProcess runs the
// test binary with it to hold a store open in another process.
func TestSQLiteHelperProcess(t *testing.T) {
	path := os.Getenv("LEASEBOT_TEST_HOLD_SQLITE")
	if path == "" {
		t.Skip("helper for TestSQLiteOtherProcess")
	}
	db, err := store.Open(context.Background(), store.Options{Path: path})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer db.Close()
	fmt.Println("ready")
	time.Sleep(time.Minute) // until killed
	os.Exit(0)
}

func TestSQLiteOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "leasebot.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteHelperProcess$")
	cmd.Env = append(os.Environ(), "LEASEBOT_TEST_HOLD_SQLITE="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper said %q", line)
	}
	_, err = store.Open(context.Background(), store.Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), "in use by another leasebot process") {
		t.Fatalf("Open while another process holds the file = %v", err)
	}
	// The file is held exclusively (SQLite's unix-excl VFS): another
	// program cannot read it, and there is no shared-memory file, since the
	// WAL index stays in the owning process.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = raw.QueryRow(`SELECT count(*) FROM history`).Scan(&n)
	raw.Close()
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("another process read the file while leasebot held it: %v", err)
	}
	if _, err := os.Stat(path + "-shm"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s-shm: %v; want none", filepath.Base(path), err)
	}
	// SIGKILL: no Close runs; the kernel drops the lock with the process.
	cmd.Process.Kill()
	cmd.Wait()
	db := openSQLite(t, path)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func sha(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// refused checks that Open fails on path with an error naming it and
// containing want, and that the file is left exactly as it was.
func refused(t *testing.T, path, want string) {
	t.Helper()
	before := sha(t, path)
	existed := map[string]bool{}
	for _, side := range []string{"-wal", "-shm", "-journal"} {
		_, err := os.Stat(path + side)
		existed[side] = err == nil
	}
	_, err := store.Open(context.Background(), store.Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open(%s) = %v, want an error naming the file and saying %q", filepath.Base(path), err, want)
	}
	t.Log(err)
	if sha(t, path) != before {
		t.Error("the refused file was changed")
	}
	for _, side := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + side); err == nil && !existed[side] {
			t.Errorf("%s%s was created", filepath.Base(path), side)
		}
	}
}

func TestSQLiteNotADatabase(t *testing.T) {
	dir := t.TempDir()
	random := make([]byte, 8192)
	rand.Read(random)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"random bytes", random, "is not a SQLite database"},
		{"text", []byte("hello\n"), "is not a SQLite database"},
		{"truncated header", []byte("SQLite format 3\x00\x10"), "is not a SQLite database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".db")
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			refused(t, path, c.want)
		})
	}
}

// foreign creates a SQLite database of another application at path.
func foreign(t *testing.T, path string, pragmas ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range append(pragmas, `CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)`, `INSERT INTO invoices (total) VALUES (12.5)`) {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSQLiteForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Run("tables", func(t *testing.T) {
		path := filepath.Join(dir, "app.db")
		foreign(t, path)
		refused(t, path, "another application")
	})
	t.Run("tables in WAL mode", func(t *testing.T) {
		path := filepath.Join(dir, "wal.db")
		foreign(t, path, "PRAGMA journal_mode=WAL")
		refused(t, path, "another application")
	})
	t.Run("open by its application, tables only in the log", func(t *testing.T) {
		path := filepath.Join(dir, "busy.db")
		app, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		app.SetMaxOpenConns(1)
		for _, s := range []string{"PRAGMA journal_mode=WAL", "PRAGMA wal_autocheckpoint=0", "CREATE TABLE notes (body TEXT)"} {
			if _, err := app.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		refused(t, path, "another application")
	})
	t.Run("application_id", func(t *testing.T) {
		path := filepath.Join(dir, "id.db")
		foreign(t, path, "PRAGMA application_id = 42")
		refused(t, path, "application_id 0x2a")
	})
}

func TestSQLiteEmptyFilesAreAdopted(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	blank := filepath.Join(dir, "blank.db") // a SQLite database with no tables
	bdb, err := sql.Open("sqlite", blank)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.Exec("PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	for _, path := range []string{empty, blank} {
		db := openSQLite(t, path)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		openSQLite(t, path) // marked as leasebot's now
	}
}

func TestSQLiteDamaged(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db := openSQLite(t, good)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// leasebot's header, then garbage where the schema should be.
	junk := make([]byte, len(b)-100)
	rand.Read(junk)
	path := filepath.Join(dir, "damaged.db")
	if err := os.WriteFile(path, append(b[:100:100], junk...), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(context.Background(), store.Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a damaged file = %v, want an error naming it", err)
	}
	t.Log(err)
}

func TestSQLiteMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "leasebot.db")
	_, err := store.Open(context.Background(), store.Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Open = %v", err)
	}
}

func TestSQLiteNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasebot.db")
	db := openSQLite(t, path)
	next := store.SchemaVersion() + 1
	if err := store.ForgeSchemaVersion(context.Background(), db, next); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := store.Open(context.Background(), store.Options{Path: path})
	want := fmt.Sprintf("schema version %d is newer than this leasebot knows (%d); upgrade leasebot", next, store.SchemaVersion())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open = %v, want %q naming the file", err, want)
	}
}

func TestSQLiteMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasebot.db")
	for i := range 3 {
		db := openSQLite(t, path)
		info, err := db.Info(context.Background())
		if err != nil || info.SchemaVersion != store.SchemaVersion() || info.Kind != "sqlite" || info.Where != path {
			t.Fatalf("open %d: Info = %+v, %v", i, info, err)
		}
		err = db.Update(context.Background(), func(tx *store.Tx) error {
			return tx.AddHistory(&store.Entry{Notebook: "nb", Verb: "extend"})
		})
		if err != nil {
			t.Fatal(err)
		}
		if es, _ := db.History(context.Background(), store.HistoryQuery{}); len(es) != i+1 {
			t.Fatalf("open %d: %d entries, want %d", i, len(es), i+1)
		}
		db.Close()
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n, appID int
	var mode string
	raw.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n)
	raw.QueryRow(`PRAGMA application_id`).Scan(&appID)
	raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	if n != store.SchemaVersion() || appID != 0x6c656173 || mode != "wal" {
		t.Errorf("schema_migrations rows %d (want %d), application_id %#x, journal_mode %s", n, store.SchemaVersion(), appID, mode)
	}
}

func TestSQLiteObserve(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	var failed []string
	db, err := store.Open(context.Background(), store.Options{
		Path: filepath.Join(t.TempDir(), "leasebot.db"),
		Observe: func(op string, err error, took time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			seen[op]++
			if err != nil {
				failed = append(failed, op)
			}
			if took < 0 {
				panic("negative duration")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db.Claim(ctx, "k", time.Hour)
	db.History(ctx, store.HistoryQuery{})
	db.Update(ctx, func(tx *store.Tx) error {
		tx.AddHistory(&store.Entry{})
		_, err := tx.DecideApproval(1, "nonsense", "U", time.Now())
		return err
	})
	unlock, _ := db.LockNotebook(ctx, "nb")
	unlock()
	db.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, op := range []string{"open", "claim", "history", "update", "add_history", "decide_approval", "lock_notebook", "unlock_notebook", "close"} {
		if seen[op] != 1 {
			t.Errorf("%s observed %d times, want 1 (seen %v)", op, seen[op], seen)
		}
	}
	if fmt.Sprint(failed) != "[decide_approval update]" {
		t.Errorf("failed ops %v, want [decide_approval update]", failed)
	}
}

func TestSQLiteNoLockLeak(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "leasebot.db"))
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, cancel := context.WithTimeout(ctx, time.Duration(i%3)*time.Millisecond)
			defer cancel()
			if unlock, err := db.LockNotebook(c, fmt.Sprint("nb-", i%5)); err == nil {
				unlock()
			}
		}()
	}
	wg.Wait()
	if n := store.LockedNotebooks(db); n != 0 {
		t.Errorf("%d notebook lock entries left after every holder and waiter is gone", n)
	}
}

// TestSQLiteReadsDuringWrite: reads go on while a transaction holds the
// one write connection.
func TestSQLiteReadsDuringWrite(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "leasebot.db"))
	ctx := context.Background()
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- db.Update(ctx, func(tx *store.Tx) error {
			close(inside)
			<-release
			return tx.AddHistory(&store.Entry{Verb: "late"})
		})
	}()
	<-inside
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := db.History(c, store.HistoryQuery{}); err != nil {
		t.Errorf("read during a write transaction: %v", err)
	}
	if _, _, err := db.Keep(c, "nb"); err != nil {
		t.Errorf("read during a write transaction: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestOpenOptions(t *testing.T) {
	cases := []struct {
		name string
		o    store.Options
		want string
	}{
		{"nothing", store.Options{}, "neither"},
		{"not postgres", store.Options{URL: "mysql://u:hunter22@h/db"}, "postgres://"},
	}
	for _, c := range cases {
		_, err := store.Open(context.Background(), c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%s: Open = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := store.Open(context.Background(), store.Options{URL: "mysql://h/db"}); !errors.Is(err, store.ErrURLScheme) {
		t.Errorf("Open with a mysql:// URL = %v, want ErrURLScheme", err)
	}
}

func TestSQLiteUnavailable(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "leasebot.db"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, err := db.Claim(ctx, "k", time.Hour)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Claim past its deadline = %v; want it marked unavailable and DeadlineExceeded", err)
	}
	if !bytes.HasPrefix([]byte(err.Error()), []byte("store: claim")) {
		t.Errorf("error %q lacks its context", err)
	}
}

// Inspecting a SQLite file that does not exist neither creates it nor
// succeeds; inspecting one that does reads its version.
func TestSQLiteInspect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasebot.db")
	if _, err := store.Open(context.Background(), store.Options{Path: path, Inspect: true}); !errors.Is(err, store.ErrNoStore) {
		t.Fatalf("inspecting a missing file = %v, want ErrNoStore", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("inspecting created the file: %v", err)
	}
	db, err := store.Open(context.Background(), store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = store.Open(context.Background(), store.Options{Path: path, Inspect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if info, err := db.Info(context.Background()); err != nil || info.SchemaVersion != store.SchemaVersion() || info.Pending != 0 {
		t.Errorf("Info = %+v, %v", info, err)
	}
}

// A store an older leasebot left (schema version 1) is brought up to date
// with what it holds intact: claims still claimed, history entries with
// their IDs, and new IDs after the old ones.
func TestSQLiteUpgradeKeepsClaimsAndHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leasebot.db")
	if err := store.CreateAtVersion(ctx, path, 1); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	far := time.Now().Add(time.Hour).UnixMilli()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO claims (key, expires_at) VALUES ('event/old', %d)`, far),
		`INSERT INTO history (at_ms, notebook, verb, outcome) VALUES (1000, 'nb', 'extend', 'extended')`,
		`INSERT INTO history (at_ms, notebook, verb, outcome) VALUES (2000, 'nb', 'extend', 'refused')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db := openSQLite(t, path)
	if info, err := db.Info(ctx); err != nil || info.SchemaVersion != store.SchemaVersion() {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if won, err := db.Claim(ctx, "event/old", time.Hour); err != nil || won {
		t.Errorf("claim made before the upgrade taken again: %v, %v", won, err)
	}
	e := store.Entry{Notebook: "nb", Verb: "extend", Outcome: "extended"}
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddHistory(&e) }); err != nil {
		t.Fatal(err)
	}
	es, err := db.History(ctx, store.HistoryQuery{})
	if err != nil || len(es) != 3 || es[2].ID != 1 || es[2].At.UnixMilli() != 1000 || es[1].ID != 2 || es[0].ID != e.ID || e.ID != 3 {
		t.Errorf("history after the upgrade = %+v, %v (new entry ID %d)", es, err, e.ID)
	}
}

// EnsureWarning of a warning already known and named reads it and writes
// nothing; an unknown one is created.
func TestEnsureWarningOfAKnownWarningWritesNothing(t *testing.T) {
	var mu sync.Mutex
	var ops []string
	db, err := store.Open(context.Background(), store.Options{
		Path: filepath.Join(t.TempDir(), "leasebot.db"),
		Observe: func(op string, _ error, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			ops = append(ops, op)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	stop := time.UnixMilli(1_800_000_000_000)
	for i, want := range []string{"[warning ensure_warning warning]", "[warning]"} {
		mu.Lock()
		ops = nil
		mu.Unlock()
		w, err := db.EnsureWarning(ctx, "nb", stop, "named")
		if err != nil || w.Name != "named" || w.Outcome != store.OutcomeOpen {
			t.Fatalf("EnsureWarning #%d = %+v, %v", i+1, w, err)
		}
		mu.Lock()
		if got := fmt.Sprint(ops); got != want {
			t.Errorf("EnsureWarning #%d ran %s, want %s", i+1, got, want)
		}
		mu.Unlock()
	}
}
