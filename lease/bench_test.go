package lease_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
)

// BenchmarkList10000 lists 10 000 notebooks from the simulator over HTTP,
// AK/SK signing and verification included.
func BenchmarkList10000(b *testing.B) {
	const n = 10000
	var requests atomic.Int64
	f := setup(b, with{cfg: func(_ *fixture, c *lease.Config) {
		c.Observe = func(string, int, time.Duration) { requests.Add(1) }
	}})
	for i := range n {
		f.sim.AddRunning(fmt.Sprintf("nb-%05d", i), time.Duration(i)*time.Minute+time.Hour)
	}
	ctx := context.Background()
	listings := 0
	b.ReportAllocs()
	for b.Loop() {
		all, err := f.c.List(ctx, lease.ListOptions{})
		if err != nil || len(all) != n {
			b.Fatalf("List = %d notebooks, %v", len(all), err)
		}
		f.sim.Reset()
		listings++
	}
	per := float64(requests.Load()) / float64(listings)
	if per != (n+49)/50 {
		b.Errorf("%.1f requests per listing, want %d", per, (n+49)/50)
	}
	b.ReportMetric(per, "requests/listing")
}
