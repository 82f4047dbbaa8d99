package lease

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLeaseJSON(t *testing.T) {
	for _, c := range []struct {
		in       string
		enable   bool
		stop     int64
		isTiming bool
	}{
		{`{"create_at":1000,"duration":3600000,"enable":true,"type":"TIMING"}`, true, 3601000, true},
		{`{"create_at":1000,"duration":3600000,"enable":false}`, false, 0, true},
		{`{"create_at":1000,"duration":3600000}`, true, 3601000, true},
		{`{"create_at":1000,"duration":3600000,"type":"timing"}`, true, 3601000, true},
		{`{"create_at":1000,"duration":3600000,"type":"IDLE"}`, true, 3601000, false},
		{`{}`, true, 0, true},
	} {
		var l Lease
		if err := json.Unmarshal([]byte(c.in), &l); err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		var stop int64
		if s := l.StopTime(); !s.IsZero() {
			stop = s.UnixMilli()
		}
		if l.Enable != c.enable || stop != c.stop || l.IsTiming() != c.isTiming {
			t.Errorf("%s: enable %v stop %d timing %v, want %v %d %v", c.in, l.Enable, stop, l.IsTiming(), c.enable, c.stop, c.isTiming)
		}
	}
	var nb Notebook
	if err := json.Unmarshal([]byte(`{"id":"x","status":"RUNNING","lease":{"create_at":5,"duration":10}}`), &nb); err != nil || nb.StopTime() != time.UnixMilli(15) {
		t.Errorf("a notebook's lease without enable: %v, %v", nb.StopTime(), err)
	}
}

func TestNotebookStartFields(t *testing.T) {
	const in = `{"id":"f9937afa-631e-4a8f-a8f7-3b6c800585f0","status":"START_FAILED",
		"fail_reason":"Insufficient resources in the pool.",
		"action_progress":[{"notebook_id":"f9937afa-631e-4a8f-a8f7-3b6c800585f0","status":"FAILED","step":2,"step_description":"compute"}]}`
	var nb Notebook
	if err := json.Unmarshal([]byte(in), &nb); err != nil {
		t.Fatal(err)
	}
	want := Progress{NotebookID: nb.ID, Status: "FAILED", Step: 2, StepDescription: "compute"}
	if nb.Status != StatusStartFailed || nb.FailReason != "Insufficient resources in the pool." ||
		len(nb.ActionProgress) != 1 || nb.ActionProgress[0] != want {
		t.Errorf("decoded %+v", nb)
	}
}

func TestIsNotebookID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"f9937afa-631e-4a8f-a8f7-3b6c800585f0", true},
		{"F9937AFA-631E-4A8F-A8F7-3B6C800585F0", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"f9937afa631e4a8fa8f73b6c800585f0", false},      // no dashes
		{"f9937afa-631e-4a8f-a8f7-3b6c800585f", false},   // short
		{"f9937afa-631e-4a8f-a8f7-3b6c800585f00", false}, // long
		{"g9937afa-631e-4a8f-a8f7-3b6c800585f0", false},  // not hex
		{"f9937afa-631e-4a8f_a8f7-3b6c800585f0", false},  // wrong separator
		{"f9937afa--31e-4a8f-a8f7-3b6c800585f0", false},
		{"team-a-sandbox", false},
		{"", false},
	} {
		if got := IsNotebookID(tc.in); got != tc.want {
			t.Errorf("IsNotebookID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"team-a_sandbox-01", true},
		{"f9937afa-631e-4a8f-a8f7-3b6c800585f0", true}, // every ID is a valid name
		{strings.Repeat("n", MaxNameLen), true},
		{strings.Repeat("n", MaxNameLen+1), false},
		{"", false},
		{"a b", false},
		{"../x", false},
		{"a/b", false},
		{"a.b", false},
		{"a?x=1", false},
		{"café", false},
	} {
		if got := ValidName(tc.in); got != tc.want {
			t.Errorf("ValidName(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
