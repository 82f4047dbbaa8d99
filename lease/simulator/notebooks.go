package simulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leasebot/leasebot/lease"
)

const (
	minDuration = int64(lease.MinDuration / time.Millisecond)
	maxDuration = int64(lease.MaxDuration / time.Millisecond)
)

type entry struct {
	nb    lease.Notebook
	token string
	until time.Time // end of STARTING or STOPPING
	// failNext is the fail reason of the next start, set by FailStart;
	// failing is that of the start under way.
	failNext, failing string
}

// Add stores nb, replacing a notebook with the same ID, and returns the
// stored copy. Empty fields are filled: ID (a UUID v4), name, status
// (RUNNING), flavor, feature, user, URL, workspace, and a zero lease becomes
// one that stops an hour from now.
func (s *Server) Add(nb lease.Notebook) lease.Notebook {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now().UnixMilli()
	if nb.ID == "" {
		nb.ID = newUUID()
	}
	if nb.Name == "" {
		nb.Name = "notebook-" + nb.ID[:8]
	}
	if nb.Status == "" {
		nb.Status = lease.StatusRunning
	}
	nb.Status = strings.ToUpper(nb.Status)
	if nb.Flavor == "" {
		nb.Flavor = "modelarts.vm.cpu.2u"
	}
	if nb.Feature == "" {
		nb.Feature = "NOTEBOOK"
	}
	if nb.User.Name == "" {
		nb.User.Name = "demo-user"
	}
	if nb.User.ID == "" {
		nb.User.ID = hexOf("user/" + nb.User.Name)
	}
	if nb.URL == "" {
		nb.URL = "https://authoring-modelarts-eu-de.otc.t-systems.com/" + nb.ID + "/lab"
	}
	if nb.WorkspaceID == "" {
		nb.WorkspaceID = "0"
	}
	if nb.Lease == (lease.Lease{}) {
		created := now - 10*60*1000
		nb.Lease = lease.Lease{CreateAt: created, Duration: now - created + minDuration, Enable: true}
	}
	if nb.Lease.UpdateAt == 0 {
		nb.Lease.UpdateAt = nb.Lease.CreateAt
	}
	nb = clone(nb)
	if _, ok := s.nbs[nb.ID]; !ok {
		s.order = append(s.order, nb.ID)
	}
	s.nbs[nb.ID] = &entry{nb: nb, token: newUUID()}
	s.changed()
	return clone(nb)
}

// AddRunning adds a RUNNING notebook called name that stops after left.
func (s *Server) AddRunning(name string, left time.Duration) lease.Notebook {
	now := s.opt.Now()
	created := now.Add(-time.Hour).UnixMilli()
	return s.Add(lease.Notebook{
		Name:   name,
		Status: lease.StatusRunning,
		Lease:  lease.Lease{CreateAt: created, Duration: now.Add(left).UnixMilli() - created, Enable: true},
	})
}

// Notebook returns the stored notebook with ID id.
func (s *Server) Notebook(id string) (lease.Notebook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick(s.opt.Now())
	e, ok := s.nbs[id]
	if !ok {
		return lease.Notebook{}, false
	}
	return clone(e.nb), true
}

// SetStop moves the stop time of notebook id to t, as the console would.
func (s *Server) SetStop(id string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.nbs[id]; ok {
		l := &e.nb.Lease
		if l.CreateAt == 0 {
			l.CreateAt = s.opt.Now().UnixMilli()
		}
		l.Duration = t.UnixMilli() - l.CreateAt
		l.UpdateAt = s.opt.Now().UnixMilli()
		l.Enable = true
		s.changed()
	}
}

// SetStatus sets the status of notebook id, e.g. "STOPPED".
func (s *Server) SetStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.nbs[id]; ok {
		e.nb.Status = strings.ToUpper(status)
		e.until = s.opt.Now().Add(s.opt.Transition)
		s.changed()
	}
}

// Delete removes notebook id, as deleting it in the console would: it is
// listed no more and every call about it answers ModelArts' "not found".
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.nbs[id]; ok {
		delete(s.nbs, id)
		s.order = slices.DeleteFunc(s.order, func(o string) bool { return o == id })
		s.changed()
	}
}

// FailStart makes the next start of notebook id fail: it is accepted and
// the notebook goes STARTING as usual, then, when the transition ends,
// START_FAILED with reason as its fail_reason.
func (s *Server) FailStart(id, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.nbs[id]; ok {
		e.failNext = reason
	}
}

func clone(nb lease.Notebook) lease.Notebook {
	nb.Tags = slices.Clone(nb.Tags)
	nb.ActionProgress = slices.Clone(nb.ActionProgress)
	return nb
}

// progress is the action_progress of a notebook at step 2 (compute), the
// step where starts and stops spend their time.
func progress(id, status, what string) []lease.Progress {
	return []lease.Progress{{NotebookID: id, Status: status, Step: 2, StepDescription: what}}
}

// changed makes the next tick look at every notebook.
func (s *Server) changed() { s.next = time.Time{} }

// tick advances every notebook to now: transitions end, leases expire.
// It does nothing before the earliest such event it found last time.
func (s *Server) tick(now time.Time) {
	if !s.next.IsZero() && now.Before(s.next) {
		return
	}
	ms := now.UnixMilli()
	next := int64(math.MaxInt64)
	for _, e := range s.nbs {
		nb := &e.nb
		switch {
		case nb.Status == lease.StatusStarting && !now.Before(e.until) && e.failing != "":
			nb.Status, nb.FailReason = lease.StatusStartFailed, e.failing
			nb.ActionProgress = progress(nb.ID, "FAILED", "Allocating compute resources")
			e.failing = ""
		case nb.Status == lease.StatusStarting && !now.Before(e.until):
			nb.Status, nb.ActionProgress = lease.StatusRunning, nil
		case nb.Status == lease.StatusStopping && !now.Before(e.until):
			nb.Status, nb.ActionProgress = lease.StatusStopped, nil
		}
		if nb.Status == lease.StatusStarting || nb.Status == lease.StatusStopping {
			next = min(next, e.until.UnixMilli())
		}
		l := &nb.Lease
		if nb.Status == lease.StatusRunning && l.Enable && l.CreateAt != 0 {
			if stop := l.CreateAt + l.Duration; ms >= stop {
				nb.Status = lease.StatusStopped
				l.UpdateAt = stop
			} else {
				next = min(next, stop)
			}
		}
	}
	s.next = time.UnixMilli(next)
}

// serve answers an authenticated notebook request.
func (s *Server) serve(route, id string, r *http.Request, body []byte) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now()
	s.tick(now)
	if route == RouteList {
		return s.list(r)
	}
	e, ok := s.nbs[id]
	if !ok {
		return fail(http.StatusBadRequest, "ModelArts.6309", "The instance "+id+" does not exist.")
	}
	switch route {
	case RouteGet:
		return reply{status: http.StatusOK, body: render(e)}
	case RouteLease:
		if e.nb.Status != lease.StatusRunning {
			return notRunning(e)
		}
		return reply{status: http.StatusOK, body: leaseOf(e)}
	case RouteRenew:
		return s.renew(e, r, body, now)
	case RouteStart:
		return s.start(e, r, body, now)
	default:
		return s.stop(e, body, now)
	}
}

// Errors of a renewal in the legacy version, which read only the query.
func missingDuration() reply {
	return fail(http.StatusBadRequest, "ModelArts.0101", "Invalid parameter: the mandatory query parameter 'duration' is missing.")
}

func notRunning(e *entry) reply {
	return fail(http.StatusBadRequest, "ModelArts.6327", "The instance is not running (status "+e.nb.Status+").")
}

func badParam(name string) reply {
	return fail(http.StatusBadRequest, "ModelArts.0101", "Invalid parameter: '"+name+"'.")
}

func outOfRange() reply {
	return fail(http.StatusBadRequest, "ModelArts.6349", "The 'duration' parameter is incorrect. The value ranges from 3600000 to 259200000.")
}

type page struct {
	Current int    `json:"current"`
	Data    []wire `json:"data"`
	Pages   int    `json:"pages"`
	Size    int    `json:"size"`
	Total   int    `json:"total"`
}

func (s *Server) list(r *http.Request) reply {
	q := r.URL.Query()
	limit, offset := 10, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n != 10 && n != 20 && n != 50 {
			return fail(http.StatusBadRequest, "ModelArts.0101", "Invalid parameter: 'limit' must be 10, 20 or 50.")
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badParam("offset")
		}
		offset = n
	}
	feature := q.Get("feature")
	if feature == "" {
		feature = "NOTEBOOK"
	}
	status, name := q.Get("status"), q.Get("name")
	// ModelArts' sort_dir defaults to DESC; the default sort key is not
	// documented, and creation time, newest first, is assumed. A notebook
	// created while a client pages therefore shifts every later page by
	// one.
	order := slices.Clone(s.order)
	switch strings.ToUpper(q.Get("sort_dir")) {
	case "", "DESC":
		slices.Reverse(order)
	case "ASC":
	default:
		return badParam("sort_dir")
	}
	p := page{Current: offset / limit, Data: make([]wire, 0, limit), Size: limit}
	for _, id := range order {
		e := s.nbs[id]
		if !strings.EqualFold(e.nb.Feature, feature) ||
			status != "" && !strings.EqualFold(e.nb.Status, status) ||
			name != "" && !strings.Contains(e.nb.Name, name) {
			continue
		}
		if p.Total >= offset && p.Total < offset+limit {
			p.Data = append(p.Data, render(e))
		}
		p.Total++
	}
	p.Pages = (p.Total + limit - 1) / limit
	return reply{status: http.StatusOK, body: p}
}

// requested reads the duration and lease type of a renew or start request:
// the query's duration wins (and forces timing), then the body, then 1 h.
func requested(r *http.Request, body []byte, fromBody bool) (int64, string, *reply) {
	d, typ := minDuration, "TIMING"
	if fromBody && len(body) > 0 {
		var b struct {
			Duration *int64 `json:"duration"`
			Type     string `json:"type"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			rep := fail(http.StatusBadRequest, "ModelArts.0104", "Invalid request body.")
			return 0, "", &rep
		}
		if b.Duration != nil {
			d = *b.Duration
		}
		if b.Type != "" {
			typ = strings.ToUpper(b.Type)
		}
	}
	q := r.URL.Query()
	if !fromBody && q.Get("type") != "" {
		typ = strings.ToUpper(q.Get("type"))
	}
	if v := q.Get("duration"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			rep := badParam("duration")
			return 0, "", &rep
		}
		d = n
		if fromBody {
			typ = "TIMING"
		}
	}
	if typ != "TIMING" && typ != "IDLE" {
		rep := badParam("type")
		return 0, "", &rep
	}
	if d < minDuration || d > maxDuration {
		rep := outOfRange()
		return 0, "", &rep
	}
	return d, typ, nil
}

// setLease makes the lease stop d ms after now, keeping create_at, as ModelArts does.
func setLease(e *entry, now time.Time, d int64, typ string) {
	l := &e.nb.Lease
	ms := now.UnixMilli()
	if l.CreateAt == 0 {
		l.CreateAt = ms
	}
	l.Duration = ms - l.CreateAt + d
	l.Enable, l.Type, l.UpdateAt = true, typ, ms
}

func (s *Server) setLease(e *entry, now time.Time, d int64, typ string) {
	setLease(e, now, d, typ)
	s.changed()
}

func (s *Server) renew(e *entry, r *http.Request, body []byte, now time.Time) reply {
	if e.nb.Status != lease.StatusRunning {
		return notRunning(e)
	}
	if s.opt.LegacyRenew {
		if !r.URL.Query().Has("duration") {
			return missingDuration()
		}
		body = nil // ignored: the query decides, and the stop is scheduled
	}
	d, typ, bad := requested(r, body, true)
	if bad != nil {
		return *bad
	}
	s.setLease(e, now, d, typ)
	if s.opt.Reply204 {
		return reply{status: http.StatusNoContent}
	}
	return reply{status: http.StatusOK, body: leaseOf(e)}
}

// notNow is the answer to start or stop in a status that allows neither.
func notNow(status string) reply {
	switch status {
	case lease.StatusStarting:
		return fail(http.StatusBadRequest, "ModelArts.6306", "The instance is starting. No other operation can be performed.")
	case lease.StatusStopping:
		return fail(http.StatusBadRequest, "ModelArts.6308", "The instance is stopping. No other operation can be performed.")
	}
	return fail(http.StatusBadRequest, "ModelArts.6357", "The operation is not allowed in status "+status+".")
}

// start starts a STOPPED (or START_FAILED) notebook. Its lease is measured
// from the start request, as ModelArts does: create_at stays and duration
// becomes (now − create_at) + the duration asked for.
func (s *Server) start(e *entry, r *http.Request, body []byte, now time.Time) reply {
	switch e.nb.Status {
	case lease.StatusStopped, lease.StatusStartFailed:
	case lease.StatusRunning:
		return fail(http.StatusBadRequest, "ModelArts.6305", "The instance is already running and cannot be started again.")
	default:
		return notNow(e.nb.Status)
	}
	if rep, ok := optionalBody(body); !ok {
		return rep
	}
	d, typ, bad := requested(r, body, false)
	if bad != nil {
		return *bad
	}
	s.setLease(e, now, d, typ)
	e.nb.Status, e.until = lease.StatusStarting, now.Add(s.opt.Transition)
	e.nb.FailReason, e.nb.ActionProgress = "", progress(e.nb.ID, "PROCESSING", "Allocating compute resources")
	e.failing, e.failNext = e.failNext, ""
	return reply{status: http.StatusOK, body: render(e)}
}

func (s *Server) stop(e *entry, body []byte, now time.Time) reply {
	switch e.nb.Status {
	case lease.StatusRunning:
	case lease.StatusStopped:
		return fail(http.StatusBadRequest, "ModelArts.6307", "The instance has been stopped.")
	default:
		return notNow(e.nb.Status)
	}
	if rep, ok := optionalBody(body); !ok {
		return rep
	}
	e.nb.Lease.UpdateAt = now.UnixMilli()
	e.nb.Status, e.until = lease.StatusStopping, now.Add(s.opt.Transition)
	e.nb.ActionProgress = progress(e.nb.ID, "PROCESSING", "Releasing compute resources")
	s.changed()
	return reply{status: http.StatusOK, body: render(e)}
}

// optionalBody accepts the body of a start or stop: none (Huawei's SDK
// sends none) or a JSON object (other clients send "{}"); anything else is
// refused.
func optionalBody(body []byte) (reply, bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		return reply{}, true
	}
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return fail(http.StatusBadRequest, "ModelArts.0104", "Invalid request body."), false
	}
	return reply{}, true
}

// leaseOf is the lease as the lease endpoints answer it: type upper case.
func leaseOf(e *entry) lease.Lease {
	l := e.nb.Lease
	if l.Type == "" {
		l.Type = "TIMING"
	}
	return l
}

type image struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	SWRPath string `json:"swr_path"`
	Type    string `json:"type"`
}

type volume struct {
	Capacity  int    `json:"capacity"`
	Category  string `json:"category"`
	MountPath string `json:"mount_path"`
	Ownership string `json:"ownership"`
}

// wire is a notebook as ModelArts serialises it.
type wire struct {
	lease.Notebook
	Image        image    `json:"image"`
	Volume       volume   `json:"volume"`
	Token        string   `json:"token"`
	BillingItems []string `json:"billing_items"`
}

func render(e *entry) wire {
	img := "notebook2.0-mul-kernel-cpu-cp36"
	if strings.Contains(e.nb.Flavor, "gpu") {
		img = "pytorch1.8-cuda10.2-cudnn7-ubuntu18.04"
	}
	return wire{
		Notebook: clone(e.nb),
		Image: image{
			ID: hexOf("image/" + img), Name: img, Type: "BUILD_IN",
			SWRPath: "swr.eu-de.otc.t-systems.com/atelier/" + img + ":3.3.2-release_v1",
		},
		Volume:       volume{Capacity: 50, Category: "EVS", MountPath: "/home/ma-user/work/", Ownership: "MANAGED"},
		Token:        e.token,
		BillingItems: []string{"STORAGE", "COMPUTE"},
	}
}

// hexOf derives a stable 32-hex-digit ID from s.
func hexOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// SeedDemo adds a handful of realistic notebooks, relative to now: one
// RUNNING that stops in under three minutes, one that stops in under an
// hour (worth keeping), one STOPPED, two RUNNING that share a name, and
// others with hours left.
func SeedDemo(s *Server, now time.Time) {
	type demo struct {
		name, desc, status, flavor, user string
		started                          time.Duration // before now
		left                             time.Duration // until the stop time
		tags                             []lease.Tag
	}
	team := func(t string) []lease.Tag { return []lease.Tag{{Key: "team", Value: t}} }
	for _, d := range []demo{
		{"llm-finetune", "LoRA fine-tuning of the support-ticket model", lease.StatusRunning, "modelarts.vm.gpu.v100", "alice", 5 * time.Hour, 2*time.Minute + 50*time.Second, team("nlp")},
		{"data-prep", "Nightly feature extraction", lease.StatusStopped, "modelarts.vm.cpu.8u", "bob", 30 * time.Hour, -26 * time.Hour, team("data")},
		{"team-a-sandbox", "Shared sandbox", lease.StatusRunning, "modelarts.vm.cpu.2u", "alice", 2 * time.Hour, 3 * time.Hour, team("a")},
		{"team-a-sandbox", "Shared sandbox (copy)", lease.StatusRunning, "modelarts.vm.cpu.2u", "bob", 90 * time.Minute, 5*time.Hour + 30*time.Minute, team("a")},
		{"vision-train", "ResNet-50 retraining on the new labels", lease.StatusRunning, "modelarts.vm.gpu.t4", "carol", 20 * time.Hour, 26 * time.Hour,
			append(team("vision"), lease.Tag{Key: "env", Value: "prod"})},
		{"eval-benchmarks", "Offline evaluation runs", lease.StatusRunning, "modelarts.vm.cpu.8u", "carol", 40 * time.Minute, 9 * time.Hour, team("nlp")},
		{"nightly-etl", "Feature pipeline that runs through the night", lease.StatusRunning, "modelarts.vm.cpu.8u", "carol", 10 * time.Hour, 50 * time.Minute, team("data")},
	} {
		created := now.Add(-d.started).UnixMilli()
		s.Add(lease.Notebook{
			Name: d.name, Description: d.desc, Status: d.status, Flavor: d.flavor,
			User: lease.User{Name: d.user}, Tags: d.tags,
			Lease: lease.Lease{CreateAt: created, Duration: now.Add(d.left).UnixMilli() - created, Enable: true, Type: "TIMING", UpdateAt: created},
		})
	}
}
