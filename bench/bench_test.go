package bench

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/store/storetest"
)

// The benchmarks below each run one whole measurement, whatever b.N is, and
// report its figures with ReportMetric. Under -short they are small and only
// correctness (acked within 3s, acked once, answered once, no violation) can
// fail them; timings never do. `go run ./bench/cmd/leasebench` runs all of
// them side by side at full size and prints the README table.

var (
	buildOnce sync.Once
	bins      *Binaries
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds leasebot and the floor once per test binary.
func binaries(b *testing.B) *Binaries {
	b.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "leasebench-"); buildErr == nil {
			bins, buildErr = Build(buildDir, !testing.Short())
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return bins
}

func size(short, full int) int {
	if testing.Short() {
		return short
	}
	return full
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func BenchmarkAckLatency(b *testing.B) {
	bs := binaries(b)
	b.ResetTimer()
	r, err := AckLatency(context.Background(), bs, b.TempDir(), size(20, 300), []string{"-adapter"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ms(r.Leasebot.P(0.5)), "leasebot-p50-ms")
	b.ReportMetric(ms(r.Leasebot.P(0.99)), "leasebot-p99-ms")
	b.ReportMetric(ms(r.Floor.P(0.5)), "floor-p50-ms")
	b.ReportMetric(ms(r.Floor.P(0.99)), "floor-p99-ms")
	b.ReportMetric(float64(r.Leasebot.P(0.99))/float64(r.Floor.P(0.99)), "p99-ratio")
	b.ReportMetric(ms(r.Variants[0].P(0.99)), "adapter-p99-ms")
	b.ReportMetric(ms(r.Reply.P(0.5)), "reply-p50-ms")
	b.ReportMetric(ms(r.Reply.P(0.99)), "reply-p99-ms")
}

func BenchmarkReplyLatency(b *testing.B) {
	benchReply(b, Fleet{Bot: binaries(b).LeasebotBot()})
}

// BenchmarkReplyLatencyPostgres is BenchmarkReplyLatency with leasebot's
// store on PostgreSQL (a schema of its own in LEASEBOT_TEST_DATABASE_URL).
func BenchmarkReplyLatencyPostgres(b *testing.B) {
	benchReply(b, Fleet{Bot: binaries(b).LeasebotBot(), DatabaseURL: storetest.PostgresURL(b)})
}

func benchReply(b *testing.B, f Fleet) {
	b.ResetTimer()
	r, err := ReplyLatency(context.Background(), f, b.TempDir(), size(20, 400), size(5, 50), DefaultLatency)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ms(r.Own.P(0.5)), "own-p50-ms")
	b.ReportMetric(ms(r.Own.P(0.99)), "own-p99-ms")
	b.ReportMetric(ms(r.E2E.P(0.5)), "e2e-p50-ms")
	b.ReportMetric(ms(r.E2E.P(0.99)), "e2e-p99-ms")
	b.ReportMetric(ms(r.CPU), "cpu-ms/cmd")
}

func BenchmarkBurst(b *testing.B) {
	bs := binaries(b)
	b.ResetTimer()
	n, over := size(20, 1000), time.Duration(size(200, 10000))*time.Millisecond
	r, err := Burst(context.Background(), Fleet{Bot: bs.LeasebotBot()}, b.TempDir(), n, over, DefaultLatency, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.AckedIn3s), "acked-in-3s")
	b.ReportMetric(float64(r.Answered), "answered-once")
	b.ReportMetric(ms(r.Ack.Max()), "ack-max-ms")
	b.ReportMetric(ms(r.Reply.P(0.99)), "reply-p99-ms")
}

// BenchmarkReplicas runs 3 leasebot replicas on one PostgreSQL schema, each
// with its own Socket Mode connection to the one fake Slack: a burst of
// commands spread over the connections, 5 % of them redelivered on another
// connection, each acked, answered and carried out exactly once; then the
// own share of an extend with 50 in flight across the replicas.
func BenchmarkReplicas(b *testing.B) {
	bs := binaries(b)
	f := Fleet{Bot: bs.LeasebotBot(), Replicas: 3}
	b.Run("burst", func(b *testing.B) {
		f.DatabaseURL = storetest.PostgresURL(b)
		n, over := size(30, 1000), time.Duration(size(300, 10000))*time.Millisecond
		r, err := Burst(context.Background(), f, b.TempDir(), n, over, DefaultLatency, 0.05)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.AckedIn3s), "acked-in-3s")
		b.ReportMetric(float64(r.Answered), "answered-once")
		b.ReportMetric(float64(r.Once), "carried-out-once")
		b.ReportMetric(float64(r.Redelivered), "redelivered")
		b.ReportMetric(ms(r.Ack.P(0.99)), "ack-p99-ms")
		b.ReportMetric(ms(r.Ack.Max()), "ack-max-ms")
		b.ReportMetric(ms(r.Reply.P(0.99)), "reply-p99-ms")
	})
	b.Run("reply", func(b *testing.B) {
		f.DatabaseURL = storetest.PostgresURL(b)
		benchReply(b, f)
	})
}

// BenchmarkHistoryCommand answers /notebook history through the real
// binary from a SQLite store of 1 000 000 entries (20 000 with -short).
func BenchmarkHistoryCommand(b *testing.B) {
	bs := binaries(b)
	b.ResetTimer()
	r, err := HistoryLatency(context.Background(), bs, b.TempDir(), size(20_000, 1_000_000), 100, size(10, 200), size(2, 20))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ms(r.Channel.P(0.5)), "channel-p50-ms")
	b.ReportMetric(ms(r.Channel.P(0.99)), "channel-p99-ms")
	b.ReportMetric(ms(r.Notebook.P(0.5)), "notebook-p50-ms")
	b.ReportMetric(ms(r.Notebook.P(0.99)), "notebook-p99-ms")
	b.ReportMetric(ms(r.Quiet.P(0.5)), "quiet-p50-ms")
	b.ReportMetric(ms(r.Quiet.P(0.99)), "quiet-p99-ms")
	b.ReportMetric(ms(r.Seed), "seed-ms")
}

func BenchmarkStartup(b *testing.B) {
	bs := binaries(b)
	b.ResetTimer()
	r, err := Startup(context.Background(), bs, b.TempDir(), size(2, 10))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ms(r.Leasebot.P(0.5)), "leasebot-ms")
	b.ReportMetric(ms(r.Floor.P(0.5)), "floor-ms")
	b.ReportMetric(float64(r.LeasebotSize)/(1<<20), "leasebot-MB")
	b.ReportMetric(float64(r.FloorSize)/(1<<20), "floor-MB")
}

func BenchmarkWatcherReal(b *testing.B) {
	benchWatcher(b, Fleet{Bot: binaries(b).LeasebotBot()})
}

// BenchmarkWatcherRealPostgres is BenchmarkWatcherReal with the store on
// PostgreSQL: the leader's cycle.
func BenchmarkWatcherRealPostgres(b *testing.B) {
	benchWatcher(b, Fleet{Bot: binaries(b).LeasebotBot(), DatabaseURL: storetest.PostgresURL(b)})
}

func benchWatcher(b *testing.B, f Fleet) {
	b.ResetTimer()
	interval := time.Duration(size(1, 5)) * time.Second
	r, err := WatcherReal(context.Background(), f, b.TempDir(), size(500, 10000), 200, size(1, 3), interval)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Requests[0]), "requests/cycle")
	if len(r.CPU) > 0 {
		b.ReportMetric(ms(r.CPU.P(0.5)), "cpu-ms/cycle")
	}
	if len(r.Ops) > 0 {
		var ops, writes float64
		for _, o := range r.Ops {
			writes += StoreWrites(o)
			for op, n := range o {
				if !Leadership[op] {
					ops += n
				}
			}
		}
		b.ReportMetric(ops/float64(len(r.Ops)), "store-ops/cycle")
		b.ReportMetric(writes/float64(len(r.Ops)), "store-writes/cycle")
	}
	b.ReportMetric(ms(r.FirstCPU), "first-cycle-cpu-ms")
	b.ReportMetric(r.RSS, "rss-MB")
	b.ReportMetric(r.PeakRSS, "peak-rss-MB")
}

func BenchmarkWatcherOwn(b *testing.B) {
	r, err := WatcherOwn(size(500, 10000), 200, size(1, 10))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.RequestsPerCycle, "requests/cycle")
	b.ReportMetric(ms(r.CPU), "cpu-ms/cycle")
	b.ReportMetric(ms(r.Wall), "wall-ms/cycle")
	b.ReportMetric(float64(r.Allocs), "allocs/cycle")
	b.ReportMetric(float64(r.Bytes)/(1<<20), "alloc-MB/cycle")
}
