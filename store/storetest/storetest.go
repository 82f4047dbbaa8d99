// Package storetest holds the contract every back end of the store must
// meet, so that SQLite and PostgreSQL are held to one set of tests, and the
// helper that gives each PostgreSQL test a database of its own.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop test schemas

	"github.com/leasebot/leasebot/store"
)

// URLVar names the PostgreSQL server the tests use.
const URLVar = "LEASEBOT_TEST_DATABASE_URL"

// RequirePostgres returns LEASEBOT_TEST_DATABASE_URL. Without it the test
// is skipped with a line saying how to run it, except in CI (CI=true),
// where a missing database must not pass silently.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(URLVar)
	if base == "" {
		const how = "set " + URLVar + "=postgres://root@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests"
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but " + URLVar + " is not set; " + how)
		}
		t.Skip(how)
	}
	return base
}

// PostgresURL returns a URL for a fresh, empty schema in the database that
// LEASEBOT_TEST_DATABASE_URL names (see RequirePostgres), dropped when t
// ends: tests in parallel, and runs one after another, never see each
// other's tables.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "leasebot_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", URLVar, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL", URLVar)
	}
	q := u.Query()
	q.Set("search_path", schema) // sent as a run-time parameter by pgx
	u.RawQuery = q.Encode()
	return u.String()
}

// Run tests the store that open returns against the contract of store.API.
// open must return a new, empty store for each call, closed when t ends.
func Run(t *testing.T, open func(t *testing.T) *store.DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"Info", testInfo},
		{"Claim", testClaim},
		{"ClaimConcurrent", testClaimConcurrent},
		{"ClaimExpired", testClaimExpired},
		{"ClaimWarningPost", testClaimWarningPost},
		{"ClaimWarningPostConcurrent", testClaimWarningPostConcurrent},
		{"PostedAndDropped", testPostedAndDropped},
		{"OpenWarnings", testOpenWarnings},
		{"AddWarningCopy", testAddWarningCopy},
		{"EnsureWarning", testEnsureWarning},
		{"ImportWarnings", testImportWarnings},
		{"EndWarning", testEndWarning},
		{"EndWarningConcurrent", testEndWarningConcurrent},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"Keeps", testKeeps},
		{"Approvals", testApprovals},
		{"DecideApprovalConcurrent", testDecideApprovalConcurrent},
		{"History", testHistory},
		{"HistoryManyNotebooks", testHistoryManyNotebooks},
		{"AddHistoryAlone", testAddHistoryAlone},
		{"HistoryNotebooks", testHistoryNotebooks},
		{"StartWatches", testStartWatches},
		{"LockNotebookExcludes", testLockNotebookExcludes},
		{"LockNotebookIndependent", testLockNotebookIndependent},
		{"LockNotebookCancel", testLockNotebookCancel},
		{"Leadership", testLeadership},
		{"Home", testHome},
		{"Prune", testPrune},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// ctx is a context for one test step, bounded so that a hang fails.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// unique makes a notebook ID that no other test uses: PostgreSQL advisory
// locks are shared by every schema of a database.
func unique(t *testing.T, s string) string {
	return t.Name() + "/" + s
}

// at is a fixed time with millisecond precision, as the store keeps it.
func at(h int) time.Time {
	return time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC).Add(time.Duration(h) * time.Hour)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// parallel runs fn n times at once and returns how many returned true.
func parallel(t *testing.T, n int, fn func(i int) (bool, error)) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := fn(i)
			if err != nil {
				errs <- err
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return int(wins.Load())
}

func testInfo(t *testing.T, db *store.DB) {
	info, err := db.Info(ctx(t))
	must(t, err)
	if info.Kind != "sqlite" && info.Kind != "postgres" {
		t.Errorf("Kind = %q", info.Kind)
	}
	if info.Where == "" {
		t.Error("Where is empty")
	}
	if info.SchemaVersion != store.SchemaVersion() || info.SchemaVersion < 1 {
		t.Errorf("SchemaVersion = %d, want %d", info.SchemaVersion, store.SchemaVersion())
	}
	must(t, db.Ping(ctx(t)))
}

func testClaim(t *testing.T, db *store.DB) {
	steps := []struct {
		key  string
		ttl  time.Duration
		want bool
	}{
		{"env-1", time.Hour, true},
		{"env-1", time.Hour, false},
		{"env-2", time.Hour, true},
		{"env-1", time.Minute, false},
		{"env-2", time.Hour, false},
	}
	for i, s := range steps {
		got, err := db.Claim(ctx(t), s.key, s.ttl)
		must(t, err)
		if got != s.want {
			t.Errorf("step %d: Claim(%q) = %v, want %v", i, s.key, got, s.want)
		}
	}
}

func testClaimConcurrent(t *testing.T, db *store.DB) {
	for round := range 3 {
		key := fmt.Sprintf("click-%d", round)
		if n := parallel(t, 16, func(int) (bool, error) { return db.Claim(ctx(t), key, time.Hour) }); n != 1 {
			t.Errorf("%d concurrent claimers of %s won, want 1", n, key)
		}
	}
}

func testClaimExpired(t *testing.T, db *store.DB) {
	won, err := db.Claim(ctx(t), "short", time.Millisecond)
	must(t, err)
	if !won {
		t.Fatal("first claim lost")
	}
	eventually(t, "an expired claim to be claimed again", func() bool {
		won, err := db.Claim(ctx(t), "short", time.Hour)
		must(t, err)
		return won
	})
	if won, _ := db.Claim(ctx(t), "short", time.Hour); won {
		t.Error("a live claim was claimed again")
	}
}

// eventually polls cond until it holds; only a hang makes it fail.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testClaimWarningPost(t *testing.T, db *store.DB) {
	nb, stop := "nb-1", at(0)
	copyOf := func(target string, th time.Duration) store.WarningPost {
		return store.WarningPost{Notebook: nb, Stop: stop, Name: "train", Target: target, Threshold: th}
	}
	steps := []struct {
		name string
		p    store.WarningPost
		want bool
	}{
		{"first copy", copyOf("C1", time.Hour), true},
		{"same copy again", copyOf("C1", time.Hour), false},
		{"larger threshold after a smaller one", copyOf("C1", 2*time.Hour), false},
		{"smaller threshold", copyOf("C1", 15*time.Minute), true},
		{"larger again", copyOf("C1", time.Hour), false},
		{"other target", copyOf("@U1", time.Hour), true},
		{"other stop time", store.WarningPost{Notebook: nb, Stop: at(1), Target: "C1", Threshold: time.Hour}, true},
	}
	for _, s := range steps {
		got, err := db.ClaimWarningPost(ctx(t), s.p)
		must(t, err)
		if got != s.want {
			t.Errorf("%s: ClaimWarningPost = %v, want %v", s.name, got, s.want)
		}
	}
	w, ok, err := db.Warning(ctx(t), nb, stop)
	must(t, err)
	if !ok {
		t.Fatal("warning not found")
	}
	if w.Name != "train" || w.Outcome != store.OutcomeOpen || !w.Stop.Equal(stop) || w.Notebook != nb {
		t.Errorf("warning = %+v", w)
	}
	want := []store.Post{{Target: "C1", Threshold: time.Hour}, {Target: "C1", Threshold: 15 * time.Minute}, {Target: "@U1", Threshold: time.Hour}}
	if fmt.Sprint(w.Posts) != fmt.Sprint(want) {
		t.Errorf("posts = %+v, want %+v", w.Posts, want)
	}
	for _, p := range w.Posts {
		if p.Posted() {
			t.Errorf("%+v is posted before PostedWarning", p)
		}
	}

	// Once the warning has ended, no copy may be claimed.
	must(t, db.Update(ctx(t), func(tx *store.Tx) error {
		_, err := tx.EndWarning(store.WarningOutcome{Notebook: nb, Stop: stop, Outcome: store.OutcomeDismissed, By: "U2"})
		return err
	}))
	if won, err := db.ClaimWarningPost(ctx(t), copyOf("C9", time.Minute)); err != nil || won {
		t.Errorf("claim on an ended warning = %v, %v; want false", won, err)
	}
	if w2, _, _ := db.Warning(ctx(t), nb, stop); len(w2.Posts) != len(want) {
		t.Errorf("a losing claim changed the copies: %+v", w2.Posts)
	}
}

func testClaimWarningPostConcurrent(t *testing.T, db *store.DB) {
	for round := range 4 {
		p := store.WarningPost{Notebook: "nb", Stop: at(round), Name: "x", Target: "C1", Threshold: time.Hour}
		want := 1
		if round%2 == 1 { // the warning exists already: only its row lock keeps claimers apart
			other := p
			other.Target = "C0"
			if _, err := db.ClaimWarningPost(ctx(t), other); err != nil {
				t.Fatal(err)
			}
			want = 2
		}
		if n := parallel(t, 16, func(int) (bool, error) { return db.ClaimWarningPost(ctx(t), p) }); n != 1 {
			t.Errorf("round %d: %d concurrent claimers of one copy won, want 1", round, n)
		}
		w, _, err := db.Warning(ctx(t), p.Notebook, p.Stop)
		must(t, err)
		if len(w.Posts) != want {
			t.Errorf("round %d: %d copies stored, want %d", round, len(w.Posts), want)
		}
	}
}

func testPostedAndDropped(t *testing.T, db *store.DB) {
	a := store.WarningPost{Notebook: "nb", Stop: at(0), Name: "x", Target: "C1", Threshold: time.Hour}
	b := a
	b.Target = "C2"
	for _, p := range []store.WarningPost{a, b} {
		if won, err := db.ClaimWarningPost(ctx(t), p); err != nil || !won {
			t.Fatalf("claim %s = %v, %v", p.Target, won, err)
		}
	}
	must(t, db.PostedWarning(ctx(t), a, "C1", "1700000000.000100"))
	must(t, db.DropWarningPost(ctx(t), b)) // never posted: forgotten
	must(t, db.DropWarningPost(ctx(t), a)) // posted: kept
	w, _, err := db.Warning(ctx(t), "nb", at(0))
	must(t, err)
	if len(w.Posts) != 1 || w.Posts[0].Target != "C1" || w.Posts[0].Ref != "1700000000.000100" || w.Posts[0].Conversation != "C1" || !w.Posts[0].Posted() {
		t.Errorf("posts = %+v, want only C1, posted", w.Posts)
	}
	// The dropped copy may be claimed again by the next cycle.
	if won, err := db.ClaimWarningPost(ctx(t), b); err != nil || !won {
		t.Errorf("claim after drop = %v, %v; want true", won, err)
	}
	unclaimed := a
	unclaimed.Target = "C3"
	if err := db.PostedWarning(ctx(t), unclaimed, "C3", "1"); err == nil {
		t.Error("PostedWarning of a copy never claimed succeeded")
	}
}

func testOpenWarnings(t *testing.T, db *store.DB) {
	post := func(nb string, stop time.Time, target string, posted bool) {
		t.Helper()
		p := store.WarningPost{Notebook: nb, Stop: stop, Name: "name-" + nb, Target: target, Threshold: time.Hour}
		if won, err := db.ClaimWarningPost(ctx(t), p); err != nil || !won {
			t.Fatalf("claim %+v = %v, %v", p, won, err)
		}
		if posted {
			must(t, db.PostedWarning(ctx(t), p, target, "ts-"+nb+target))
		}
	}
	post("b", at(3), "C1", true)
	post("b", at(3), "C2", false) // a claimed copy rides along with its posted sibling
	post("a", at(2), "C1", true)
	post("claimed-only", at(2), "C1", false)
	post("old", at(-1), "C1", true)
	post("ended", at(4), "C1", true)
	must(t, db.Update(ctx(t), func(tx *store.Tx) error {
		_, err := tx.EndWarning(store.WarningOutcome{Notebook: "ended", Stop: at(4), Outcome: store.OutcomeStopped})
		return err
	}))
	ws, err := db.OpenWarnings(ctx(t), at(0))
	must(t, err)
	var got []string
	for _, w := range ws {
		got = append(got, fmt.Sprintf("%s@%d:%d", w.Notebook, w.Stop.Sub(at(0))/time.Hour, len(w.Posts)))
		if w.Name != "name-"+w.Notebook || w.Outcome != store.OutcomeOpen {
			t.Errorf("warning %+v", w)
		}
	}
	if want := "[a@2:1 b@3:2]"; fmt.Sprint(got) != want {
		t.Errorf("OpenWarnings = %v, want %s", got, want)
	}
	if ws, _ := db.OpenWarnings(ctx(t), at(3)); len(ws) != 0 {
		t.Errorf("OpenWarnings(since the last stop) = %+v, want none", ws)
	}
}

func testAddWarningCopy(t *testing.T, db *store.DB) {
	p := store.Post{Target: "C1", Threshold: time.Hour, Conversation: "C1", Ref: "111.1"}
	must(t, db.AddWarningCopy(ctx(t), "nb", at(0), "train", p))
	must(t, db.AddWarningCopy(ctx(t), "nb", at(0), "train", p)) // the same message: no-op
	w, ok, err := db.Warning(ctx(t), "nb", at(0))
	must(t, err)
	if !ok || w.Outcome != store.OutcomeOpen || w.Name != "train" || len(w.Posts) != 1 || w.Posts[0] != p {
		t.Fatalf("after AddWarningCopy: %+v, %v", w, ok)
	}
	// It counts as the copy for C1 at 1h: the watcher does not post it again.
	if won, _ := db.ClaimWarningPost(ctx(t), store.WarningPost{Notebook: "nb", Stop: at(0), Target: "C1", Threshold: time.Hour}); won {
		t.Error("claimed a copy that AddWarningCopy recorded")
	}
	must(t, db.Update(ctx(t), func(tx *store.Tx) error {
		_, err := tx.EndWarning(store.WarningOutcome{Notebook: "nb", Stop: at(0), Outcome: store.OutcomeExtended, By: "U1", Amount: time.Hour, NewStop: at(1)})
		return err
	}))
	dm := store.Post{Target: "@U1", Conversation: "D1", Ref: "222.2"}
	must(t, db.AddWarningCopy(ctx(t), "nb", at(0), "", dm))
	w, _, err = db.Warning(ctx(t), "nb", at(0))
	must(t, err)
	if len(w.Posts) != 2 || w.Posts[1] != dm || w.Outcome != store.OutcomeExtended || w.Name != "train" {
		t.Errorf("copy of an ended warning: %+v", w)
	}
	if err := db.AddWarningCopy(ctx(t), "nb", at(0), "", store.Post{Target: "C1"}); err == nil {
		t.Error("a copy without a message reference was accepted")
	}
}

func testImportWarnings(t *testing.T, db *store.DB) {
	known := store.WarningPost{Notebook: "known", Stop: at(0), Name: "kept", Target: "C1", Threshold: time.Hour}
	if won, err := db.ClaimWarningPost(ctx(t), known); err != nil || !won {
		t.Fatal(won, err)
	}
	imported := []store.Warning{
		{Notebook: "known", Stop: at(0), Name: "replaced?", Outcome: store.OutcomeDismissed,
			Posts: []store.Post{{Target: "C9", Conversation: "C9", Ref: "9"}}},
		{Notebook: "new", Stop: at(1), Name: "fresh", Outcome: store.OutcomeExtended, By: "U1", Amount: 2 * time.Hour, NewStop: at(3),
			Posts: []store.Post{{Target: "C1", Threshold: time.Hour, Conversation: "C1", Ref: "1"}, {Target: "@U2", Threshold: 15 * time.Minute, Conversation: "D2", Ref: "2"}}},
		{Notebook: "open", Stop: at(2), Name: "o", Posts: []store.Post{{Target: "C1", Threshold: time.Hour, Conversation: "C1", Ref: "3"}}},
	}
	must(t, db.ImportWarnings(ctx(t), imported))
	must(t, db.ImportWarnings(ctx(t), imported)) // again: nothing changes
	k, _, err := db.Warning(ctx(t), "known", at(0))
	must(t, err)
	if k.Name != "kept" || k.Outcome != store.OutcomeOpen || len(k.Posts) != 1 || k.Posts[0].Target != "C1" {
		t.Errorf("a known warning was changed by the import: %+v", k)
	}
	for _, want := range imported[1:] {
		got, ok, err := db.Warning(ctx(t), want.Notebook, want.Stop)
		must(t, err)
		if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("imported\n got %+v\nwant %+v", got, want)
		}
	}
	ws, err := db.OpenWarnings(ctx(t), at(-10))
	must(t, err)
	if len(ws) != 1 || ws[0].Notebook != "open" {
		t.Errorf("OpenWarnings after import = %+v, want only the open one with a posted copy", ws)
	}
}

func testEndWarning(t *testing.T, db *store.DB) {
	p := store.WarningPost{Notebook: "nb", Stop: at(0), Name: "x", Target: "C1", Threshold: time.Hour}
	if _, err := db.ClaimWarningPost(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	o := store.WarningOutcome{Notebook: "nb", Stop: at(0), Outcome: store.OutcomeExtended, By: "U1", Amount: 90 * time.Minute, NewStop: at(2)}
	steps := []struct {
		name string
		o    store.WarningOutcome
		want bool
	}{
		{"open", o, true},
		{"already ended", store.WarningOutcome{Notebook: "nb", Stop: at(0), Outcome: store.OutcomeDismissed, By: "U2"}, false},
		{"unknown", store.WarningOutcome{Notebook: "nb", Stop: at(5), Outcome: store.OutcomeMoved}, false},
	}
	for _, s := range steps {
		var got bool
		must(t, db.Update(ctx(t), func(tx *store.Tx) (err error) {
			got, err = tx.EndWarning(s.o)
			return err
		}))
		if got != s.want {
			t.Errorf("%s: EndWarning = %v, want %v", s.name, got, s.want)
		}
	}
	w, _, err := db.Warning(ctx(t), "nb", at(0))
	must(t, err)
	if w.Outcome != o.Outcome || w.By != o.By || w.Amount != o.Amount || !w.NewStop.Equal(o.NewStop) {
		t.Errorf("warning = %+v, want the first outcome %+v", w, o)
	}
	err = db.Update(ctx(t), func(tx *store.Tx) error {
		_, err := tx.EndWarning(store.WarningOutcome{Notebook: "nb", Stop: at(0)})
		return err
	})
	if err == nil {
		t.Error("EndWarning with no outcome succeeded")
	}
}

func testEndWarningConcurrent(t *testing.T, db *store.DB) {
	for round := range 3 {
		p := store.WarningPost{Notebook: "nb", Stop: at(round), Target: "C1", Threshold: time.Hour}
		if _, err := db.ClaimWarningPost(ctx(t), p); err != nil {
			t.Fatal(err)
		}
		n := parallel(t, 8, func(i int) (ended bool, err error) {
			err = db.Update(ctx(t), func(tx *store.Tx) (err error) {
				ended, err = tx.EndWarning(store.WarningOutcome{Notebook: "nb", Stop: at(round), Outcome: store.OutcomeExtended, By: fmt.Sprint("U", i)})
				return err
			})
			return ended, err
		})
		if n != 1 {
			t.Errorf("round %d: %d concurrent EndWarning reported true, want 1", round, n)
		}
	}
}

func testUpdateRollsBack(t *testing.T, db *store.DB) {
	boom := errors.New("boom")
	write := func(tx *store.Tx) {
		must(t, tx.AddHistory(&store.Entry{Notebook: "nb", Verb: "extend", Outcome: "failed"}))
		must(t, tx.SetKeep(store.Keep{Notebook: "nb", Until: at(10)}))
	}
	err := db.Update(ctx(t), func(tx *store.Tx) error { write(tx); return boom })
	if !errors.Is(err, boom) {
		t.Errorf("Update = %v, want fn's error", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a panic in fn did not reach the caller")
			}
		}()
		db.Update(ctx(t), func(tx *store.Tx) error { write(tx); panic("boom") })
	}()
	if es, _ := db.History(ctx(t), store.HistoryQuery{}); len(es) != 0 {
		t.Errorf("rolled back history is there: %+v", es)
	}
	if _, ok, _ := db.Keep(ctx(t), "nb"); ok {
		t.Error("rolled back keep is there")
	}
	// The store still works after both.
	must(t, db.Update(ctx(t), func(tx *store.Tx) error { write(tx); return nil }))
	if es, _ := db.History(ctx(t), store.HistoryQuery{}); len(es) != 1 {
		t.Errorf("history after a committed update: %d entries, want 1", len(es))
	}
}

func testKeeps(t *testing.T, db *store.DB) {
	k1 := store.Keep{Notebook: "b", Name: "train", Until: at(100), By: "U1", Channel: "C1", Set: at(0)}
	k2 := store.Keep{Notebook: "a", Name: "eval", Until: at(50), By: "U2", Channel: "@U2"}
	must(t, db.Update(ctx(t), func(tx *store.Tx) error {
		must(t, tx.SetKeep(k1))
		return tx.SetKeep(k2)
	}))
	got, ok, err := db.Keep(ctx(t), "b")
	must(t, err)
	if !ok || got != k1 {
		t.Errorf("Keep(b) = %+v, %v; want %+v", got, ok, k1)
	}
	if got, _, _ := db.Keep(ctx(t), "a"); got.Set.IsZero() {
		t.Error("a keep without Set time got none")
	}
	must(t, db.Update(ctx(t), func(tx *store.Tx) error {
		must(t, tx.KeepWarned("b", at(72)))
		return tx.KeepWarned("nobody", at(72)) // ended meanwhile: nothing to record
	}))
	k1.Warned = at(72)
	ks, err := db.Keeps(ctx(t))
	must(t, err)
	if len(ks) != 2 || ks[0].Notebook != "a" || ks[1] != k1 {
		t.Errorf("Keeps = %+v", ks)
	}
	renewed := k1
	renewed.Until, renewed.Warned = at(200), time.Time{}
	var first, second bool
	must(t, db.Update(ctx(t), func(tx *store.Tx) (err error) {
		must(t, tx.SetKeep(renewed))
		first, err = tx.EndKeep("a")
		must(t, err)
		second, err = tx.EndKeep("a")
		return err
	}))
	if !first || second {
		t.Errorf("EndKeep = %v then %v, want true then false", first, second)
	}
	ks, _ = db.Keeps(ctx(t))
	if len(ks) != 1 || ks[0] != renewed {
		t.Errorf("Keeps = %+v, want only %+v", ks, renewed)
	}
	if _, ok, _ := db.Keep(ctx(t), "a"); ok {
		t.Error("an ended keep is still there")
	}
	// EndKeepSet ends only the keep set at the time it names.
	again := renewed
	again.Until, again.Set = at(300), at(5)
	must(t, db.Update(ctx(t), func(tx *store.Tx) error { return tx.SetKeep(again) }))
	var stale, current bool
	must(t, db.Update(ctx(t), func(tx *store.Tx) (err error) {
		stale, err = tx.EndKeepSet("b", renewed.Set)
		return err
	}))
	if k, ok, _ := db.Keep(ctx(t), "b"); stale || !ok || k != again {
		t.Errorf("EndKeepSet with the old set time: ended %v, keep now %+v, %v; want the keep set again untouched", stale, k, ok)
	}
	must(t, db.Update(ctx(t), func(tx *store.Tx) (err error) {
		current, err = tx.EndKeepSet("b", again.Set)
		return err
	}))
	if _, ok, _ := db.Keep(ctx(t), "b"); !current || ok {
		t.Errorf("EndKeepSet with the current set time = %v, keep still there: %v", current, ok)
	}
}

func testApprovals(t *testing.T, db *store.DB) {
	a := store.Approval{Channel: "C1", Requester: "U1", Notebook: "nb", Name: "train", Amount: 24 * time.Hour, Created: at(0), Expires: at(1)}
	b := store.Approval{Channel: "C1", Requester: "U2", Notebook: "nb2", Amount: 30 * time.Hour, State: store.ApprovalApproved}
	must(t, db.Update(ctx(t), func(tx *store.Tx) error {
		must(t, tx.CreateApproval(&a))
		must(t, tx.CreateApproval(&b))
		return tx.ApprovalPosted(a.ID, "C1", "123.4")
	}))
	if a.ID <= 0 || b.ID <= a.ID || a.State != store.ApprovalPending || b.State != store.ApprovalPending || b.Created.IsZero() {
		t.Fatalf("created %+v and %+v", a, b)
	}
	a.Conversation, a.Ref = "C1", "123.4"
	got, ok, err := db.Approval(ctx(t), a.ID)
	must(t, err)
	if !ok || got != a {
		t.Errorf("Approval = %+v, want %+v", got, a)
	}
	if _, ok, err := db.Approval(ctx(t), b.ID+1000); ok || err != nil {
		t.Errorf("Approval(unknown) = %v, %v", ok, err)
	}
	steps := []struct {
		name  string
		id    int64
		state string
		want  bool
		err   bool
	}{
		{"approve", a.ID, store.ApprovalApproved, true, false},
		{"deny after approve", a.ID, store.ApprovalDenied, false, false},
		{"unknown", b.ID + 1000, store.ApprovalDenied, false, false},
		{"not a decision", b.ID, store.ApprovalPending, false, true},
		{"not a decision either", b.ID, "maybe", false, true},
	}
	for _, s := range steps {
		var got bool
		err := db.Update(ctx(t), func(tx *store.Tx) (err error) {
			got, err = tx.DecideApproval(s.id, s.state, "U9", at(1))
			return err
		})
		if (err != nil) != s.err || got != s.want {
			t.Errorf("%s: DecideApproval = %v, %v; want %v, error %v", s.name, got, err, s.want, s.err)
		}
	}
	got, _, _ = db.Approval(ctx(t), a.ID)
	if got.State != store.ApprovalApproved || got.Decider != "U9" || !got.Decided.Equal(at(1)) {
		t.Errorf("decided approval = %+v", got)
	}
	pending, err := db.PendingApprovals(ctx(t))
	must(t, err)
	if len(pending) != 1 || pending[0].ID != b.ID {
		t.Errorf("PendingApprovals = %+v, want only %d", pending, b.ID)
	}
	err = db.Update(ctx(t), func(tx *store.Tx) error { return tx.ApprovalPosted(b.ID+1000, "C", "1") })
	if err == nil {
		t.Error("ApprovalPosted of an unknown request succeeded")
	}
}

func testDecideApprovalConcurrent(t *testing.T, db *store.DB) {
	a := store.Approval{Channel: "C1", Requester: "U1", Notebook: "nb", Amount: time.Hour}
	must(t, db.Update(ctx(t), func(tx *store.Tx) error { return tx.CreateApproval(&a) }))
	states := []string{store.ApprovalApproved, store.ApprovalDenied, store.ApprovalExpired}
	var winner atomic.Value
	n := parallel(t, 9, func(i int) (decided bool, err error) {
		err = db.Update(ctx(t), func(tx *store.Tx) (err error) {
			decided, err = tx.DecideApproval(a.ID, states[i%3], fmt.Sprint("U", i), at(0))
			return err
		})
		if decided {
			winner.Store(fmt.Sprint("U", i))
		}
		return decided, err
	})
	if n != 1 {
		t.Fatalf("%d concurrent deciders got true, want 1", n)
	}
	got, _, _ := db.Approval(ctx(t), a.ID)
	if got.Decider != winner.Load() {
		t.Errorf("decider = %q, but %q was told it decided", got.Decider, winner.Load())
	}
}

func addHistory(t *testing.T, db *store.DB, es []store.Entry) []store.Entry {
	t.Helper()
	must(t, db.Update(ctx(t), func(tx *store.Tx) error {
		for i := range es {
			if err := tx.AddHistory(&es[i]); err != nil {
				return err
			}
		}
		return nil
	}))
	return es
}

func ids(es []store.Entry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testHistory(t *testing.T, db *store.DB) {
	var es []store.Entry
	for i := range 130 {
		es = append(es, store.Entry{At: at(i), User: "U1", Channel: "C1", Via: "channel", Notebook: fmt.Sprint("nb-", i%3),
			NotebookName: "train", Verb: "extend", Requested: "2h", OldStop: at(i + 1), NewStop: at(i + 3),
			Outcome: "extended", Code: "", Approver: ""})
	}
	es[7].Code, es[7].Approver, es[7].OldStop = "ModelArts.6309", "U5", time.Time{}
	es = addHistory(t, db, es)
	for i := 1; i < len(es); i++ {
		if es[i].ID <= es[i-1].ID {
			t.Fatalf("IDs do not increase: %d then %d", es[i-1].ID, es[i].ID)
		}
	}
	newest := func(filter func(store.Entry) bool, before int64, n int) []int64 {
		var out []int64
		for i := len(es) - 1; i >= 0 && len(out) < n; i-- {
			if filter(es[i]) && (before == 0 || es[i].ID < before) {
				out = append(out, es[i].ID)
			}
		}
		return out
	}
	all := func(store.Entry) bool { return true }
	only := func(nbs ...string) func(store.Entry) bool {
		return func(e store.Entry) bool {
			for _, nb := range nbs {
				if e.Notebook == nb {
					return true
				}
			}
			return false
		}
	}
	cases := []struct {
		name string
		q    store.HistoryQuery
		want []int64
	}{
		{"default limit", store.HistoryQuery{}, newest(all, 0, 50)},
		{"limit", store.HistoryQuery{Limit: 5}, newest(all, 0, 5)},
		{"before", store.HistoryQuery{Before: es[100].ID, Limit: 10}, newest(all, es[100].ID, 10)},
		{"one notebook", store.HistoryQuery{Notebooks: []string{"nb-1"}, Limit: 7}, newest(only("nb-1"), 0, 7)},
		{"one notebook before", store.HistoryQuery{Notebooks: []string{"nb-1"}, Before: es[50].ID}, newest(only("nb-1"), es[50].ID, 50)},
		{"two notebooks", store.HistoryQuery{Notebooks: []string{"nb-2", "nb-0"}, Limit: 9}, newest(only("nb-0", "nb-2"), 0, 9)},
		{"duplicates in the filter", store.HistoryQuery{Notebooks: []string{"nb-2", "nb-2"}, Limit: 4}, newest(only("nb-2"), 0, 4)},
		{"unknown notebook", store.HistoryQuery{Notebooks: []string{"nope"}}, nil},
		{"empty filter", store.HistoryQuery{Notebooks: []string{}}, nil},
		{"before the first", store.HistoryQuery{Before: es[0].ID}, nil},
	}
	for _, c := range cases {
		got, err := db.History(ctx(t), c.q)
		must(t, err)
		if fmt.Sprint(ids(got)) != fmt.Sprint(c.want) {
			t.Errorf("%s: IDs %v, want %v", c.name, ids(got), c.want)
		}
	}
	// Keyset paging visits every entry once, newest first.
	var seen []int64
	for before := int64(0); ; {
		page, err := db.History(ctx(t), store.HistoryQuery{Notebooks: []string{"nb-0", "nb-1"}, Before: before, Limit: 11})
		must(t, err)
		if len(page) == 0 {
			break
		}
		seen = append(seen, ids(page)...)
		before = page[len(page)-1].ID
	}
	if want := newest(only("nb-0", "nb-1"), 0, len(es)); fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("paging saw %v, want %v", seen, want)
	}
	// Every field comes back.
	got, err := db.History(ctx(t), store.HistoryQuery{Before: es[8].ID, Limit: 1})
	must(t, err)
	if len(got) != 1 || got[0] != es[7] {
		t.Errorf("entry\n got %+v\nwant %+v", got, es[7])
	}
}

// An entry added on its own is numbered and read back like one added in a
// transaction, in the order written.
func testAddHistoryAlone(t *testing.T, db *store.DB) {
	first := addHistory(t, db, []store.Entry{{At: at(1), User: "U1", Notebook: "nb", Verb: "extend", Outcome: "extended"}})[0]
	alone := store.Entry{User: "U2", Channel: "C1", Via: "channel", Notebook: "nb", NotebookName: "train", Verb: "extend",
		Requested: "2h", OldStop: at(2), NewStop: at(4), Outcome: "refused", Code: "over_limit", Approver: "U3"}
	before := time.Now().Add(-time.Second)
	must(t, db.AddHistory(ctx(t), &alone))
	last := addHistory(t, db, []store.Entry{{At: at(3), User: "U1", Notebook: "nb", Verb: "extend", Outcome: "extended"}})[0]
	if !(first.ID < alone.ID && alone.ID < last.ID) {
		t.Fatalf("IDs %d, %d, %d: not in the order written", first.ID, alone.ID, last.ID)
	}
	if alone.At.Before(before) {
		t.Errorf("an entry without a time was given %v, not now", alone.At)
	}
	got, err := db.History(ctx(t), store.HistoryQuery{Notebooks: []string{"nb"}})
	must(t, err)
	alone.At = alone.At.Truncate(time.Millisecond)
	if len(got) != 3 || got[1].ID != alone.ID || !got[1].At.Equal(alone.At) {
		t.Fatalf("history = %+v", got)
	}
	got[1].At = alone.At
	if got[1] != alone {
		t.Errorf("read back %+v, want %+v", got[1], alone)
	}
}

// Start watches are listed oldest first, recorded once per message, ended
// once, and pruned after a day.
func testStartWatches(t *testing.T, db *store.DB) {
	a := store.StartWatch{Conversation: "C1", Ref: "1.1", Notebook: "nb-a", Name: "a", User: "U1", Started: at(2)}
	b := store.StartWatch{Conversation: "C1", Ref: "1.2", Notebook: "nb-b", Name: "b", User: "U2", Started: at(1)}
	for _, w := range []store.StartWatch{a, b, a} {
		must(t, db.AddStartWatch(ctx(t), w))
	}
	got, err := db.StartWatches(ctx(t))
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint([]store.StartWatch{b, a}) {
		t.Fatalf("StartWatches = %+v, want %+v", got, []store.StartWatch{b, a})
	}
	for i, want := range []bool{true, false} {
		if ended, err := db.EndStartWatch(ctx(t), "C1", "1.1"); err != nil || ended != want {
			t.Errorf("EndStartWatch #%d = %v, %v; want %v", i+1, ended, err, want)
		}
	}
	must(t, db.Prune(ctx(t), at(1).Add(25*time.Hour), 90))
	if got, err := db.StartWatches(ctx(t)); err != nil || len(got) != 0 {
		t.Errorf("after pruning a day later: %+v, %v", got, err)
	}
}

// HistoryNotebooks names each notebook of the history once, with its
// newest entry's name, however many entries it has.
func testHistoryNotebooks(t *testing.T, db *store.DB) {
	if got, err := db.HistoryNotebooks(ctx(t)); err != nil || len(got) != 0 {
		t.Fatalf("HistoryNotebooks of an empty history = %v, %v", got, err)
	}
	var es []store.Entry
	for i := range 300 {
		es = append(es, store.Entry{At: at(i), Notebook: fmt.Sprint("nb-", i%7), NotebookName: fmt.Sprint("name-", i), Verb: "extend"})
	}
	es = append(es, store.Entry{At: at(400), Verb: "extend", Outcome: "refused", Code: "syntax"}) // no notebook
	addHistory(t, db, es)
	got, err := db.HistoryNotebooks(ctx(t))
	must(t, err)
	want := map[string]string{}
	for i := 293; i < 300; i++ {
		want[fmt.Sprint("nb-", i%7)] = fmt.Sprint("name-", i)
	}
	seen := map[string]string{}
	for _, n := range got {
		if _, dup := seen[n.ID]; dup {
			t.Errorf("%s named twice", n.ID)
		}
		seen[n.ID] = n.Name
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("HistoryNotebooks = %v, want %v", seen, want)
	}
}

func testHistoryManyNotebooks(t *testing.T, db *store.DB) {
	var es []store.Entry
	var nbs []string
	for i := range 260 {
		nbs = append(nbs, fmt.Sprint("nb-", i))
		es = append(es, store.Entry{Notebook: fmt.Sprint("nb-", (i*7)%260), Verb: "extend"})
	}
	es = addHistory(t, db, es)
	got, err := db.History(ctx(t), store.HistoryQuery{Notebooks: nbs, Limit: 30})
	must(t, err)
	want := ids(es)
	sort.Slice(want, func(i, j int) bool { return want[i] > want[j] })
	if fmt.Sprint(ids(got)) != fmt.Sprint(want[:30]) {
		t.Errorf("IDs %v, want %v", ids(got), want[:30])
	}
}

func testLockNotebookExcludes(t *testing.T, db *store.DB) {
	nb := unique(t, "nb")
	var inside, entered atomic.Int32
	const workers, rounds = 8, 15
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				unlock, err := db.LockNotebook(ctx(t), nb)
				if err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders of one notebook lock", n)
				}
				entered.Add(1)
				for range 20 {
					runtime.Gosched()
				}
				inside.Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if entered.Load() != workers*rounds {
		t.Errorf("entered %d times, want %d", entered.Load(), workers*rounds)
	}
}

func testLockNotebookIndependent(t *testing.T, db *store.DB) {
	unlockA, err := db.LockNotebook(ctx(t), unique(t, "a"))
	must(t, err)
	defer unlockA()
	// Would block until the test's deadline if B waited for A.
	unlockB, err := db.LockNotebook(ctx(t), unique(t, "b"))
	must(t, err)
	unlockB()
}

func testLockNotebookCancel(t *testing.T, db *store.DB) {
	nb := unique(t, "nb")
	unlock, err := db.LockNotebook(ctx(t), nb)
	must(t, err)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.LockNotebook(done, unique(t, "free")); !errors.Is(err, context.Canceled) {
		t.Errorf("LockNotebook with a cancelled context = %v, want context.Canceled", err)
	}

	waitCtx, cancelWait := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		u, err := db.LockNotebook(waitCtx, nb)
		if err == nil {
			u()
		}
		result <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it start waiting; the outcome does not depend on it
	cancelWait()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("waiting LockNotebook after cancel = %v, want context.Canceled", err)
	}
	deadline, cancelDeadline := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelDeadline()
	if _, err := db.LockNotebook(deadline, nb); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("LockNotebook past its deadline = %v, want context.DeadlineExceeded (a busy lock, not an unavailable store)", err)
	}
	unlock()
	unlock() // a second call does nothing
	again, err := db.LockNotebook(ctx(t), nb)
	must(t, err)
	again()
}

func testLeadership(t *testing.T, db *store.DB) {
	lead := func(holder string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := db.TryLead(ctx(t), holder, ttl)
		must(t, err)
		if got != want {
			t.Fatalf("TryLead(%s, %v) = %v, want %v", holder, ttl, got, want)
		}
	}
	lead("a", time.Hour, true)
	lead("b", time.Hour, false)
	lead("a", time.Hour, true) // renew
	must(t, db.Resign(ctx(t), "b"))
	lead("b", time.Hour, false) // b did not lead: its resignation changed nothing
	must(t, db.Resign(ctx(t), "a"))
	lead("b", time.Hour, true) // at once after a resigned
	lead("a", time.Hour, false)
	lead("b", time.Millisecond, true) // renewed for a moment only
	eventually(t, "leadership to pass after its time ran out", func() bool {
		got, err := db.TryLead(ctx(t), "a", time.Hour)
		must(t, err)
		return got
	})
	lead("b", time.Hour, false)
	if _, err := db.TryLead(ctx(t), "", time.Hour); err == nil {
		t.Error("TryLead with no holder succeeded")
	}
}

func testHome(t *testing.T, db *store.DB) {
	has, err := db.HasHome(ctx(t), "U1")
	must(t, err)
	if has {
		t.Error("HasHome before HomeOpened")
	}
	must(t, db.HomeOpened(ctx(t), "U1"))
	must(t, db.HomeOpened(ctx(t), "U1"))
	if has, _ := db.HasHome(ctx(t), "U1"); !has {
		t.Error("HasHome after HomeOpened = false")
	}
	if has, _ := db.HasHome(ctx(t), "U2"); has {
		t.Error("HasHome of another user = true")
	}
}

func testPrune(t *testing.T, db *store.DB) {
	now := at(1000)
	day := 24 * time.Hour
	for _, stop := range []time.Time{now.Add(-8 * day), now.Add(-6 * day)} {
		p := store.WarningPost{Notebook: "nb", Stop: stop, Target: "C1", Threshold: time.Hour}
		if _, err := db.ClaimWarningPost(ctx(t), p); err != nil {
			t.Fatal(err)
		}
		must(t, db.PostedWarning(ctx(t), p, "C1", "1"))
	}
	es := addHistory(t, db, []store.Entry{{At: now.Add(-91 * day), Verb: "old"}, {At: now.Add(-89 * day), Verb: "recent"}})
	var oldDecided, oldPending, recentDecided store.Approval
	must(t, db.Update(ctx(t), func(tx *store.Tx) error {
		for _, a := range []*store.Approval{&oldDecided, &oldPending, &recentDecided} {
			a.Created = now.Add(-91 * day)
			if a == &recentDecided {
				a.Created = now.Add(-1 * day)
			}
			must(t, tx.CreateApproval(a))
		}
		_, err := tx.DecideApproval(oldDecided.ID, store.ApprovalDenied, "U", now)
		must(t, err)
		_, err = tx.DecideApproval(recentDecided.ID, store.ApprovalApproved, "U", now)
		return err
	}))
	must(t, db.Prune(ctx(t), now, 90))

	if _, ok, _ := db.Warning(ctx(t), "nb", now.Add(-8*day)); ok {
		t.Error("a warning 8 days past its stop survived")
	}
	if w, ok, _ := db.Warning(ctx(t), "nb", now.Add(-6*day)); !ok || len(w.Posts) != 1 {
		t.Errorf("a warning 6 days past its stop was pruned: %+v, %v", w, ok)
	}
	if got, _ := db.History(ctx(t), store.HistoryQuery{}); fmt.Sprint(ids(got)) != fmt.Sprint([]int64{es[1].ID}) {
		t.Errorf("history after prune: %+v", got)
	}
	for _, c := range []struct {
		a    store.Approval
		want bool
	}{{oldDecided, false}, {oldPending, true}, {recentDecided, true}} {
		if _, ok, _ := db.Approval(ctx(t), c.a.ID); ok != c.want {
			t.Errorf("approval %d (created %v) present = %v, want %v", c.a.ID, c.a.Created, ok, c.want)
		}
	}
	// historyDays <= 0 keeps history.
	must(t, db.Prune(ctx(t), now.Add(1000*day), 0))
	if got, _ := db.History(ctx(t), store.HistoryQuery{}); len(got) != 1 {
		t.Errorf("Prune with historyDays 0 deleted history: %+v", got)
	}
}

func testEnsureWarning(t *testing.T, db *store.DB) {
	nb, stop := unique(t, "nb"), time.UnixMilli(1_800_000_000_000)
	w, err := db.EnsureWarning(ctx(t), nb, stop, "named")
	if err != nil {
		t.Fatal(err)
	}
	if w.Notebook != nb || !w.Stop.Equal(stop) || w.Outcome != store.OutcomeOpen || len(w.Posts) != 0 || w.Name != "named" {
		t.Fatalf("EnsureWarning = %+v", w)
	}
	// It is the same warning afterwards: ending it is seen, and ensuring it again keeps its outcome.
	err = db.Update(ctx(t), func(tx *store.Tx) error {
		ended, err := tx.EndWarning(store.WarningOutcome{Notebook: nb, Stop: stop, Outcome: store.OutcomeExtended, By: "U1"})
		if err == nil && !ended {
			t.Error("the ensured warning was not open")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w, err = db.EnsureWarning(ctx(t), nb, stop, "other")
	if err != nil || w.Outcome != store.OutcomeExtended || w.By != "U1" || w.Name != "named" {
		t.Errorf("ensuring an ended warning: %+v, %v", w, err)
	}
	// A warning with no posted copy is not among the open ones to update.
	other := unique(t, "bare")
	if _, err := db.EnsureWarning(ctx(t), other, stop, ""); err != nil {
		t.Fatal(err)
	}
	open, err := db.OpenWarnings(ctx(t), stop.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range open {
		if o.Notebook == other {
			t.Error("a warning without copies is listed as open")
		}
	}
}

// Proxy forwards TCP connections to a database: stopping it looks to a
// client like the database going away, starting it again like it coming
// back, without touching the shared server; freezing it like the network
// dropping every packet. It listens on the same address every time it
// starts.
type Proxy struct {
	mu      sync.Mutex
	addr    string
	target  string
	ln      net.Listener
	conns   []net.Conn // client sides, and connections accepted while frozen
	servers []net.Conn // the database sides
	frozen  bool
}

// NewProxy starts a proxy to target (host:port), stopped when t ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{addr: "127.0.0.1:0", target: target}
	p.Start(t)
	t.Cleanup(p.Stop)
	return p
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Start listens (again) and forwards new connections.
func (p *Proxy) Start(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr, p.frozen = ln, ln.Addr().String(), false
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			frozen := p.frozen
			if frozen {
				p.conns = append(p.conns, c) // accepted, never answered
			}
			p.mu.Unlock()
			if frozen {
				continue
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns, p.servers = append(p.conns, c), append(p.servers, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				io.Copy(c, s)
				p.mu.Lock()
				frozen := p.frozen
				p.mu.Unlock()
				if !frozen {
					c.Close()
				}
			}()
		}
	}()
}

// Freeze stops forwarding without closing anything a client holds: every
// request from then on, on a connection old or new, gets no answer at all.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
	for _, s := range p.servers {
		s.Close()
	}
	p.servers = nil
}

// Stop closes the listener and every forwarded connection.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
	}
	for _, c := range append(p.conns, p.servers...) {
		c.Close()
	}
	p.conns, p.servers = nil, nil
}
