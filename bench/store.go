package bench

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop schemas
	_ "modernc.org/sqlite"             // the "sqlite" driver, to seed a store file in bulk

	"github.com/leasebot/leasebot/store"
)

// PostgresVar names the PostgreSQL server the PostgreSQL figures use, the
// same variable as the store's own tests.
const PostgresVar = "LEASEBOT_TEST_DATABASE_URL"

// PostgresSkip is the line shown in place of a PostgreSQL figure when
// PostgresVar is not set.
const PostgresSkip = "skipped: set " + PostgresVar + "=postgres://root@127.0.0.1:5432/test?sslmode=disable to measure PostgreSQL"

// Schema is a fresh, empty schema in the database PostgresVar names, so
// that runs never see each other's tables: URL selects it (search_path as
// a URL query parameter, sent by pgx as a run-time parameter).
type Schema struct {
	URL  string
	name string
	base string
}

// NewSchema creates a schema of its own in the database base names.
func NewSchema(ctx context.Context, base string) (*Schema, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &Schema{name: "leasebench_" + hex.EncodeToString(b[:]), base: base}
	if err := s.exec(ctx, "CREATE SCHEMA "+s.name); err != nil {
		return nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s is not a URL", PostgresVar), s.Drop())
	}
	q := u.Query()
	q.Set("search_path", s.name)
	u.RawQuery = q.Encode()
	s.URL = u.String()
	return s, nil
}

// Drop drops the schema and everything in it.
func (s *Schema) Drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.exec(ctx, "DROP SCHEMA IF EXISTS "+s.name+" CASCADE")
}

func (s *Schema) exec(ctx context.Context, stmt string) error {
	db, err := sql.Open("pgx", s.base)
	if err != nil {
		return fmt.Errorf("open %s: %w", PostgresVar, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s (%s): %w", stmt, PostgresVar, err)
	}
	return nil
}

// PostgresVersion is the server's version string, e.g. "PostgreSQL 15.20".
func PostgresVersion(ctx context.Context, base string) (string, error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", PostgresVar, err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", fmt.Errorf("server_version: %w", err)
	}
	return "PostgreSQL " + strings.Fields(v)[0], nil
}

// SeedHistory fills the SQLite store at path (created if new) with rows
// history entries about the notebooks ids (names alike), round-robin, one
// second apart and ending now, so that none is old enough to be pruned, and
// returns how long that took. The store's own Open creates the file and its
// schema; the rows then go in with one INSERT … SELECT over a recursive
// sequence on a plain connection to the file (the store's API, one
// INSERT per entry, takes ~25 s for a million); the store is opened again
// afterwards to check the newest entry.
func SeedHistory(ctx context.Context, path string, rows int, ids, names []string) (time.Duration, error) {
	start := time.Now()
	db, err := store.Open(ctx, store.Options{Path: path})
	if err != nil {
		return 0, fmt.Errorf("seed history: %w", err)
	}
	if err := db.Close(); err != nil {
		return 0, fmt.Errorf("seed history: %w", err)
	}
	if err := bulkHistory(ctx, path, rows, ids, names, time.Now().Truncate(time.Second)); err != nil {
		return 0, fmt.Errorf("seed history: %w", err)
	}
	if db, err = store.Open(ctx, store.Options{Path: path}); err != nil {
		return 0, fmt.Errorf("seed history: reopen: %w", err)
	}
	defer db.Close()
	es, err := db.History(ctx, store.HistoryQuery{Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("seed history: read back: %w", err)
	}
	if len(es) != 1 || es[0].ID != int64(rows) || es[0].Notebook != ids[(rows-1)%len(ids)] {
		return 0, fmt.Errorf("seed history: the newest entry is %+v, want ID %d", es, rows)
	}
	return time.Since(start), nil
}

// bulkHistory inserts the entries of SeedHistory in one transaction.
func bulkHistory(ctx context.Context, path string, rows int, ids, names []string, now time.Time) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE seed_nb (k INTEGER PRIMARY KEY, id TEXT NOT NULL, name TEXT NOT NULL)`); err != nil {
		return err
	}
	for k := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO seed_nb VALUES ($1, $2, $3)`, k, ids[k], names[k]); err != nil {
			return err
		}
	}
	first := now.Add(-time.Duration(rows) * time.Second).UnixMilli()
	// Entry i (0-based) is at first + i s, about notebook i mod len(ids).
	if _, err := tx.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $1)
INSERT INTO history (at_ms, user_id, channel, via, notebook, notebook_name, verb, requested, old_stop_ms, new_stop_ms, outcome)
SELECT $2 + i * 1000, printf('U%05d', i % 50), $3, 'channel', nb.id, nb.name, 'extend', '1h',
       $2 + i * 1000 + 3600000, $2 + i * 1000 + 7200000, 'extended'
FROM s JOIN seed_nb nb ON nb.k = s.i % $4`, rows, first, Channel, len(ids)); err != nil {
		return err
	}
	return tx.Commit()
}

// adminAddr is the address of p's admin listener, read from the line
// leasebot logs when it is up (it was started on port 0).
func (p *Proc) adminAddr() (string, error) {
	if p.addr != "" {
		return p.addr, nil
	}
	if !p.admin {
		return "", errors.New("started without an admin listener")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.Open(p.stderr)
		if err != nil {
			return "", err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "admin listener up" && line.Addr != "" {
				f.Close()
				p.addr = line.Addr
				return p.addr, nil
			}
		}
		f.Close()
		if time.Now().After(deadline) {
			return "", errors.New("no \"admin listener up\" line in the log within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StoreOps reads leasebot_store_operations_total from p's /metrics: how
// many store operations of each kind (op label) the process has made.
func (p *Proc) StoreOps() (map[string]float64, error) {
	m, err := p.metrics(`leasebot_store_operations_total{op="`)
	if err != nil {
		return nil, fmt.Errorf("store operations: %w", err)
	}
	return m[`leasebot_store_operations_total{op="`], nil
}

// OpStat is the count and total time of one kind of store operation.
type OpStat struct {
	N    float64
	Time time.Duration
}

// StoreTimes reads the store's latency histogram from p's /metrics: count
// and total time of every kind of store operation so far.
func (p *Proc) StoreTimes() (map[string]OpStat, error) {
	const sum, count = `leasebot_store_operation_duration_seconds_sum{op="`, `leasebot_store_operation_duration_seconds_count{op="`
	m, err := p.metrics(sum, count)
	if err != nil {
		return nil, fmt.Errorf("store latency: %w", err)
	}
	out := map[string]OpStat{}
	for op, n := range m[count] {
		out[op] = OpStat{N: n, Time: time.Duration(m[sum][op] * float64(time.Second))}
	}
	return out, nil
}

// metrics reads p's /metrics and returns, for each prefix (a metric name
// and `{op="`), the value of each series by its op label.
func (p *Proc) metrics(prefixes ...string) (map[string]map[string]float64, error) {
	addr, err := p.adminAddr()
	if err != nil {
		return nil, err
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d %w", resp.StatusCode, err)
	}
	out := map[string]map[string]float64{}
	for _, prefix := range prefixes {
		out[prefix] = map[string]float64{}
	}
	for _, line := range strings.Split(string(body), "\n") {
		for _, prefix := range prefixes {
			rest, ok := strings.CutPrefix(line, prefix)
			if !ok {
				continue
			}
			op, value, ok := strings.Cut(rest, `"} `)
			if !ok {
				continue
			}
			if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
				out[prefix][op] = v
			}
		}
	}
	return out, nil
}

// StoreTimesOf sums StoreTimes over processes.
func StoreTimesOf(ps []*Proc) (map[string]OpStat, error) {
	out := map[string]OpStat{}
	for _, p := range ps {
		m, err := p.StoreTimes()
		if err != nil {
			return nil, err
		}
		for op, s := range m {
			o := out[op]
			o.N += s.N
			o.Time += s.Time
			out[op] = o
		}
	}
	return out, nil
}

// StoreSummary formats per-command store operations (after − before, over
// n commands) as "claim 1.00× 0.41 ms, …": how many of each per command and
// their mean time, busiest first.
func StoreSummary(after, before map[string]OpStat, n int) string {
	type item struct {
		op   string
		per  float64
		mean time.Duration
		tot  time.Duration
	}
	var items []item
	for op, a := range after {
		b := before[op]
		if dn := a.N - b.N; dn > 0 {
			dt := a.Time - b.Time
			items = append(items, item{op, dn / float64(n), time.Duration(float64(dt) / dn), dt})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(b.tot, a.tot) })
	var parts []string
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%s %.2f× %s", it.op, it.per, Ms(it.mean)))
	}
	return strings.Join(parts, ", ")
}

// Writes are the store operations that change something; TryLead and
// Resign, which also write, are leadership, counted on their own.
var Writes = map[string]bool{
	"claim": true, "claim_warning_post": true, "posted_warning": true, "drop_warning_post": true,
	"add_warning_copy": true, "ensure_warning": true, "import_warnings": true, "update": true,
	"add_history": true, "end_warning": true, "set_keep": true, "end_keep": true, "keep_warned": true,
	"create_approval": true, "approval_posted": true, "decide_approval": true, "home_opened": true, "prune": true,
}

// Leadership are the store operations of the leader election.
var Leadership = map[string]bool{"try_lead": true, "resign": true}

// OpsDiff is after − before, leaving out operations that did not happen.
func OpsDiff(after, before map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for op, v := range after {
		if n := v - before[op]; n != 0 {
			d[op] = n
		}
	}
	return d
}
