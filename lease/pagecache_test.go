package lease_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
)

// TestListingReusesUnchangedPages checks that a repeated listing returns the
// same notebooks and that a change on one page is seen (the decode cache
// compares bytes, so it can never serve a stale page).
func TestListingReusesUnchangedPages(t *testing.T) {
	f := setup(t, with{})
	var ids []string
	for i := range 120 {
		ids = append(ids, f.sim.AddRunning(fmt.Sprintf("nb-%03d", i), time.Duration(i+1)*time.Hour).ID)
	}
	ctx := context.Background()
	first, err := f.c.List(ctx, lease.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	moved := f.clk.Now().Add(50 * time.Hour).Truncate(time.Millisecond)
	f.sim.SetStop(ids[70], moved)
	f.sim.SetStatus(ids[5], lease.StatusStopped)
	second, err := f.c.List(ctx, lease.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 120 || len(second) != 120 {
		t.Fatalf("listed %d then %d notebooks, want 120", len(first), len(second))
	}
	byID := map[string]lease.Notebook{}
	for _, nb := range second {
		byID[nb.ID] = nb
	}
	if got := byID[ids[70]].StopTime(); !got.Equal(moved) {
		t.Errorf("a moved stop time on a cached page was missed: %v, want %v", got, moved)
	}
	if byID[ids[5]].Running() {
		t.Error("a stopped notebook on a cached page still shows RUNNING")
	}
	for i, nb := range first {
		if nb.ID != ids[5] && nb.ID != ids[70] && !byID[nb.ID].StopTime().Equal(nb.StopTime()) {
			t.Errorf("notebook %d changed between two listings", i)
		}
	}
}

// TestListingWithoutTotal keeps paging while pages are full when an answer
// carries no total, and stops at the first short page.
func TestListingWithoutTotal(t *testing.T) {
	f := setup(t, with{front: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var page map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &page) == nil && page["data"] != nil {
			delete(page, "total")
			delete(page, "pages")
			b, _ := json.Marshal(page)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			w.Write(b)
			return
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}})
	for i := range 120 {
		f.sim.AddRunning(fmt.Sprintf("nb-%03d", i), time.Hour)
	}
	nbs, err := f.c.List(context.Background(), lease.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nbs) != 120 {
		t.Errorf("listed %d notebooks without a total, want 120", len(nbs))
	}
	if n := f.sim.Count(simulator.RouteList); n != 3 {
		t.Errorf("%d list requests, want 3 (50, 50, 20)", n)
	}
}

// TestListingWithCappedPages: a server that answers at most 20 notebooks a
// page, whatever limit is asked for, but says how many there are in total,
// is paged until that total is reached.
func TestListingWithCappedPages(t *testing.T) {
	f := setup(t, with{front: capPages(20)})
	for i := range 75 {
		f.sim.AddRunning(fmt.Sprintf("nb-%03d", i), time.Hour)
	}
	nbs, err := f.c.List(context.Background(), lease.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, nb := range nbs {
		seen[nb.Name] = true
	}
	if len(nbs) != 75 || len(seen) != 75 {
		t.Errorf("listed %d notebooks (%d names) from pages of 20, want 75", len(nbs), len(seen))
	}
	reqs := f.sim.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d list requests, want 4 (20, 20, 20, 15)", len(reqs))
	}
	for i, r := range reqs {
		if want := fmt.Sprintf("limit=50&offset=%d", 20*i); r.Query != want {
			t.Errorf("request %d query %q, want %q", i, r.Query, want)
		}
	}
}

// capPages answers at most max notebooks a page, whatever limit was asked
// for, keeping the simulator's total.
func capPages(max int) func(http.ResponseWriter, *http.Request, http.Handler) {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var page map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &page) == nil {
			if data, ok := page["data"].([]any); ok && len(data) > max {
				page["data"], page["size"] = data[:max], max
			}
			b, _ := json.Marshal(page)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			w.Write(b)
			return
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}
}

// TestListingWhileANotebookIsCreated: ModelArts lists newest first, so a
// notebook created between two pages shifts the later pages by one, and
// the next page repeats the last notebook of the page before. The listing
// still holds every notebook once.
func TestListingWhileANotebookIsCreated(t *testing.T) {
	var f *fixture
	var mu sync.Mutex
	pages, onWire := 0, map[string]int{}
	f = setup(t, with{front: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &page) == nil {
			mu.Lock()
			for _, nb := range page.Data {
				onWire[nb.ID]++
			}
			pages++
			first := pages == 1
			mu.Unlock()
			if first {
				f.sim.AddRunning("created-mid-listing", time.Hour)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}})
	var ids []string
	for i := range 120 {
		ids = append(ids, f.sim.AddRunning(fmt.Sprintf("nb-%03d", i), time.Hour).ID)
	}
	nbs, err := f.c.List(context.Background(), lease.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]int{}
	for _, nb := range nbs {
		listed[nb.ID]++
	}
	for id, n := range listed {
		if n != 1 {
			t.Errorf("notebook %s listed %d times", id, n)
		}
	}
	for _, id := range ids {
		if listed[id] != 1 {
			t.Errorf("notebook %s listed %d times, want once", id, listed[id])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	repeated := 0
	for _, n := range onWire {
		if n > 1 {
			repeated++
		}
	}
	if repeated != 1 {
		t.Errorf("%d notebooks came twice across pages, want 1: the page after the creation repeats one", repeated)
	}
}
