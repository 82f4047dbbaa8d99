package bench

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
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
	bs := binaries(b)
	b.ResetTimer()
	r, err := ReplyLatency(context.Background(), bs.LeasebotBot(), b.TempDir(), size(20, 400), size(5, 50), DefaultLatency)
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
	r, err := Burst(context.Background(), bs, b.TempDir(), n, over, DefaultLatency)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.AckedIn3s), "acked-in-3s")
	b.ReportMetric(float64(r.Answered), "answered-once")
	b.ReportMetric(ms(r.Ack.Max()), "ack-max-ms")
	b.ReportMetric(ms(r.Reply.P(0.99)), "reply-p99-ms")
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
	bs := binaries(b)
	b.ResetTimer()
	r, err := WatcherReal(context.Background(), bs.LeasebotBot(), b.TempDir(), size(500, 10000), 200, size(0, 3))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Requests[0]), "requests/cycle")
	if len(r.CPU) > 0 {
		b.ReportMetric(ms(r.CPU.P(0.5)), "cpu-ms/cycle")
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
