package lease_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

const (
	project = "0123456789abcdef0123456789abcdef"
	testAK  = "AKTESTQ1W2E3R4T5Y6U7"
	testSK  = "sk-Secret-9f8e7d6c5b4a39281706"
)

// clock is a manual clock shared by the client and the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	sim *simulator.Server
	srv *httptest.Server
	clk *clock
	cfg lease.Config
	c   *lease.Client
}

// with adjusts a fixture before it starts.
type with struct {
	sim   func(*simulator.Options)                               // simulator options
	cfg   func(*fixture, *lease.Config)                          // client config
	front func(http.ResponseWriter, *http.Request, http.Handler) // handler in front of the simulator
}

// setup starts a simulator over HTTP and a client signing with testAK/testSK.
func setup(t testing.TB, w with) *fixture {
	t.Helper()
	f := &fixture{clk: newClock()}
	o := simulator.Options{ProjectID: project, AK: testAK, SK: testSK, Now: f.clk.Now}
	if w.sim != nil {
		w.sim(&o)
	}
	f.sim = simulator.New(o)
	var h http.Handler = f.sim
	if w.front != nil {
		h = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { w.front(rw, r, f.sim) })
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	f.cfg = lease.Config{
		Endpoint:    f.srv.URL,
		ProjectID:   project,
		Auth:        &lease.AKSK{AK: testAK, SK: testSK, Now: f.clk.Now},
		RetryBudget: 5 * time.Second, // generous: CI machines may be loaded
		Now:         f.clk.Now,
	}
	if w.cfg != nil {
		w.cfg(f, &f.cfg)
	}
	c, err := lease.New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

// asError is errors.As for *lease.Error.
func asError(err error, target **lease.Error) bool { return errors.As(err, target) }
