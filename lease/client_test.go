package lease_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

func TestCalls(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"list", func(t *testing.T, f *fixture) {
			f.sim.AddRunning("a", time.Hour)
			f.sim.AddRunning("b", 2*time.Hour)
			f.sim.Add(lease.Notebook{Name: "c", Status: lease.StatusStopped})
			all, err := f.c.List(ctx, lease.ListOptions{})
			if err != nil || len(all) != 3 {
				t.Fatalf("List = %d notebooks, %v; want 3", len(all), err)
			}
			running, err := f.c.List(ctx, lease.ListOptions{Status: lease.StatusRunning})
			if err != nil || len(running) != 2 {
				t.Fatalf("List RUNNING = %d notebooks, %v; want 2", len(running), err)
			}
			if q := f.sim.Requests()[1].Query; !strings.Contains(q, "status=RUNNING") || !strings.Contains(q, "limit=50") {
				t.Errorf("query %q lacks status or limit", q)
			}
		}},
		{"get", func(t *testing.T, f *fixture) {
			want := f.sim.AddRunning("train", 90*time.Minute)
			nb, err := f.c.Get(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if nb.ID != want.ID || nb.Name != "train" || !nb.Running() || nb.User.Name == "" || nb.Flavor == "" {
				t.Errorf("Get = %+v", nb)
			}
			if got, exp := nb.StopTime(), f.clk.Now().Add(90*time.Minute); !got.Equal(exp) {
				t.Errorf("stop time %v, want %v", got, exp)
			}
		}},
		{"get lease", func(t *testing.T, f *fixture) {
			nb := f.sim.AddRunning("train", 3*time.Hour)
			l, err := f.c.GetLease(ctx, nb.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !l.IsTiming() || l.Type != "TIMING" || !l.StopTime().Equal(f.clk.Now().Add(3*time.Hour)) {
				t.Errorf("GetLease = %+v", l)
			}
		}},
		{"renew", func(t *testing.T, f *fixture) {
			nb := f.sim.AddRunning("train", 10*time.Minute)
			target := f.clk.Now().Add(5 * time.Hour)
			got, err := f.c.Renew(ctx, nb.ID, target)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(target) {
				t.Errorf("Renew = %v, want %v", got, target)
			}
			stored, _ := f.sim.Notebook(nb.ID)
			if !stored.StopTime().Equal(target) || stored.Lease.CreateAt != nb.Lease.CreateAt {
				t.Errorf("simulator lease %+v, want stop %v and create_at kept", stored.Lease, target)
			}
			if r := f.sim.Requests()[0]; r.Body != `{"duration":18000000,"type":"timing"}` || r.Query != "duration=18000000" {
				t.Errorf("renew body %s query %q", r.Body, r.Query)
			}
		}},
		{"renew clamps to 1h and 72h", func(t *testing.T, f *fixture) {
			nb := f.sim.AddRunning("train", 10*time.Minute)
			now := f.clk.Now()
			for _, c := range []struct{ target, want time.Time }{
				{now.Add(time.Minute), now.Add(lease.MinDuration)},
				{now.Add(100 * time.Hour), now.Add(lease.MaxDuration)},
			} {
				got, err := f.c.Renew(ctx, nb.ID, c.target)
				if err != nil || !got.Equal(c.want) {
					t.Errorf("Renew(%v) = %v, %v; want %v", c.target, got, err, c.want)
				}
			}
		}},
		{"start", func(t *testing.T, f *fixture) {
			nb := f.sim.Add(lease.Notebook{Name: "idle", Status: lease.StatusStopped})
			got, err := f.c.Start(ctx, nb.ID, 2*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != lease.StatusStarting {
				t.Errorf("Start status %s, want STARTING", got.Status)
			}
			now, _ := f.c.Get(ctx, nb.ID)
			if !now.Running() || !now.StopTime().Equal(f.clk.Now().Add(2*time.Hour)) {
				t.Errorf("after start: %s, stop %v", now.Status, now.StopTime())
			}
			if r := f.sim.Requests()[0]; r.Body != "{}" || r.Query != "duration=7200000&type=timing" {
				t.Errorf("start request body %q query %q", r.Body, r.Query)
			}
		}},
		{"stop", func(t *testing.T, f *fixture) {
			nb := f.sim.AddRunning("busy", time.Hour)
			got, err := f.c.Stop(ctx, nb.ID)
			if err != nil || got.Status != lease.StatusStopping {
				t.Fatalf("Stop = %s, %v", got.Status, err)
			}
			if now, _ := f.c.Get(ctx, nb.ID); now.Status != lease.StatusStopped {
				t.Errorf("after stop: %s", now.Status)
			}
		}},
		{"expired lease stops the notebook", func(t *testing.T, f *fixture) {
			nb := f.sim.AddRunning("short", time.Hour)
			f.clk.Advance(time.Hour)
			got, err := f.c.Get(ctx, nb.ID)
			if err != nil || got.Status != lease.StatusStopped {
				t.Errorf("Get after expiry = %s, %v; want STOPPED", got.Status, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, setup(t, with{})) })
	}
}

func TestHeaders(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{}
	f := setup(t, with{front: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		mu.Lock()
		seen[r.Method] = r.Header.Clone()
		mu.Unlock()
		next.ServeHTTP(w, r)
	}})
	nb := f.sim.AddRunning("x", time.Hour)
	if _, err := f.c.Get(context.Background(), nb.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Renew(context.Background(), nb.ID, f.clk.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Stop(context.Background(), nb.ID); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodPost} {
		h := seen[method]
		if h.Get("Content-Type") != "application/json" || h.Get("X-Language") != "en-us" || h.Get("X-Project-Id") != project ||
			!strings.HasPrefix(h.Get("Authorization"), "SDK-HMAC-SHA256 Access="+testAK+", SignedHeaders=host;x-language;x-project-id;x-sdk-date, Signature=") {
			t.Errorf("%s headers: %v", method, h)
		}
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	get := func(f *fixture, id string) error { _, err := f.c.Get(ctx, id); return err }
	for _, tc := range []struct {
		name    string
		prep    func(f *fixture) string // returns the notebook ID to use
		call    func(f *fixture, id string) error
		kind    lease.Kind
		status  int
		code    string
		sentry  error
		retried bool          // more than one request expected
		budget  time.Duration // retry budget if not the default
	}{
		{name: "unknown id is 400 6309", call: get, kind: lease.KindNotFound, status: 400, code: "ModelArts.6309", sentry: lease.ErrNotFound},
		{name: "gateway 404 is a configuration error", prep: fault(simulator.Fault{Route: "get", Status: 404, Code: "APIG.0101"}), call: get,
			kind: lease.KindConfig, status: 404, code: "APIG.0101", sentry: lease.ErrConfig},
		{name: "unknown path is a configuration error", prep: running, call: func(f *fixture, _ string) error {
			// An endpoint with a path is refused up front; a gateway that
			// publishes the API under another path answers 404 APIG.0101.
			if _, err := lease.New(lease.Config{Endpoint: f.srv.URL + "/typo", ProjectID: project, Auth: f.cfg.Auth}); !errors.Is(err, lease.ErrEndpointPath) {
				t.Errorf("New with a path in the endpoint: %v, want ErrEndpointPath", err)
			}
			gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.URL.Path = "/typo" + r.URL.Path
				f.sim.ServeHTTP(w, r)
			}))
			defer gw.Close()
			c, _ := lease.New(lease.Config{Endpoint: gw.URL, ProjectID: project, Auth: f.cfg.Auth})
			_, err := c.List(ctx, lease.ListOptions{})
			return err
		}, kind: lease.KindConfig, status: 404, code: "APIG.0101", sentry: lease.ErrConfig},
		{name: "400 6404", prep: fault(simulator.Fault{Route: "get", Status: 400, Code: "ModelArts.6404"}), call: get, kind: lease.KindNotFound, status: 400, code: "ModelArts.6404"},
		{name: "malformed id, no request", prep: func(*fixture) string { return "../x" }, call: get, kind: lease.KindNotFound},
		{name: "name of 128 characters is asked", prep: func(*fixture) string { return strings.Repeat("n", lease.MaxNameLen) }, call: get,
			kind: lease.KindNotFound, status: 400, code: "ModelArts.6309"},
		{name: "name of 129 characters, no request", prep: func(*fixture) string { return strings.Repeat("n", lease.MaxNameLen+1) }, call: get,
			kind: lease.KindNotFound},
		{name: "lease of stopped notebook", prep: stopped, call: func(f *fixture, id string) error { _, err := f.c.GetLease(ctx, id); return err },
			kind: lease.KindNotRunning, status: 400, code: "ModelArts.6327", sentry: lease.ErrNotRunning},
		{name: "renew stopped notebook", prep: stopped, call: renew, kind: lease.KindNotRunning, status: 400, code: "ModelArts.6327"},
		{name: "stop stopped notebook", prep: stopped, call: func(f *fixture, id string) error { _, err := f.c.Stop(ctx, id); return err },
			kind: lease.KindNotRunning, status: 400, code: "ModelArts.6307"},
		{name: "start running notebook", prep: running, call: func(f *fixture, id string) error { _, err := f.c.Start(ctx, id, 0); return err },
			kind: lease.KindOther, status: 400, code: "ModelArts.6305"},
		{name: "out of range", prep: fault(simulator.Fault{Route: "renew", Status: 400, Code: "ModelArts.6349"}), call: renew,
			kind: lease.KindOutOfRange, status: 400, code: "ModelArts.6349", sentry: lease.ErrOutOfRange},
		{name: "busy", prep: fault(simulator.Fault{Route: "renew", Status: 400, Code: "ModelArts.6357"}), call: renew,
			kind: lease.KindBusy, status: 400, code: "ModelArts.6357", sentry: lease.ErrBusy},
		{name: "bad secret key is 401", prep: running, call: func(f *fixture, id string) error {
			c, _ := lease.New(withAuth(f.cfg, &lease.AKSK{AK: testAK, SK: "wrong-secret", Now: f.clk.Now}))
			_, err := c.Get(ctx, id)
			return err
		}, kind: lease.KindAuth, status: 401, code: "APIG.0301", sentry: lease.ErrAuth},
		{name: "403", prep: fault(simulator.Fault{Route: "get", Status: 403}), call: get, kind: lease.KindAuth, status: 403, code: "ModelArts.0108"},
		{name: "500 until the budget ends", prep: fault(simulator.Fault{Route: "get", Status: 500}), call: get,
			kind: lease.KindUnavailable, status: 500, code: "ModelArts.6102", sentry: lease.ErrUnavailable, retried: true, budget: 2 * time.Second},
		{name: "429 until the budget ends", prep: fault(simulator.Fault{Route: "get", Status: 429}), call: get,
			kind: lease.KindUnavailable, status: 429, code: "ModelArts.6101", retried: true, budget: 2 * time.Second},
		{name: "timeout", prep: fault(simulator.Fault{Route: "get", Latency: 3 * time.Second}), call: get, kind: lease.KindUnavailable, budget: time.Second},
		{name: "network error", prep: func(f *fixture) string { f.srv.Close(); return "f9937afa-631e-4a8f-a8f7-3b6c800585f0" }, call: get,
			kind: lease.KindUnavailable, budget: time.Second},
		{name: "start is not retried after a 500", prep: func(f *fixture) string {
			f.sim.Inject(simulator.Fault{Route: "start", Status: 500})
			return f.sim.Add(lease.Notebook{Status: lease.StatusStopped}).ID
		}, call: func(f *fixture, id string) error { _, err := f.c.Start(ctx, id, 0); return err }, kind: lease.KindUnavailable, status: 500, code: "ModelArts.6102"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, with{cfg: func(_ *fixture, c *lease.Config) {
				if tc.budget != 0 {
					c.RetryBudget = tc.budget
				}
			}})
			id := "f9937afa-631e-4a8f-a8f7-3b6c800585f0"
			if tc.prep != nil {
				id = tc.prep(f)
			}
			err := tc.call(f, id)
			var e *lease.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *lease.Error", err, err)
			}
			if e.Kind != tc.kind || e.Status != tc.status || e.Code != tc.code || e.Op == "" {
				t.Errorf("err = %+v (%q), want kind %v status %d code %q", e, err, tc.kind, tc.status, tc.code)
			}
			if tc.sentry != nil && !errors.Is(err, tc.sentry) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentry)
			}
			if n := len(f.sim.Requests()); tc.retried && n < 2 || !tc.retried && n > 1 {
				t.Errorf("%d requests, retried = %v", n, tc.retried)
			}
		})
	}
}

func fault(fl simulator.Fault) func(*fixture) string {
	return func(f *fixture) string {
		f.sim.Inject(fl)
		return running(f)
	}
}

func running(f *fixture) string { return f.sim.AddRunning("nb", 2*time.Hour).ID }

func stopped(f *fixture) string {
	return f.sim.Add(lease.Notebook{Name: "off", Status: lease.StatusStopped}).ID
}

func renew(f *fixture, id string) error {
	_, err := f.c.Renew(context.Background(), id, f.clk.Now().Add(4*time.Hour))
	return err
}

func withAuth(cfg lease.Config, a lease.Authenticator) lease.Config {
	cfg.Auth = a
	return cfg
}

// The clock moves 20 minutes after every answer, so a retry that re-sent the
// first duration would land 40 minutes late.
func TestRenewRetriesKeepTargetStopTime(t *testing.T) {
	for _, reply204 := range []bool{false, true} {
		t.Run(fmt.Sprint("204=", reply204), func(t *testing.T) {
			var f *fixture
			f = setup(t, with{
				sim: func(o *simulator.Options) { o.Reply204 = reply204 },
				front: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					next.ServeHTTP(w, r)
					f.clk.Advance(20 * time.Minute)
				},
			})
			nb := f.sim.AddRunning("train", 2*time.Hour)
			f.sim.Inject(simulator.Fault{Route: "renew", Status: 500, Times: 2})
			target := f.clk.Now().Add(6 * time.Hour)
			got, err := f.c.Renew(context.Background(), nb.ID, target)
			if err != nil {
				t.Fatal(err)
			}
			if d := got.Sub(target); d < -time.Second || d > time.Second {
				t.Errorf("Renew = %v, want %v", got, target)
			}
			if stored, _ := f.sim.Notebook(nb.ID); !stored.StopTime().Equal(target) {
				t.Errorf("simulator stop %v, want %v", stored.StopTime(), target)
			}
			if n := f.sim.Count("renew"); n != 3 {
				t.Errorf("%d renew requests, want 3", n)
			}
			// Each attempt re-measures the duration, the same in query and body.
			left := []time.Duration{6 * time.Hour, 5*time.Hour + 40*time.Minute, 5*time.Hour + 20*time.Minute}
			i := 0
			for _, r := range f.sim.Requests() {
				if r.Route != simulator.RouteRenew {
					continue
				}
				d := left[i].Milliseconds()
				if want := fmt.Sprintf("duration=%d", d); r.Query != want || r.Body != fmt.Sprintf(`{"duration":%d,"type":"timing"}`, d) {
					t.Errorf("renew attempt %d: query %q body %s, want duration %d in both", i, r.Query, r.Body, d)
				}
				i++
			}
			wantLease := 0
			if reply204 {
				wantLease = 1
			}
			if n := f.sim.Count("lease"); n != wantLease {
				t.Errorf("%d lease reads, want %d", n, wantLease)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter time.Duration
		budget     time.Duration
		ok         bool
		min, max   time.Duration
	}{
		{"waits as told", time.Second, 5 * time.Second, true, time.Second, 4 * time.Second},
		{"gives up when it exceeds the budget", 5 * time.Second, time.Second, false, 0, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, with{cfg: func(_ *fixture, c *lease.Config) { c.RetryBudget = tc.budget }})
			id := running(f)
			f.sim.Inject(simulator.Fault{Route: "get", Status: 503, Times: 1, RetryAfter: tc.retryAfter})
			start := time.Now()
			_, err := f.c.Get(context.Background(), id)
			took := time.Since(start)
			if (err == nil) != tc.ok || took < tc.min || took > tc.max {
				t.Errorf("Get took %v, err %v; want ok=%v in [%v, %v]", took, err, tc.ok, tc.min, tc.max)
			}
		})
	}
}

func TestStartStopRetryOnlyUnprocessed(t *testing.T) {
	f := setup(t, with{})
	id := stopped(f)
	f.sim.Inject(simulator.Fault{Route: "start", Status: 503, Times: 1})
	f.sim.Inject(simulator.Fault{Route: "stop", Status: 429, Times: 1})
	if _, err := f.c.Start(context.Background(), id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Stop(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if s, p := f.sim.Count("start"), f.sim.Count("stop"); s != 2 || p != 2 {
		t.Errorf("start %d, stop %d requests; want 2 each", s, p)
	}
}

func TestUnavailableAfterRetryBudget(t *testing.T) {
	const budget = 800 * time.Millisecond
	f := setup(t, with{cfg: func(_ *fixture, c *lease.Config) { c.RetryBudget = budget }})
	id := running(f)
	// 503, not 502 or 504: a gateway's 502 or 504 leaves the outcome unknown.
	f.sim.Inject(simulator.Fault{Route: "renew", Status: 503})
	start := time.Now()
	err := renew(f, id)
	if took := time.Since(start); took > 2*budget {
		t.Errorf("gave up after %v, budget %v", took, budget)
	}
	if !errors.Is(err, lease.ErrUnavailable) {
		t.Errorf("err = %v, want unavailable", err)
	}
	if n := f.sim.Count("renew"); n < 2 || n > 6 {
		t.Errorf("%d renew attempts, want 2..6", n)
	}
}

func TestPagination(t *testing.T) {
	for _, tc := range []struct {
		n, requests int
		all         bool
	}{{0, 1, false}, {49, 1, false}, {50, 1, false}, {100, 2, false}, {123, 3, false}, {123, 3, true}} {
		t.Run(fmt.Sprintf("%d all=%v", tc.n, tc.all), func(t *testing.T) {
			f := setup(t, with{cfg: func(_ *fixture, c *lease.Config) { c.ListAll = tc.all }})
			for i := range tc.n {
				f.sim.AddRunning(fmt.Sprintf("nb-%03d", i), time.Hour)
			}
			got, err := f.c.List(context.Background(), lease.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Errorf("%d notebooks, want %d", len(got), tc.n)
			}
			// In the server's order: newest first, as ModelArts lists.
			for i, nb := range got {
				if want := fmt.Sprintf("nb-%03d", tc.n-1-i); nb.Name != want {
					t.Fatalf("notebook %d is %s, want %s", i, nb.Name, want)
				}
			}
			reqs := f.sim.Requests()
			if len(reqs) != tc.requests {
				t.Fatalf("%d requests, want %d", len(reqs), tc.requests)
			}
			for i, r := range reqs {
				if want := fmt.Sprintf("limit=50&offset=%d", 50*i); r.Query != want {
					t.Errorf("request %d query %q, want %q", i, r.Query, want)
				}
				if strings.HasSuffix(r.Path, "/notebooks/all") != tc.all {
					t.Errorf("request %d path %s, ListAll %v", i, r.Path, tc.all)
				}
			}
		})
	}
}

func TestObserve(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	f := setup(t, with{cfg: func(_ *fixture, c *lease.Config) {
		c.Observe = func(call string, status int, took time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, fmt.Sprint(call, " ", status))
		}
	}})
	id := running(f)
	f.sim.Inject(simulator.Fault{Route: "lease", Status: 500, Times: 1})
	if _, err := f.c.GetLease(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(calls, ","); got != "lease 500,lease 200" {
		t.Errorf("observed %s", got)
	}
}

func TestNewValidates(t *testing.T) {
	aksk := &lease.AKSK{AK: "a", SK: "b"}
	for _, tc := range []struct {
		name string
		cfg  lease.Config
		ok   bool
	}{
		{"https", lease.Config{Endpoint: "https://modelarts.eu-de.otc.t-systems.com/", ProjectID: project, Auth: aksk}, true},
		{"http loopback", lease.Config{Endpoint: "http://127.0.0.1:8080", ProjectID: project, Auth: aksk}, true},
		{"http localhost", lease.Config{Endpoint: "http://localhost:8080", ProjectID: project, Auth: aksk}, true},
		{"http ::1", lease.Config{Endpoint: "http://[::1]:8080", ProjectID: project, Auth: aksk}, true},
		{"http remote", lease.Config{Endpoint: "http://modelarts.eu-de.otc.t-systems.com", ProjectID: project, Auth: aksk}, false},
		{"no scheme", lease.Config{Endpoint: "modelarts.eu-de.otc.t-systems.com", ProjectID: project, Auth: aksk}, false},
		{"credentials in URL", lease.Config{Endpoint: "https://u:p@modelarts.example.com", ProjectID: project, Auth: aksk}, false},
		{"no project", lease.Config{Endpoint: "https://x.example.com", Auth: aksk}, false},
		{"bad project", lease.Config{Endpoint: "https://x.example.com", ProjectID: "a/b", Auth: aksk}, false},
		{"project that is a name", lease.Config{Endpoint: "https://x.example.com", ProjectID: "eu-de_my-project", Auth: aksk}, false},
		{"project in upper case", lease.Config{Endpoint: "https://x.example.com", ProjectID: strings.ToUpper(project), Auth: aksk}, false},
		{"no auth", lease.Config{Endpoint: "https://x.example.com", ProjectID: project}, false},
		{"empty SK", lease.Config{Endpoint: "https://x.example.com", ProjectID: project, Auth: &lease.AKSK{AK: "a"}}, false},
		{"IAM without password", lease.Config{Endpoint: "https://x.example.com", ProjectID: project,
			Auth: &lease.IAMPassword{Endpoint: "https://iam.example.com", Username: "u", Domain: "d", ProjectID: project}}, false},
		{"IAM over http", lease.Config{Endpoint: "https://x.example.com", ProjectID: project,
			Auth: &lease.IAMPassword{Endpoint: "http://iam.example.com", Username: "u", Password: "p", Domain: "d", ProjectID: project}}, false},
		{"endpoint with a path", lease.Config{Endpoint: "https://modelarts.eu-de.otc.t-systems.com/v1/" + project, ProjectID: project, Auth: aksk}, false},
		{"IAM endpoint with /v3", lease.Config{Endpoint: "https://x.example.com", ProjectID: project,
			Auth: &lease.IAMPassword{Endpoint: "https://iam.example.com/v3/", Username: "u", Password: "p", Domain: "d", ProjectID: project}}, true},
		{"IAM endpoint with another path", lease.Config{Endpoint: "https://x.example.com", ProjectID: project,
			Auth: &lease.IAMPassword{Endpoint: "https://iam.example.com/v3/auth/tokens", Username: "u", Password: "p", Domain: "d", ProjectID: project}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := lease.New(tc.cfg); (err == nil) != tc.ok {
				t.Errorf("New: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestCheckProjectID: 32 lower-case hexadecimal digits, each problem named.
func TestCheckProjectID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want error
	}{
		{project, nil},
		{"", lease.ErrProjectIDEmpty},
		{strings.ToUpper(project), lease.ErrProjectIDCase},
		{"0123456789ABCDEF", lease.ErrProjectIDChars},
		{"eu-de", lease.ErrProjectIDChars},
		{"a/b", lease.ErrProjectIDChars},
		{project[:31], lease.ErrProjectIDLength},
		{project + "0", lease.ErrProjectIDLength},
	} {
		if err := lease.CheckProjectID(tc.id); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("CheckProjectID(%q) = %v, want %v", tc.id, err, tc.want)
		}
	}
}

// TestCheckEndpoint: the path is the client's to add, so an endpoint has
// none, except that an IAM endpoint may end in /v3.
func TestCheckEndpoint(t *testing.T) {
	for _, tc := range []struct {
		raw       string
		want      string // "" when refused
		wantIAM   string
		errPath   bool // refused for its path (ModelArts)
		iamRefuse bool
	}{
		{raw: "https://m.example.com", want: "https://m.example.com", wantIAM: "https://m.example.com"},
		{raw: "https://m.example.com/", want: "https://m.example.com", wantIAM: "https://m.example.com"},
		{raw: "https://m.example.com/v3", errPath: true, wantIAM: "https://m.example.com/v3"},
		{raw: "https://m.example.com/v3/", errPath: true, wantIAM: "https://m.example.com/v3"},
		{raw: "https://m.example.com/v1/" + project, errPath: true, iamRefuse: true},
		{raw: "https://m.example.com//", errPath: true, iamRefuse: true},
		{raw: "https://m.example.com/V3", errPath: true, iamRefuse: true},
		{raw: "https://m.example.com/v3/auth/tokens", errPath: true, iamRefuse: true},
	} {
		got, err := lease.CheckEndpoint(tc.raw)
		if tc.errPath != errors.Is(err, lease.ErrEndpointPath) || got != tc.want {
			t.Errorf("CheckEndpoint(%q) = %q, %v", tc.raw, got, err)
		}
		got, err = lease.CheckIAMEndpoint(tc.raw)
		if tc.iamRefuse != errors.Is(err, lease.ErrEndpointPath) || got != tc.wantIAM {
			t.Errorf("CheckIAMEndpoint(%q) = %q, %v", tc.raw, got, err)
		}
	}
}

func TestCallerCancellation(t *testing.T) {
	f := setup(t, with{})
	id := running(f)
	f.sim.Inject(simulator.Fault{Route: "get", Latency: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := f.c.Get(ctx, id)
	if !errors.Is(err, context.DeadlineExceeded) || lease.KindOf(err) != lease.KindUnavailable {
		t.Errorf("err = %v, want unavailable wrapping context.DeadlineExceeded", err)
	}
}

// TestRenewAgainstBothVersions: with the duration in the query and in the
// body, a renewal works on the old RenewLease (query only, mandatory) and
// on the current one, whether it answers 200 or 204.
func TestRenewAgainstBothVersions(t *testing.T) {
	for _, tc := range []struct{ legacy, reply204 bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
		t.Run(fmt.Sprintf("legacy=%v 204=%v", tc.legacy, tc.reply204), func(t *testing.T) {
			f := setup(t, with{sim: func(o *simulator.Options) { o.LegacyRenew, o.Reply204 = tc.legacy, tc.reply204 }})
			nb := f.sim.AddRunning("train", 10*time.Minute)
			target := f.clk.Now().Add(7 * time.Hour)
			got, err := f.c.Renew(context.Background(), nb.ID, target)
			if err != nil || !got.Equal(target) {
				t.Fatalf("Renew = %v, %v; want %v", got, err, target)
			}
			if stored, _ := f.sim.Notebook(nb.ID); !stored.StopTime().Equal(target) {
				t.Errorf("simulator stop %v, want %v", stored.StopTime(), target)
			}
		})
	}
}

// TestStartFailureReported: a start that fails is reported by Get and List
// with its status and reason, on the simulator's clock.
func TestStartFailureReported(t *testing.T) {
	ctx := context.Background()
	f := setup(t, with{sim: func(o *simulator.Options) { o.Transition = time.Minute }})
	nb := f.sim.Add(lease.Notebook{Name: "gpu", Status: lease.StatusStopped})
	const reason = "Insufficient GPU resources in the pool."
	f.sim.FailStart(nb.ID, reason)
	started, err := f.c.Start(ctx, nb.ID, 2*time.Hour)
	if err != nil || started.Status != lease.StatusStarting || len(started.ActionProgress) == 0 {
		t.Fatalf("Start = %+v, %v; want STARTING with its progress", started, err)
	}
	f.clk.Advance(time.Minute)
	got, err := f.c.Get(ctx, nb.ID)
	if err != nil || got.Status != lease.StatusStartFailed || got.FailReason != reason {
		t.Errorf("Get = %s %q, %v; want START_FAILED %q", got.Status, got.FailReason, err, reason)
	}
	all, err := f.c.List(ctx, lease.ListOptions{Status: lease.StatusStartFailed})
	if err != nil || len(all) != 1 || all[0].FailReason != reason {
		t.Errorf("List = %+v, %v", all, err)
	}
	if _, err := f.c.Renew(ctx, nb.ID, f.clk.Now().Add(2*time.Hour)); lease.KindOf(err) != lease.KindNotRunning {
		t.Errorf("Renew after a failed start: %v, want not running", err)
	}
	// The next start succeeds and clears the reason.
	if _, err := f.c.Start(ctx, nb.ID, 0); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	if got, _ := f.c.Get(ctx, nb.ID); got.Status != lease.StatusRunning || got.FailReason != "" {
		t.Errorf("after a second start: %s %q", got.Status, got.FailReason)
	}
}
