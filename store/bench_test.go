package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/leasebot/leasebot/store"
	"github.com/leasebot/leasebot/store/storetest"
)

// BenchmarkHistory measures History on a large store: 1 000 000 entries
// over 1 000 notebooks (20 000 with -short), seeded once per run. Each
// sub-benchmark reports the median and 99th percentile of one call, the
// figures that matter to someone waiting for /notebook history.
func BenchmarkHistory(b *testing.B) {
	rows := 1_000_000
	if testing.Short() {
		rows = 20_000
	}
	b.Run("sqlite", func(b *testing.B) {
		benchHistory(b, openSQLite(b, filepath.Join(b.TempDir(), "bench.db")), rows)
	})
	b.Run("postgres", func(b *testing.B) {
		benchHistory(b, openPG(b, storetest.PostgresURL(b)), rows)
	})
}

func benchHistory(b *testing.B, db *store.DB, rows int) {
	const notebooks = 1000
	ctx := context.Background()
	start := time.Now()
	if err := store.SeedHistory(ctx, db, rows, notebooks); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d entries in %v", rows, time.Since(start).Round(time.Millisecond))
	nb := func(r *rand.Rand) string { return fmt.Sprint("nb-", r.IntN(notebooks)) }
	// An ID in the newer 90%, so that a page before it is full.
	before := func(r *rand.Rand) int64 { return int64(rows/10) + r.Int64N(int64(rows-rows/10)) }
	cases := []struct {
		name string
		q    func(r *rand.Rand) store.HistoryQuery
	}{
		{"newest", func(*rand.Rand) store.HistoryQuery { return store.HistoryQuery{} }},
		{"page", func(r *rand.Rand) store.HistoryQuery {
			return store.HistoryQuery{Before: before(r)}
		}},
		{"notebook", func(r *rand.Rand) store.HistoryQuery {
			return store.HistoryQuery{Notebooks: []string{nb(r)}, Limit: 10}
		}},
		{"notebook-page", func(r *rand.Rand) store.HistoryQuery {
			return store.HistoryQuery{Notebooks: []string{nb(r)}, Before: before(r)}
		}},
		{"channel-20", func(r *rand.Rand) store.HistoryQuery {
			q := store.HistoryQuery{Limit: 10}
			for range 20 {
				q.Notebooks = append(q.Notebooks, nb(r))
			}
			return q
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			var took []time.Duration
			for b.Loop() {
				q := c.q(r)
				t0 := time.Now()
				es, err := db.History(ctx, q)
				took = append(took, time.Since(t0))
				if err != nil || len(es) == 0 {
					b.Fatalf("History(%+v) = %d entries, %v", q, len(es), err)
				}
			}
			slices.Sort(took)
			pct := func(p float64) float64 {
				return float64(took[int(p*float64(len(took)-1))].Nanoseconds()) / 1e6
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
	// The notebooks of the whole history, what `history` in a channel
	// without "*" asks first.
	b.Run("notebooks", func(b *testing.B) {
		for b.Loop() {
			if nbs, err := db.HistoryNotebooks(ctx); err != nil || len(nbs) != notebooks {
				b.Fatalf("HistoryNotebooks = %d notebooks, %v; want %d", len(nbs), err, notebooks)
			}
		}
	})
}

// BenchmarkOpenWarnings reads the open warnings of 10 000 notebooks, two
// copies each, among 40 000 ended ones: what the watcher does every cycle.
func BenchmarkOpenWarnings(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchOpenWarnings(b, openSQLite(b, filepath.Join(b.TempDir(), "bench.db")))
	})
	b.Run("postgres", func(b *testing.B) {
		benchOpenWarnings(b, openPG(b, storetest.PostgresURL(b)))
	})
}

func benchOpenWarnings(b *testing.B, db *store.DB) {
	const open, ended = 10_000, 40_000
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var ws []store.Warning
	for i := range open + ended {
		w := store.Warning{Notebook: fmt.Sprint("nb-", i%open), Stop: now.Add(time.Duration(i) * time.Minute), Name: "train",
			Posts: []store.Post{
				{Target: "C1", Threshold: time.Hour, Conversation: "C1", Ref: fmt.Sprint(i, ".1")},
				{Target: "@U1", Threshold: time.Hour, Conversation: "D1", Ref: fmt.Sprint(i, ".2")},
			}}
		if i < ended {
			w.Outcome = store.OutcomeStopped
		}
		ws = append(ws, w)
	}
	start := time.Now()
	if err := db.ImportWarnings(ctx, ws); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d warnings in %v", len(ws), time.Since(start).Round(time.Millisecond))
	var took []time.Duration
	for b.Loop() {
		t0 := time.Now()
		got, err := db.OpenWarnings(ctx, now)
		took = append(took, time.Since(t0))
		if err != nil || len(got) != open {
			b.Fatalf("OpenWarnings = %d warnings, %v; want %d", len(got), err, open)
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e6, "p50-ms")
	b.ReportMetric(float64(took[(len(took)-1)*99/100].Nanoseconds())/1e6, "p99-ms")
}
