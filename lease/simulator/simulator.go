// Package simulator is an in-memory ModelArts notebook service: an
// http.Handler that answers the calls of the lease client the way ModelArts
// does, its surprises included (unknown IDs are HTTP 400 ModelArts.6309,
// limit must be 10, 20 or 50, renew answers may be 204, unknown paths are
// the gateway's 404 APIG.0101, listings run newest first, older versions
// want the renewal's duration in the query). Notebooks start and stop
// through STARTING and STOPPING, a start can be made to fail, and leases
// expire, all on the clock of Options.Now. It verifies every AK/SK
// signature, can issue IAM tokens, injects faults (answers lost after a
// change was made included) and logs requests. Tests, `leasebot demo` and
// `leasebot run -simulate` use it.
package simulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leasebot/leasebot/lease/internal/apig"
)

// Route names, as used by Fault.Route, Request.Route and Count.
const (
	RouteList  = "list"  // GET /v1/{project}/notebooks and …/notebooks/all
	RouteGet   = "get"   // GET …/notebooks/{id}
	RouteLease = "lease" // GET …/notebooks/{id}/lease
	RouteRenew = "renew" // PATCH …/notebooks/{id}/lease
	RouteStart = "start" // POST …/notebooks/{id}/start
	RouteStop  = "stop"  // POST …/notebooks/{id}/stop
	RouteToken = "token" // POST /v3/auth/tokens (only with Options.IAM)
)

const (
	// MaxClockSkew is how far X-Sdk-Date may be from the server's clock.
	MaxClockSkew = 15 * time.Minute
	// MaxLog bounds the request log; when full, its older half is dropped.
	MaxLog = 100_000
)

// Options configures a Server. With neither AK nor IAM set, requests are
// not authenticated at all.
type Options struct {
	ProjectID string           // required in every path; default a random ID
	AK, SK    string           // the access key pair whose signatures are accepted
	Now       func() time.Time // the server clock; default time.Now
	IAM       *IAMUser         // if set, serves POST /v3/auth/tokens and accepts its tokens
	Reply204  bool             // renew answers 204 No Content instead of 200 with the lease
	// Transition is how long STARTING and STOPPING last; 0 means until the next request.
	Transition time.Duration
	// LegacyRenew answers renewals as ModelArts did until mid-2024: the
	// duration is a mandatory query parameter, the body is ignored, and a
	// renewal without the parameter is refused (400 ModelArts.0101). Some
	// regions still run that version.
	LegacyRenew bool
}

// IAMUser is the one IAM user whose password the token endpoint accepts.
type IAMUser struct {
	Name, Password, Domain string
	TTL                    time.Duration // token validity; default 24h
}

// Fault scripts an answer for requests that match Method (empty: any),
// Route (empty: any) and PathSuffix (empty: any).
type Fault struct {
	Method     string
	Route      string
	PathSuffix string
	Status     int           // answer with this status instead of serving; 0 serves normally after Latency
	Code, Msg  string        // error_code and error_msg; defaults follow Status
	Times      int           // requests it applies to; 0 or less: every request until Reset
	Latency    time.Duration // delay before answering
	RetryAfter time.Duration // sent as Retry-After, in whole seconds rounded up
	// Apply serves the request first, carrying out any change it asks
	// for, and only then answers Status: a gateway whose backend applied
	// a change but whose answer was lost (a 502 or a 504).
	Apply bool
}

// Request is one logged request.
type Request struct {
	Method, Path, Query string
	Route               string // empty for unknown paths
	Status              int
	Time                time.Time // server clock at arrival
	Body                string
}

// Server is the simulated service. It is safe for concurrent use.
type Server struct {
	opt Options

	mu     sync.Mutex
	nbs    map[string]*entry
	order  []string // insertion order, oldest first; listings run newest first
	faults []Fault
	log    []Request
	tokens map[string]time.Time // IAM token → expiry
	next   time.Time            // earliest pending status change; zero: unknown
}

// New returns a Server with no notebooks.
func New(opt Options) *Server {
	if opt.ProjectID == "" {
		opt.ProjectID = randomHex(16)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.IAM != nil && opt.IAM.TTL <= 0 {
		iam := *opt.IAM
		iam.TTL = 24 * time.Hour
		opt.IAM = &iam
	}
	return &Server{opt: opt, nbs: make(map[string]*entry), tokens: make(map[string]time.Time)}
}

// ProjectID is the project the server serves.
func (s *Server) ProjectID() string { return s.opt.ProjectID }

// Inject adds a fault; faults are tried in the order they were added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Count returns how many logged requests hit route.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if r.Route == route {
			n++
		}
	}
	return n
}

// Reset clears the request log and the faults; notebooks stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.faults = nil, nil
}

// reply is an answer; a nil body means none.
type reply struct {
	status int
	body   any
	header http.Header
}

type errorBody struct {
	Code string `json:"error_code"`
	Msg  string `json:"error_msg"`
}

func fail(status int, code, msg string) reply {
	return reply{status: status, body: errorBody{code, msg}}
}

// ServeHTTP answers one request: scripted fault, IAM token, or notebook
// call after authentication, and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Time: s.opt.Now(), Body: string(body)}
	route, project, id := match(r.Method, r.URL.Path)
	rec.Route = route
	if route == RouteToken {
		rec.Body = "[password redacted]"
	}

	f, faulty := s.takeFault(r.Method, r.URL.Path, route)
	if faulty && f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	var rep reply
	switch {
	case err != nil:
		rep = fail(http.StatusBadRequest, "ModelArts.0104", "The request body cannot be read.")
	case faulty && f.Status != 0:
		if f.Apply && route != "" && route != RouteToken {
			if s.authenticate(r, body, project).status == 0 {
				s.serve(route, id, r, body)
			}
		}
		rep = faultReply(f)
	case route == "":
		rep = fail(http.StatusNotFound, "APIG.0101", "The API does not exist or has not been published in the environment.")
	case route == RouteToken:
		rep = s.issueToken(body)
	default:
		if rep = s.authenticate(r, body, project); rep.status == 0 {
			rep = s.serve(route, id, r, body)
		}
	}

	// Log before answering: a client that has its answer must find the
	// request in the log.
	rec.Status = rep.status
	s.mu.Lock()
	if len(s.log) >= MaxLog {
		s.log = append(s.log[:0], s.log[len(s.log)-MaxLog/2:]...)
	}
	s.log = append(s.log, rec)
	s.mu.Unlock()

	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.body != nil {
		b, _ := json.Marshal(rep.body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(rep.status)
		_, _ = w.Write(b)
	} else {
		w.WriteHeader(rep.status)
	}
}

// match returns the route name, project ID and notebook ID of a request.
func match(method, path string) (route, project, id string) {
	if path == "/v3/auth/tokens" {
		if method == http.MethodPost {
			return RouteToken, "", ""
		}
		return "", "", ""
	}
	p := strings.Split(strings.Trim(path, "/"), "/")
	if len(p) < 3 || p[0] != "v1" || p[2] != "notebooks" {
		return "", "", ""
	}
	project = p[1]
	switch {
	case len(p) == 3 && method == http.MethodGet:
		return RouteList, project, ""
	case len(p) == 4 && method == http.MethodGet && p[3] == "all":
		return RouteList, project, ""
	case len(p) == 4 && method == http.MethodGet:
		return RouteGet, project, p[3]
	case len(p) != 5:
		return "", "", ""
	}
	id = p[3]
	switch method + " " + p[4] {
	case "GET lease":
		return RouteLease, project, id
	case "PATCH lease":
		return RouteRenew, project, id
	case "POST start":
		return RouteStart, project, id
	case "POST stop":
		return RouteStop, project, id
	}
	return "", "", ""
}

func (s *Server) takeFault(method, path, route string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Method != "" && !strings.EqualFold(f.Method, method) ||
			f.Route != "" && f.Route != route ||
			f.PathSuffix != "" && !strings.HasSuffix(path, f.PathSuffix) {
			continue
		}
		hit := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return hit, true
	}
	return Fault{}, false
}

func faultReply(f Fault) reply {
	code, msg := f.Code, f.Msg
	if code == "" {
		switch {
		case f.Status == http.StatusUnauthorized:
			code, msg = "APIG.0301", "Incorrect IAM authentication information."
		case f.Status == http.StatusForbidden:
			code, msg = "ModelArts.0108", "Not authorized to perform this operation."
		case f.Status == http.StatusRequestTimeout:
			code, msg = "ModelArts.6100", "Request timed out."
		case f.Status == http.StatusTooManyRequests:
			code, msg = "ModelArts.6101", "System busy. Try again later."
		case f.Status >= 500:
			code, msg = "ModelArts.6102", "Internal error."
		default:
			code, msg = "ModelArts.0101", "Invalid parameter."
		}
	}
	rep := fail(f.Status, code, msg)
	if f.RetryAfter > 0 {
		rep.header = http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds())))}}
	}
	return rep
}

// authenticate returns a zero reply when the request may proceed.
func (s *Server) authenticate(r *http.Request, body []byte, project string) reply {
	now := s.opt.Now()
	switch tok := r.Header.Get("X-Auth-Token"); {
	case s.opt.AK == "" && s.opt.IAM == nil:
	case tok != "":
		s.mu.Lock()
		exp, ok := s.tokens[tok]
		s.mu.Unlock()
		if !ok || !now.Before(exp) {
			return fail(http.StatusUnauthorized, "APIG.0307", "The token must be updated.")
		}
	case r.Header.Get("Authorization") != "":
		if s.opt.AK == "" {
			return fail(http.StatusUnauthorized, "APIG.0301", "Incorrect IAM authentication information: AK/SK authentication is not enabled.")
		}
		secret := func(ak string) (string, bool) { return s.opt.SK, ak == s.opt.AK }
		if err := apig.Verify(r, body, secret, now, MaxClockSkew); err != nil {
			return fail(http.StatusUnauthorized, "APIG.0301", "Incorrect IAM authentication information: "+err.Error())
		}
	default:
		return fail(http.StatusUnauthorized, "APIG.0301", "Incorrect IAM authentication information: no credentials in the request.")
	}
	if h := r.Header.Get("X-Project-Id"); project != s.opt.ProjectID || h != "" && h != s.opt.ProjectID {
		return fail(http.StatusForbidden, "ModelArts.0108", "Not authorized to access project "+project+".")
	}
	return reply{}
}

func (s *Server) issueToken(body []byte) reply {
	iam := s.opt.IAM
	if iam == nil {
		return fail(http.StatusNotFound, "APIG.0101", "The API does not exist or has not been published in the environment.")
	}
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name, Password string
						Domain         struct{ Name string }
					}
				}
			}
			Scope struct {
				Project struct{ ID, Name string }
			}
		}
	}
	iamErr := func(status int, msg string) reply {
		return reply{status: status, body: map[string]any{"error": map[string]any{"code": status, "message": msg, "title": http.StatusText(status)}}}
	}
	if json.Unmarshal(body, &req) != nil {
		return iamErr(http.StatusBadRequest, "The request body is invalid.")
	}
	u := req.Auth.Identity.Password.User
	if u.Name != iam.Name || u.Password != iam.Password || u.Domain.Name != iam.Domain {
		return iamErr(http.StatusUnauthorized, "The username or password is wrong.")
	}
	if p := req.Auth.Scope.Project; p.ID != s.opt.ProjectID {
		return iamErr(http.StatusBadRequest, "The project is invalid.")
	}
	now := s.opt.Now().UTC()
	exp := now.Add(iam.TTL)
	tok := "MIIT" + randomHex(64)
	s.mu.Lock()
	for t, e := range s.tokens {
		if !now.Before(e) {
			delete(s.tokens, t)
		}
	}
	s.tokens[tok] = exp
	s.mu.Unlock()
	const iso = "2006-01-02T15:04:05.000000Z"
	domain := map[string]string{"id": hexOf("domain/" + iam.Domain), "name": iam.Domain}
	return reply{
		status: http.StatusCreated,
		header: http.Header{"X-Subject-Token": {tok}},
		body: map[string]any{"token": map[string]any{
			"expires_at": exp.Format(iso),
			"issued_at":  now.Format(iso),
			"methods":    []string{"password"},
			"project":    map[string]any{"id": s.opt.ProjectID, "name": "eu-de", "domain": domain},
			"user":       map[string]any{"id": hexOf("user/" + iam.Name), "name": iam.Name, "domain": domain},
		}},
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
