package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/store"
	"github.com/leasebot/leasebot/store/storetest"
)

func openPG(t testing.TB, u string, o ...store.Options) *store.DB {
	t.Helper()
	opts := store.Options{}
	if len(o) > 0 {
		opts = o[0]
	}
	opts.URL = u
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPostgres(t *testing.T) {
	storetest.RequirePostgres(t)
	storetest.Run(t, func(t *testing.T) *store.DB { return openPG(t, storetest.PostgresURL(t)) })
}

func TestPlaceholdersPostgres(t *testing.T) {
	testPlaceholders(t, openPG(t, storetest.PostgresURL(t)))
}

func bg(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// openReplicas opens n stores on one database at once, as replicas that
// start together do: they must agree on the migrations.
func openReplicas(t *testing.T, u string, n int) []*store.DB {
	dbs := make([]*store.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = store.Open(bg(t), store.Options{URL: u})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	return dbs
}

// race runs fn 16 times at once, alternating between the replicas, and
// returns how many got true.
func race(t *testing.T, dbs []*store.DB, fn func(db *store.DB, i int) (bool, error)) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := fn(dbs[i%len(dbs)], i)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(wins.Load())
}

func TestPostgresReplicas(t *testing.T) {
	u := storetest.PostgresURL(t)
	dbs := openReplicas(t, u, 2)
	a, b := dbs[0], dbs[1]
	at := time.Date(2030, 5, 6, 7, 0, 0, 0, time.UTC)

	t.Run("claims", func(t *testing.T) {
		for round := range 3 {
			key := fmt.Sprint("envelope-", round)
			if n := race(t, dbs, func(db *store.DB, _ int) (bool, error) { return db.Claim(bg(t), key, time.Hour) }); n != 1 {
				t.Errorf("%d replicas' claims of %s won, want 1", n, key)
			}
		}
	})
	t.Run("warning copies", func(t *testing.T) {
		for round := range 3 {
			p := store.WarningPost{Notebook: "nb", Stop: at.Add(time.Duration(round) * time.Hour), Target: "C1", Threshold: time.Hour}
			if round > 0 { // the warning exists already
				other := p
				other.Target = "C0"
				if _, err := a.ClaimWarningPost(bg(t), other); err != nil {
					t.Fatal(err)
				}
			}
			if n := race(t, dbs, func(db *store.DB, _ int) (bool, error) { return db.ClaimWarningPost(bg(t), p) }); n != 1 {
				t.Errorf("round %d: %d replicas claimed one copy, want 1", round, n)
			}
			larger := p
			larger.Threshold = 2 * time.Hour
			if won, err := b.ClaimWarningPost(bg(t), larger); err != nil || won {
				t.Errorf("larger threshold on the other replica = %v, %v; want false", won, err)
			}
		}
	})
	t.Run("warning ended once", func(t *testing.T) {
		p := store.WarningPost{Notebook: "nb2", Stop: at, Target: "C1", Threshold: time.Hour}
		if _, err := a.ClaimWarningPost(bg(t), p); err != nil {
			t.Fatal(err)
		}
		n := race(t, dbs, func(db *store.DB, i int) (ended bool, err error) {
			err = db.Update(bg(t), func(tx *store.Tx) (err error) {
				ended, err = tx.EndWarning(store.WarningOutcome{Notebook: "nb2", Stop: at, Outcome: store.OutcomeExtended, By: fmt.Sprint("U", i)})
				return err
			})
			return ended, err
		})
		if n != 1 {
			t.Errorf("%d clicks ended the warning, want 1", n)
		}
	})
	t.Run("approval decided once", func(t *testing.T) {
		ap := store.Approval{Channel: "C1", Requester: "U1", Notebook: "nb", Amount: 24 * time.Hour}
		if err := a.Update(bg(t), func(tx *store.Tx) error { return tx.CreateApproval(&ap) }); err != nil {
			t.Fatal(err)
		}
		n := race(t, dbs, func(db *store.DB, i int) (decided bool, err error) {
			err = db.Update(bg(t), func(tx *store.Tx) (err error) {
				decided, err = tx.DecideApproval(ap.ID, []string{store.ApprovalApproved, store.ApprovalDenied}[i%2], fmt.Sprint("U", i), at)
				return err
			})
			return decided, err
		})
		if n != 1 {
			t.Errorf("%d decisions took effect, want 1", n)
		}
		if got, _, _ := b.Approval(bg(t), ap.ID); got.State == store.ApprovalPending {
			t.Errorf("approval still pending: %+v", got)
		}
	})
	t.Run("notebook lock", func(t *testing.T) {
		nb := "replicas/" + u // unique to this test's schema
		unlock, err := a.LockNotebook(bg(t), nb)
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := b.LockNotebook(short, nb); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the other replica took a held lock: %v", err)
		}
		got := make(chan error, 1)
		var holding atomic.Bool
		holding.Store(true)
		go func() {
			unlockB, err := b.LockNotebook(bg(t), nb)
			if err == nil {
				if holding.Load() {
					err = errors.New("b got the lock while a held it")
				}
				unlockB()
			}
			got <- err
		}()
		time.Sleep(50 * time.Millisecond) // b is most likely waiting; the outcome does not depend on it
		holding.Store(false)
		unlock()
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		// Mutual exclusion with workers on both replicas.
		var inside atomic.Int32
		race(t, dbs, func(db *store.DB, _ int) (bool, error) {
			for range 5 {
				unlock, err := db.LockNotebook(bg(t), nb)
				if err != nil {
					return false, err
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders across replicas", n)
				}
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				unlock()
			}
			return false, nil
		})
	})
	t.Run("leadership", func(t *testing.T) {
		lead := func(db *store.DB, holder string, ttl time.Duration) bool {
			ok, err := db.TryLead(bg(t), holder, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !lead(a, "a", time.Hour) {
			t.Fatal("a could not lead an empty store")
		}
		for range 3 {
			if lead(b, "b", time.Hour) {
				t.Fatal("b took over before a's time ran out")
			}
		}
		if err := a.Resign(bg(t), "a"); err != nil {
			t.Fatal(err)
		}
		if !lead(b, "b", time.Hour) {
			t.Fatal("b did not take over at once after a resigned")
		}
		if lead(a, "a", time.Hour) {
			t.Fatal("a took back a live leadership")
		}
		lead(b, "b", 50*time.Millisecond) // b stops renewing, as if killed
		deadline := time.Now().Add(20 * time.Second)
		for !lead(a, "a", time.Hour) {
			if time.Now().After(deadline) {
				t.Fatal("a never took over after b's time ran out")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestPostgresConcurrentOpen(t *testing.T) {
	dbs := openReplicas(t, storetest.PostgresURL(t), 4)
	for _, db := range dbs {
		info, err := db.Info(bg(t))
		if err != nil || info.SchemaVersion != store.SchemaVersion() || info.Kind != "postgres" {
			t.Errorf("Info = %+v, %v", info, err)
		}
	}
}

func TestPostgresMigrationsIdempotentAndNewerRefused(t *testing.T) {
	u := storetest.PostgresURL(t)
	for range 2 {
		db := openPG(t, u)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db := openPG(t, u)
	next := store.SchemaVersion() + 1
	if err := store.ForgeSchemaVersion(bg(t), db, next); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := store.Open(bg(t), store.Options{URL: u})
	want := fmt.Sprintf("schema version %d is newer than this leasebot knows (%d); upgrade leasebot", next, store.SchemaVersion())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want %q", err, want)
	}
	t.Log(err)
}

const secret = "Sup3r-S3cret-pw"

// checkSafe fails if err shows the password or the user.
func checkSafe(t *testing.T, err error, user string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, secret) || strings.Contains(msg, url.QueryEscape(secret)) {
		t.Errorf("error shows the password: %s", msg)
	}
	if user != "" && strings.Contains(msg, user) {
		t.Errorf("error shows the user %q: %s", user, msg)
	}
}

// TestPostgresUnreachable needs no server: nothing listens on port 1.
func TestPostgresUnreachable(t *testing.T) {
	u := "postgres://leasebot_user:" + secret + "@127.0.0.1:1/leasebot?sslmode=disable"
	start := time.Now()
	_, err := store.Open(context.Background(), store.Options{URL: u})
	took := time.Since(start)
	want := "store: cannot reach PostgreSQL at 127.0.0.1:1/leasebot: connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("Open = %v, want %q", err, want)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Error("not marked ErrUnavailable")
	}
	if took > 5*time.Second {
		t.Errorf("took %v to fail", took)
	}
	checkSafe(t, err, "leasebot_user")
}

func TestPostgresBadURLs(t *testing.T) {
	for _, u := range []string{
		"postgres://u:" + secret + "@host:notaport/db",
		"postgres://u:" + secret + "@[::1/db",
		"postgresql://u:" + secret + "@127.0.0.1:1/db?sslmode=bogus",
		"postgres://u:" + secret + "@127.0.0.1:1/db?connect_timeout=soon",
		// Passwords not percent-encoded: the parts after / ? # are read as
		// the database, the query or the fragment, the digits as a port.
		"postgres://u:12345/" + secret + "@127.0.0.1:1/db",
		"postgres://u:ab?" + secret + "@127.0.0.1:1/db",
		"postgres://u:ab#" + secret + "@127.0.0.1:1/db",
	} {
		_, err := store.Open(context.Background(), store.Options{URL: u})
		if err == nil {
			t.Errorf("Open(%s) succeeded", u)
			continue
		}
		t.Log(err)
		checkSafe(t, err, "")
	}
}

// TestPostgresErrorsAreSafe provokes errors from a real server with a
// password in the URL and checks that none shows it or the user.
func TestPostgresErrorsAreSafe(t *testing.T) {
	base, err := url.Parse(storetest.RequirePostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	withAuth := func(user, db string) string {
		u := *base
		u.User = url.UserPassword(user, secret)
		if db != "" {
			u.Path = "/" + db
		}
		return u.String()
	}
	var errs []error
	for _, u := range []string{
		withAuth("no_such_role_lb", ""),
		withAuth(base.User.Username(), "no_such_database_lb"),
	} {
		_, err := store.Open(bg(t), store.Options{URL: u})
		if err == nil {
			t.Fatalf("Open succeeded")
		}
		errs = append(errs, err)
	}
	if !strings.Contains(errs[1].Error(), "no_such_database_lb") {
		t.Errorf("error does not name the database: %v", errs[1])
	}
	// A store that works, then fails in the ways a running bot sees.
	good := storetest.PostgresURL(t)
	gu, _ := url.Parse(good)
	gu.User = url.UserPassword(base.User.Username(), secret) // trust auth ignores it
	db := openPG(t, gu.String())
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = db.Claim(cancelled, "k", time.Hour)
	errs = append(errs, err)
	err = db.Update(bg(t), func(tx *store.Tx) error {
		_, err := tx.DecideApproval(1, "bogus", "U", time.Now())
		return err
	})
	errs = append(errs, err)
	db.Close()
	_, err = db.History(bg(t), store.HistoryQuery{})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Error("an expected error did not happen")
			continue
		}
		t.Log(err)
		checkSafe(t, err, "no_such_role_lb")
	}
}

func TestPostgresReconnects(t *testing.T) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.NewProxy(t, u.Host)
	u.Host = p.Addr()
	db := openPG(t, u.String())
	if _, err := db.Claim(bg(t), "before", time.Hour); err != nil {
		t.Fatal(err)
	}

	p.Stop() // the database goes away
	_, err = db.Claim(bg(t), "during", time.Hour)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Claim while the database is away = %v, want ErrUnavailable", err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), p.Addr()) {
		t.Errorf("error does not name %s: %v", p.Addr(), err)
	}
	if _, err := db.LockNotebook(bg(t), "reconnect/"+u.String()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("LockNotebook while the database is away = %v, want ErrUnavailable", err)
	}

	p.Start(t) // it comes back on the same address
	deadline := time.Now().Add(20 * time.Second)
	for {
		won, err := db.Claim(bg(t), "after", time.Hour)
		if err == nil {
			if !won {
				t.Error("claim after reconnecting lost")
			}
			break
		}
		if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Claim after the database came back = %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	unlock, err := db.LockNotebook(bg(t), "reconnect/"+u.String())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

// TestPostgresTerminatedSessions: an administrator (or a restart) ends
// every session; errors on the way are ErrUnavailable, the store then
// carries on, and a lock whose session ended is reported at unlock.
func TestPostgresTerminatedSessions(t *testing.T) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	app := "lb_" + strings.TrimPrefix(u.Query().Get("search_path"), "leasebot_test_")
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	var unlockErr atomic.Value
	db := openPG(t, u.String(), store.Options{Observe: func(op string, err error, _ time.Duration) {
		if op == "unlock_notebook" && err != nil {
			unlockErr.Store(err)
		}
	}})
	unlock, err := db.LockNotebook(bg(t), "terminated/"+app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Claim(bg(t), "warm", time.Hour); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", storetest.RequirePostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRowContext(bg(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil || n < 1 {
		t.Fatalf("terminated %d sessions: %v", n, err)
	}
	// The lock is a row, not a session's: it outlives the sessions.
	other := openPG(t, u.String())
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := other.LockNotebook(short, "terminated/"+app); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("another replica's LockNotebook after the sessions ended = %v, want to wait", err)
	}
	unlock()
	if err, _ := unlockErr.Load().(error); err != nil {
		t.Errorf("unlock after the sessions ended reported %v", err)
	}
	for i := 0; ; i++ {
		_, err := db.Claim(bg(t), "after", time.Hour)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) || i == 3 {
			t.Fatalf("Claim after the sessions ended (try %d) = %v", i, err)
		}
		t.Log(err)
	}
	again, err := db.LockNotebook(bg(t), "terminated/"+app)
	if err != nil {
		t.Fatal(err)
	}
	again()
}

// TestPostgresLockWhenTheNetworkHangs: with every packet to the database
// dropped, a notebook lock that cannot be had is "the store is
// unavailable", not "another change is taking long".
func TestPostgresLockWhenTheNetworkHangs(t *testing.T) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.NewProxy(t, u.Host)
	u.Host = p.Addr()
	db := openPG(t, u.String())
	unlock, err := db.LockNotebook(bg(t), "hang/"+u.Host)
	if err != nil {
		t.Fatal(err)
	}
	unlock() // an idle lock connection, pinged before its next use
	if _, err := db.Claim(bg(t), "hang/"+u.Host, time.Hour); err != nil {
		t.Fatal(err)
	}
	p.Freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = db.LockNotebook(ctx, "hang/"+u.Host)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("LockNotebook with the network hanging = %v, want ErrUnavailable", err)
	}
	t.Log(err)
}

// TestPostgresInspectChangesNothing: `leasebot check` opens the shared
// database with Inspect and must not migrate it under running replicas.
func TestPostgresInspectChangesNothing(t *testing.T) {
	u := storetest.PostgresURL(t) // a fresh, empty schema
	db, err := store.Open(bg(t), store.Options{URL: u, Inspect: true})
	if err != nil {
		t.Fatal(err)
	}
	info, err := db.Info(bg(t))
	db.Close()
	if err != nil || info.SchemaVersion != 0 || info.Pending != store.SchemaVersion() {
		t.Fatalf("Info of an empty database = %+v, %v; want version 0, %d pending", info, err, store.SchemaVersion())
	}
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var tables int
	if err := raw.QueryRowContext(bg(t), `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("inspecting created %d tables", tables)
	}
	openPG(t, u).Close() // migrated by a real open
	db, err = store.Open(bg(t), store.Options{URL: u, Inspect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if info, err := db.Info(bg(t)); err != nil || info.SchemaVersion != store.SchemaVersion() || info.Pending != 0 {
		t.Errorf("Info of a migrated database = %+v, %v", info, err)
	}
}

// A notebook lock is a row that holds no connection: more locks than the
// pool has connections can be held at once, and queries still run.
func TestPostgresLocksHoldNoConnection(t *testing.T) {
	db := openPG(t, storetest.PostgresURL(t))
	var unlocks []func()
	for i := range 40 {
		unlock, err := db.LockNotebook(bg(t), fmt.Sprint("many/", i))
		if err != nil {
			t.Fatalf("lock %d: %v", i, err)
		}
		unlocks = append(unlocks, unlock)
	}
	if _, err := db.Claim(bg(t), "while-locked", time.Hour); err != nil {
		t.Errorf("a query while 40 locks are held: %v", err)
	}
	for _, u := range unlocks {
		u()
	}
}

// A lock row's holder renews it while it holds the lock, so it outlasts
// its time to live; a row whose holder stopped renewing it (a replica that
// died) is taken over once it runs out, and not before.
func TestPostgresLockRowsRunOut(t *testing.T) {
	u := storetest.PostgresURL(t)
	a, b := openPG(t, u), openPG(t, u)
	for _, db := range []*store.DB{a, b} {
		store.SetLockTTL(db, time.Second) // renewed every 333 ms
	}
	unlock, err := a.LockNotebook(bg(t), "held")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	if _, err := b.LockNotebook(short, "held"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a lock held (and renewed) past its time to live was taken: %v", err)
	}
	unlock()
	again, err := b.LockNotebook(bg(t), "held")
	if err != nil {
		t.Fatal(err)
	}
	again()

	// A dead replica's row, running out 500 ms from now.
	if err := store.Exec(bg(t), a, `INSERT INTO notebook_locks (notebook, holder, expires_at)
VALUES ('orphan', 'dead', CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) + 500)`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	unlock, err = b.LockNotebook(bg(t), "orphan")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if waited := time.Since(start); waited < 400*time.Millisecond || waited > 5*time.Second {
		t.Errorf("took over a dead holder's lock after %v, want about 500 ms", waited)
	}
}
