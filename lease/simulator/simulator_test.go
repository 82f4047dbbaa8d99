package simulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

const (
	project = "0123456789abcdef0123456789abcdef"
	ak, sk  = "AKSIM", "SKSIM-secret"
)

type env struct {
	sim *simulator.Server
	srv *httptest.Server
	now time.Time
}

func newEnv(t *testing.T, opt simulator.Options) *env {
	e := &env{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	opt.ProjectID, opt.AK, opt.SK = project, ak, sk
	opt.Now = func() time.Time { return e.now }
	e.sim = simulator.New(opt)
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	return e
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// call sends a request signed at the server's time; tweak may change it after signing.
func (e *env) call(t *testing.T, method, path, body string, tweak func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := lease.Sign(req, []byte(body), ak, sk, e.now); err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func nbPath(id, rest string) string { return "/v1/" + project + "/notebooks/" + id + rest }

func TestSignatureVerification(t *testing.T) {
	e := newEnv(t, simulator.Options{})
	id := e.sim.AddRunning("x", time.Hour).ID
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   string
		tweak  func(*http.Request)
		status int
	}{
		{"valid", "GET", nbPath(id, ""), "", nil, 200},
		{"valid with body", "PATCH", nbPath(id, "/lease"), `{"duration":7200000}`, nil, 200},
		{"unsigned", "GET", nbPath(id, ""), "", func(r *http.Request) { r.Header.Del("Authorization") }, 401},
		{"wrong access key", "GET", nbPath(id, ""), "", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Access="+ak, "Access=AKOTHER", 1))
		}, 401},
		{"tampered signature", "GET", nbPath(id, ""), "", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-4]+"0000")
		}, 401},
		{"tampered path", "GET", nbPath(id, ""), "", func(r *http.Request) { r.URL.Path += "/lease" }, 401},
		{"tampered query", "GET", "/v1/" + project + "/notebooks?limit=10", "", func(r *http.Request) { r.URL.RawQuery = "limit=50" }, 401},
		{"tampered body", "PATCH", nbPath(id, "/lease"), `{"duration":7200000}`, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"duration":9200000}`))
		}, 401},
		{"tampered signed header", "GET", nbPath(id, ""), "", func(r *http.Request) { r.Header.Set("X-Sdk-Date", "20260302T090001Z") }, 401},
		{"stale date", "GET", nbPath(id, ""), "", func(r *http.Request) {
			r.Header.Del("Authorization")
			r.Header.Del("X-Sdk-Date")
			_ = lease.Sign(r, nil, ak, sk, time.Date(2026, 3, 2, 8, 44, 0, 0, time.UTC))
		}, 401},
		{"date within skew", "GET", nbPath(id, ""), "", func(r *http.Request) {
			r.Header.Del("Authorization")
			r.Header.Del("X-Sdk-Date")
			_ = lease.Sign(r, nil, ak, sk, time.Date(2026, 3, 2, 9, 14, 0, 0, time.UTC))
		}, 200},
		{"foreign project", "GET", "/v1/ffffffffffffffffffffffffffffffff/notebooks", "", nil, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(t, tc.method, tc.path, tc.body, tc.tweak)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			if tc.status == 401 && (a.body["error_code"] != "APIG.0301" || strings.Contains(a.raw, sk)) {
				t.Errorf("401 body %s", a.raw)
			}
		})
	}
}

func TestAnswersLikeModelArts(t *testing.T) {
	e := newEnv(t, simulator.Options{})
	run := e.sim.AddRunning("run", 2*time.Hour)
	off := e.sim.Add(lease.Notebook{Name: "off", Status: lease.StatusStopped})
	for i := 0; i < 23; i++ {
		e.sim.AddRunning("bulk", time.Hour)
	}
	list := "/v1/" + project + "/notebooks"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     map[string]any // expected top-level fields
	}{
		{"default limit 10", "GET", list, "", 200, map[string]any{"current": 0.0, "pages": 3.0, "size": 10.0, "total": 25.0}},
		{"limit 20 second page", "GET", list + "?limit=20&offset=20", "", 200, map[string]any{"current": 1.0, "pages": 2.0, "size": 20.0, "total": 25.0}},
		{"limit 30 refused", "GET", list + "?limit=30", "", 400, map[string]any{"error_code": "ModelArts.0101"}},
		{"status filter", "GET", list + "?status=STOPPED&limit=50", "", 200, map[string]any{"total": 1.0}},
		{"all", "GET", list + "/all?limit=50", "", 200, map[string]any{"total": 25.0}},
		{"unknown id", "GET", nbPath("00000000-0000-4000-8000-000000000000", ""), "", 400, map[string]any{"error_code": "ModelArts.6309"}},
		{"lease of stopped", "GET", nbPath(off.ID, "/lease"), "", 400, map[string]any{"error_code": "ModelArts.6327"}},
		{"lease upper-case type", "GET", nbPath(run.ID, "/lease"), "", 200, map[string]any{"type": "TIMING", "enable": true}},
		{"renew stopped", "PATCH", nbPath(off.ID, "/lease"), `{"duration":7200000,"type":"timing"}`, 400, map[string]any{"error_code": "ModelArts.6327"}},
		{"renew too short", "PATCH", nbPath(run.ID, "/lease"), `{"duration":3599999,"type":"timing"}`, 400, map[string]any{
			"error_code": "ModelArts.6349", "error_msg": "The 'duration' parameter is incorrect. The value ranges from 3600000 to 259200000."}},
		{"renew too long", "PATCH", nbPath(run.ID, "/lease"), `{"duration":259200001}`, 400, map[string]any{"error_code": "ModelArts.6349"}},
		{"renew query overrides body", "PATCH", nbPath(run.ID, "/lease?duration=259200000"), `{"duration":1}`, 200, map[string]any{"type": "TIMING"}},
		{"start running", "POST", nbPath(run.ID, "/start"), `{}`, 400, map[string]any{"error_code": "ModelArts.6305"}},
		{"stop stopped", "POST", nbPath(off.ID, "/stop"), `{}`, 400, map[string]any{"error_code": "ModelArts.6307"}},
		{"start with a body that is no object", "POST", nbPath(off.ID, "/start"), `[`, 400, map[string]any{"error_code": "ModelArts.0104"}},
		{"start without body", "POST", nbPath(off.ID, "/start"), ``, 200, map[string]any{"status": lease.StatusStarting}},
		{"unknown route", "DELETE", nbPath(run.ID, "/lease"), ``, 404, map[string]any{"error_code": "APIG.0101"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(t, tc.method, tc.path, tc.body, nil)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.raw)
			}
			for k, v := range tc.want {
				if a.body[k] != v {
					t.Errorf("%s = %v, want %v (%s)", k, a.body[k], v, a.raw)
				}
			}
		})
	}
}

func TestRenewKeepsCreateAt(t *testing.T) {
	for _, reply204 := range []bool{false, true} {
		e := newEnv(t, simulator.Options{Reply204: reply204})
		nb := e.sim.AddRunning("x", 10*time.Minute)
		a := e.call(t, "PATCH", nbPath(nb.ID, "/lease"), `{"duration":7200000,"type":"timing"}`, nil)
		if want := map[bool]int{false: 200, true: 204}[reply204]; a.status != want || reply204 && a.raw != "" {
			t.Fatalf("204=%v: status %d body %q", reply204, a.status, a.raw)
		}
		got, _ := e.sim.Notebook(nb.ID)
		if got.Lease.CreateAt != nb.Lease.CreateAt || got.Lease.Duration != e.now.UnixMilli()-nb.Lease.CreateAt+7200000 ||
			!got.StopTime().Equal(e.now.Add(2*time.Hour)) || got.Lease.Type != "TIMING" {
			t.Errorf("204=%v: lease after renew %+v", reply204, got.Lease)
		}
	}
}

func TestLeasesTick(t *testing.T) {
	e := newEnv(t, simulator.Options{Transition: time.Minute})
	nb := e.sim.AddRunning("x", time.Hour)
	e.now = e.now.Add(59 * time.Minute)
	if got, _ := e.sim.Notebook(nb.ID); got.Status != lease.StatusRunning {
		t.Fatalf("status %s before the stop time", got.Status)
	}
	e.now = e.now.Add(time.Minute)
	if got, _ := e.sim.Notebook(nb.ID); got.Status != lease.StatusStopped {
		t.Fatalf("status %s at the stop time", got.Status)
	}
	a := e.call(t, "POST", nbPath(nb.ID, "/start?duration=7200000"), `{}`, nil)
	if a.status != 200 || a.body["status"] != lease.StatusStarting {
		t.Fatalf("start: %d %s", a.status, a.raw)
	}
	if a := e.call(t, "GET", nbPath(nb.ID, "/lease"), "", nil); a.status != 400 {
		t.Errorf("lease while STARTING: %d", a.status)
	}
	e.now = e.now.Add(time.Minute)
	got, _ := e.sim.Notebook(nb.ID)
	if got.Status != lease.StatusRunning || !got.StopTime().Equal(e.now.Add(2*time.Hour-time.Minute)) {
		t.Errorf("after start: %s stop %v", got.Status, got.StopTime())
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t, simulator.Options{})
	id := e.sim.AddRunning("x", time.Hour).ID
	e.sim.Inject(simulator.Fault{Route: simulator.RouteGet, Status: 429, Times: 2, RetryAfter: 1500 * time.Millisecond})
	e.sim.Inject(simulator.Fault{Method: "GET", PathSuffix: "/lease", Status: 503, Code: "APIG.0201", Msg: "Backend unavailable."})
	for i, want := range []int{429, 429, 200} {
		a := e.call(t, "GET", nbPath(id, ""), "", nil)
		if a.status != want {
			t.Errorf("get %d: status %d, want %d", i, a.status, want)
		}
		if want == 429 && (a.header.Get("Retry-After") != "2" || a.body["error_code"] != "ModelArts.6101") {
			t.Errorf("get %d: Retry-After %q body %s", i, a.header.Get("Retry-After"), a.raw)
		}
	}
	if a := e.call(t, "GET", nbPath(id, "/lease"), "", nil); a.status != 503 || a.body["error_code"] != "APIG.0201" {
		t.Errorf("lease: %d %s", a.status, a.raw)
	}
	if n := e.sim.Count(simulator.RouteGet); n != 3 {
		t.Errorf("Count(get) = %d, want 3", n)
	}
	e.sim.Reset()
	if a := e.call(t, "GET", nbPath(id, "/lease"), "", nil); a.status != 200 || len(e.sim.Requests()) != 1 {
		t.Errorf("after Reset: %d, %d logged", a.status, len(e.sim.Requests()))
	}
}

// TestFaultApply: a fault with Apply carries the change out, then answers
// its status; without Apply, or for a request that fails authentication,
// nothing changes.
func TestFaultApply(t *testing.T) {
	e := newEnv(t, simulator.Options{})
	run := e.sim.AddRunning("run", time.Hour)
	off := e.sim.Add(lease.Notebook{Name: "off", Status: lease.StatusStopped})
	e.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Status: 504, Apply: true, Times: 1})
	if a := e.call(t, "PATCH", nbPath(run.ID, "/lease"), `{"duration":7200000,"type":"timing"}`, nil); a.status != 504 {
		t.Errorf("renew: status %d, want 504", a.status)
	}
	if got, _ := e.sim.Notebook(run.ID); !got.StopTime().Equal(e.now.Add(2 * time.Hour)) {
		t.Errorf("renew answered 504 with Apply: stop %v, want %v", got.StopTime(), e.now.Add(2*time.Hour))
	}
	e.sim.Inject(simulator.Fault{Route: simulator.RouteRenew, Status: 502, Times: 1})
	if a := e.call(t, "PATCH", nbPath(run.ID, "/lease"), `{"duration":10800000,"type":"timing"}`, nil); a.status != 502 {
		t.Errorf("renew: status %d, want 502", a.status)
	}
	if got, _ := e.sim.Notebook(run.ID); !got.StopTime().Equal(e.now.Add(2 * time.Hour)) {
		t.Errorf("renew answered 502 without Apply changed the stop to %v", got.StopTime())
	}
	e.sim.Inject(simulator.Fault{Route: simulator.RouteStart, Status: 502, Apply: true, Times: 1})
	badSignature := func(r *http.Request) { r.Header.Set("X-Sdk-Date", "20000101T000000Z") }
	if a := e.call(t, "POST", nbPath(off.ID, "/start"), `{}`, badSignature); a.status != 502 {
		t.Errorf("start: status %d, want 502", a.status)
	}
	if got, _ := e.sim.Notebook(off.ID); got.Status != lease.StatusStopped {
		t.Errorf("an unauthenticated start was applied: %s", got.Status)
	}
	e.sim.Inject(simulator.Fault{Route: simulator.RouteStop, Status: 502, Apply: true})
	if a := e.call(t, "POST", nbPath(run.ID, "/stop"), `{}`, nil); a.status != 502 || a.body["error_code"] != "ModelArts.6102" {
		t.Errorf("stop: %d %s", a.status, a.raw)
	}
	if got, _ := e.sim.Notebook(run.ID); got.Status != lease.StatusStopped && got.Status != lease.StatusStopping {
		t.Errorf("stop answered 502 with Apply: status %s", got.Status)
	}
}

// TestListNewestFirst: ModelArts' sort_dir defaults to DESC, newest first.
func TestListNewestFirst(t *testing.T) {
	e := newEnv(t, simulator.Options{})
	for _, name := range []string{"a", "b", "c"} {
		e.sim.AddRunning(name, time.Hour)
	}
	names := func(a answer) string {
		var out []string
		for _, nb := range a.body["data"].([]any) {
			out = append(out, nb.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	list := "/v1/" + project + "/notebooks"
	for _, tc := range []struct{ query, want string }{
		{"", "c,b,a"}, {"?sort_dir=DESC", "c,b,a"}, {"?sort_dir=ASC", "a,b,c"}, {"?limit=10&offset=1", "b,a"},
	} {
		a := e.call(t, "GET", list+tc.query, "", nil)
		if a.status != 200 || names(a) != tc.want {
			t.Errorf("list%s: %d %s, want %s", tc.query, a.status, a.raw, tc.want)
		}
	}
	if a := e.call(t, "GET", list+"?sort_dir=up", "", nil); a.status != 400 || a.body["error_code"] != "ModelArts.0101" {
		t.Errorf("sort_dir=up: %d %s", a.status, a.raw)
	}
}

func TestIAMTokens(t *testing.T) {
	e := newEnv(t, simulator.Options{IAM: &simulator.IAMUser{Name: "u", Password: "pw", Domain: "d", TTL: time.Hour}})
	id := e.sim.AddRunning("x", 3*time.Hour).ID
	body := func(pw string) string {
		return `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"u","password":"` + pw +
			`","domain":{"name":"d"}}}},"scope":{"project":{"id":"` + project + `"}}}}`
	}
	post := func(b string) *http.Response {
		resp, err := http.Post(e.srv.URL+"/v3/auth/tokens", "application/json", strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := post(body("wrong")); resp.StatusCode != 401 {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	resp := post(body("pw"))
	var tok struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	token := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != 201 || token == "" || tok.Token.ExpiresAt != "2026-03-02T10:00:00.000000Z" {
		t.Fatalf("token: %d %q expires %q", resp.StatusCode, token, tok.Token.ExpiresAt)
	}
	withToken := func(r *http.Request) {
		r.Header.Del("Authorization")
		r.Header.Set("X-Auth-Token", token)
	}
	if a := e.call(t, "GET", nbPath(id, ""), "", withToken); a.status != 200 {
		t.Errorf("with token: %d %s", a.status, a.raw)
	}
	e.now = e.now.Add(time.Hour)
	if a := e.call(t, "GET", nbPath(id, ""), "", withToken); a.status != 401 || a.body["error_code"] != "APIG.0307" {
		t.Errorf("expired token: %d %s", a.status, a.raw)
	}
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Body, `"pw"`) {
			t.Errorf("request log holds the password: %+v", r)
		}
	}
}

func TestSeedDemo(t *testing.T) {
	now := time.Now()
	s := simulator.New(simulator.Options{Now: func() time.Time { return now }})
	simulator.SeedDemo(s, now)
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := lease.New(lease.Config{Endpoint: srv.URL, ProjectID: s.ProjectID(), Auth: &lease.AKSK{AK: "any", SK: "any"}})
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.List(t.Context(), lease.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var soon, stopped, hours int
	names := map[string]int{}
	for _, nb := range all {
		names[nb.Name]++
		switch left := nb.StopTime().Sub(now); {
		case !nb.Running():
			stopped++
		case left > 0 && left <= 3*time.Minute:
			soon++
		case left >= time.Hour:
			hours++
		}
		if len(nb.ID) != 36 || nb.ID[14] != '4' || nb.User.Name == "" || nb.Flavor == "" {
			t.Errorf("unrealistic notebook %+v", nb)
		}
	}
	dup := 0
	for _, n := range names {
		if n == 2 {
			dup++
		}
	}
	if soon != 1 || stopped != 1 || hours < 3 || dup != 1 {
		t.Errorf("demo seed: %d stopping soon, %d stopped, %d with hours left, %d shared names", soon, stopped, hours, dup)
	}
}

// TestStartStopTransitions follows notebooks through STARTING and STOPPING
// on the server's clock, a failing start included.
func TestStartStopTransitions(t *testing.T) {
	const transition = 2 * time.Minute
	type step struct {
		after  time.Duration // since the request
		status string
	}
	for _, tc := range []struct {
		name, path, body string
		from             string // status before
		failReason       string // FailStart before the request
		steps            []step
		stopAfter        time.Duration // once RUNNING: stop time − request time
	}{
		{"start without body", "/start?duration=7200000&type=timing", "", lease.StatusStopped, "",
			[]step{{0, lease.StatusStarting}, {transition - time.Second, lease.StatusStarting}, {transition, lease.StatusRunning}}, 2 * time.Hour},
		{"start with {}", "/start?duration=10800000&type=timing", "{}", lease.StatusStopped, "",
			[]step{{0, lease.StatusStarting}, {transition, lease.StatusRunning}}, 3 * time.Hour},
		{"start with the service's default", "/start", "", lease.StatusStopped, "",
			[]step{{0, lease.StatusStarting}, {transition, lease.StatusRunning}}, time.Hour},
		{"start after a failed start", "/start", "", lease.StatusStartFailed, "",
			[]step{{0, lease.StatusStarting}, {transition, lease.StatusRunning}}, time.Hour},
		{"failing start", "/start", "{}", lease.StatusStopped, "ModelArts.6360: insufficient resources",
			[]step{{0, lease.StatusStarting}, {transition - time.Second, lease.StatusStarting}, {transition, lease.StatusStartFailed}, {time.Hour, lease.StatusStartFailed}}, 0},
		{"stop without body", "/stop", "", lease.StatusRunning, "",
			[]step{{0, lease.StatusStopping}, {transition - time.Second, lease.StatusStopping}, {transition, lease.StatusStopped}}, 0},
		{"stop with {}", "/stop", "{}", lease.StatusRunning, "",
			[]step{{0, lease.StatusStopping}, {transition, lease.StatusStopped}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, simulator.Options{Transition: transition})
			created := e.now.Add(-5 * time.Hour)
			nb := e.sim.Add(lease.Notebook{Status: tc.from, FailReason: map[bool]string{true: "earlier failure"}[tc.from == lease.StatusStartFailed],
				Lease: lease.Lease{CreateAt: created.UnixMilli(), Duration: (6 * time.Hour).Milliseconds(), Enable: true}})
			if tc.failReason != "" {
				e.sim.FailStart(nb.ID, tc.failReason)
			}
			sent := e.now
			if a := e.call(t, "POST", nbPath(nb.ID, tc.path), tc.body, nil); a.status != 200 || a.body["status"] != tc.steps[0].status {
				t.Fatalf("%s: %d %s", tc.path, a.status, a.raw)
			}
			for _, st := range tc.steps {
				e.now = sent.Add(st.after)
				got := e.call(t, "GET", nbPath(nb.ID, ""), "", nil)
				listed := e.call(t, "GET", "/v1/"+project+"/notebooks?limit=50", "", nil)
				if got.body["status"] != st.status || !strings.Contains(listed.raw, `"status":"`+st.status+`"`) {
					t.Errorf("at +%v: get says %v, want %s (list %s)", st.after, got.body["status"], st.status, listed.raw)
				}
				switch st.status {
				case lease.StatusStarting, lease.StatusStopping:
					if !strings.Contains(got.raw, `"action_progress":[{`) {
						t.Errorf("at +%v: no action_progress while %s: %s", st.after, st.status, got.raw)
					}
				case lease.StatusStartFailed:
					if got.body["fail_reason"] != tc.failReason || !strings.Contains(listed.raw, `"fail_reason":"`+tc.failReason+`"`) {
						t.Errorf("at +%v: fail_reason %v, want %q (list %s)", st.after, got.body["fail_reason"], tc.failReason, listed.raw)
					}
					if a := e.call(t, "PATCH", nbPath(nb.ID, "/lease?duration=7200000"), "", nil); a.status != 400 || a.body["error_code"] != "ModelArts.6327" {
						t.Errorf("renew after a failed start: %d %s", a.status, a.raw)
					}
				default:
					if _, ok := got.body["fail_reason"]; ok || strings.Contains(got.raw, "action_progress") {
						t.Errorf("at +%v: %s still reports a failure or progress: %s", st.after, st.status, got.raw)
					}
				}
			}
			if tc.stopAfter != 0 {
				stored, _ := e.sim.Notebook(nb.ID)
				l := stored.Lease
				if !stored.StopTime().Equal(sent.Add(tc.stopAfter)) || l.CreateAt != created.UnixMilli() ||
					l.Duration != sent.Sub(created).Milliseconds()+tc.stopAfter.Milliseconds() {
					t.Errorf("lease after start %+v: want stop %v after the start, duration counted from create_at", l, tc.stopAfter)
				}
				e.now = sent.Add(tc.stopAfter)
				if got, _ := e.sim.Notebook(nb.ID); got.Status != lease.StatusStopped {
					t.Errorf("at the stop time: %s, want STOPPED", got.Status)
				}
			}
		})
	}
}

// TestLegacyRenew: the old RenewLease reads only a mandatory query
// parameter; the current one prefers the query and falls back on the body.
func TestLegacyRenew(t *testing.T) {
	for _, tc := range []struct {
		name      string
		legacy    bool
		query     string
		body      string
		status    int
		code      string
		stopAfter time.Duration
	}{
		{"current: body only", false, "", `{"duration":7200000,"type":"timing"}`, 200, "", 2 * time.Hour},
		{"current: query only", false, "?duration=10800000", "", 200, "", 3 * time.Hour},
		{"current: both, the query wins", false, "?duration=10800000", `{"duration":7200000,"type":"idle"}`, 200, "", 3 * time.Hour},
		{"legacy: body only is refused", true, "", `{"duration":7200000,"type":"timing"}`, 400, "ModelArts.0101", 0},
		{"legacy: nothing is refused", true, "", "", 400, "ModelArts.0101", 0},
		{"legacy: query only", true, "?duration=10800000", "", 200, "", 3 * time.Hour},
		{"legacy: both, the body is ignored", true, "?duration=10800000", `{"duration":7200000,"type":"idle"}`, 200, "", 3 * time.Hour},
		{"legacy: a body it cannot read is ignored", true, "?duration=10800000", `{"duration":`, 200, "", 3 * time.Hour},
		{"legacy: range still checked", true, "?duration=1000", "", 400, "ModelArts.6349", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, simulator.Options{LegacyRenew: tc.legacy})
			nb := e.sim.AddRunning("x", 10*time.Minute)
			a := e.call(t, "PATCH", nbPath(nb.ID, "/lease"+tc.query), tc.body, nil)
			if a.status != tc.status || tc.code != "" && a.body["error_code"] != tc.code {
				t.Fatalf("status %d %s, want %d %s", a.status, a.raw, tc.status, tc.code)
			}
			got, _ := e.sim.Notebook(nb.ID)
			want := e.now.Add(10 * time.Minute)
			if tc.stopAfter != 0 {
				want = e.now.Add(tc.stopAfter)
			}
			if !got.StopTime().Equal(want) || tc.status == 200 && got.Lease.Type != "TIMING" {
				t.Errorf("lease %+v: stop %v, want %v, type TIMING", got.Lease, got.StopTime(), want)
			}
		})
	}
}
