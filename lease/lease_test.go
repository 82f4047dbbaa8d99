package lease

import (
	"encoding/json"
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
