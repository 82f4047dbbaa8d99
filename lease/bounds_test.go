package lease_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
)

// TestStartDuration: Start sends a duration ModelArts accepts, as query
// parameters with a body of {}, or none at all for the service's default.
func TestStartDuration(t *testing.T) {
	for _, tc := range []struct {
		d     time.Duration
		query string
		stop  time.Duration // after the start
	}{
		{0, "", time.Hour},
		{2 * time.Hour, "duration=7200000&type=timing", 2 * time.Hour},
		{30 * time.Minute, "duration=3600000&type=timing", time.Hour},
		{-time.Hour, "duration=3600000&type=timing", time.Hour},
		{100 * time.Hour, "duration=259200000&type=timing", 72 * time.Hour},
		{lease.MaxDuration, "duration=259200000&type=timing", 72 * time.Hour},
	} {
		t.Run(tc.d.String(), func(t *testing.T) {
			f := setup(t, with{})
			nb := f.sim.Add(lease.Notebook{Status: lease.StatusStopped})
			if _, err := f.c.Start(context.Background(), nb.ID, tc.d); err != nil {
				t.Fatal(err)
			}
			if r := f.sim.Requests()[0]; r.Query != tc.query || r.Body != "{}" {
				t.Errorf("start query %q body %q, want %q and {}", r.Query, r.Body, tc.query)
			}
			if got, _ := f.c.Get(context.Background(), nb.ID); !got.StopTime().Equal(f.clk.Now().Add(tc.stop)) {
				t.Errorf("stop %v, want %v after the start", got.StopTime(), tc.stop)
			}
		})
	}
}

// TestListingEndsOnAServerThatDoesNot: a server that answers every page in
// full, with new IDs each time, gets an error after 2 000 pages.
func TestListingEndsOnAServerThatDoesNot(t *testing.T) {
	var pages atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages.Add(1)
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		var b strings.Builder
		b.WriteString(`{"data":[`)
		for i := range 50 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"%08x-0000-4000-8000-000000000000","status":"RUNNING"}`, offset+i)
		}
		b.WriteString(`]}`) // no total: "ask again while pages are full"
		w.Write([]byte(b.String()))
	}))
	defer srv.Close()
	c, err := lease.New(lease.Config{Endpoint: srv.URL, ProjectID: project, Auth: &lease.AKSK{AK: testAK, SK: testSK}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nbs, err := c.List(ctx, lease.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "2000 pages") || nbs != nil {
		t.Fatalf("List = %d notebooks, %v; want an error after 2000 pages", len(nbs), err)
	}
	if n := pages.Load(); n != 2000 {
		t.Errorf("%d pages asked for, want 2000", n)
	}
}
