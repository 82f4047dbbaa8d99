package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease"
)

// planNow is the fixed "now" of the planExtension tests.
var planNow = time.Date(2025, 11, 28, 12, 0, 0, 0, time.UTC)

// runningUntil is a RUNNING notebook whose lease stops at stop.
func runningUntil(stop time.Time) lease.Notebook {
	const hour = int64(time.Hour / time.Millisecond)
	return lease.Notebook{
		ID: "0f1e2d3c-nb", Name: "train-gpu", Status: lease.StatusRunning,
		Lease: lease.Lease{CreateAt: stop.UnixMilli() - hour, Duration: hour, Enable: true, Type: "timing"},
	}
}

func TestPlanExtensionAllowed(t *testing.T) {
	now := planNow
	h, m := time.Hour, time.Minute
	tests := []struct {
		name      string
		stop      time.Time // current stop
		target    time.Time
		maxExtend time.Duration
		wantStop  time.Time // target sent to ModelArts
		wantBy    time.Duration
		raised    bool
	}{
		{"by 1h from a future stop", now.Add(2 * h), now.Add(3 * h), 8 * h, now.Add(3 * h), h, false},
		{"until a later time", now.Add(2 * h), now.Add(5*h + 30*m), 8 * h, now.Add(5*h + 30*m), 3*h + 30*m, false},
		{"stop already past: counted from now", now.Add(-30 * m), now.Add(2 * h), 8 * h, now.Add(2 * h), 2 * h, false},
		{"exactly max_extend", now.Add(2 * h), now.Add(10 * h), 8 * h, now.Add(10 * h), 8 * h, false},
		{"exactly max_extend from now", now.Add(-time.Minute), now.Add(4 * h), 4 * h, now.Add(4 * h), 4 * h, false},
		{"exactly 72h from now", now.Add(68 * h), now.Add(72 * h), 8 * h, now.Add(72 * h), 4 * h, false},
		{"exactly 72h from now with a 72h limit", now, now.Add(72 * h), 72 * h, now.Add(72 * h), 72 * h, false},
		{"exactly 1h from now is not raised", now.Add(10 * m), now.Add(h), 8 * h, now.Add(h), 50 * m, false},
		{"under 1h from now is raised", now.Add(10 * m), now.Add(30 * m), 8 * h, now.Add(h), 50 * m, true},
		{"under 1h from a past stop is raised", now.Add(-10 * m), now.Add(20 * m), 8 * h, now.Add(h), h, true},
		{"one minute under 1h is raised", now.Add(5 * m), now.Add(59 * m), 8 * h, now.Add(h), 55 * m, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb := runningUntil(tt.stop)
			p, no := planExtension(nb, tt.target, tt.maxExtend, now)
			if no != nil {
				t.Fatalf("refused (%s): %s", no.code, no.text)
			}
			if !p.target.Equal(tt.wantStop) {
				t.Errorf("target = %v, want %v", p.target, tt.wantStop)
			}
			if p.by != tt.wantBy {
				t.Errorf("by = %v, want %v", p.by, tt.wantBy)
			}
			if p.raised != tt.raised {
				t.Errorf("raised = %v, want %v", p.raised, tt.raised)
			}
			if !p.old.Equal(tt.stop) {
				t.Errorf("old = %v, want %v", p.old, tt.stop)
			}
			if p.nb.ID != nb.ID {
				t.Errorf("plan is for %q, want %q", p.nb.ID, nb.ID)
			}
			// Whatever the plan, ModelArts is asked for 1h … 72h from now.
			if left := p.target.Sub(now); left < lease.MinDuration || left > lease.MaxDuration {
				t.Errorf("target is %v from now, outside the API range", left)
			}
			// new stop = max(current, now) + by
			base := tt.stop
			if base.Before(now) {
				base = now
			}
			if !base.Add(p.by).Equal(p.target) {
				t.Errorf("max(stop, now) + by = %v, want the target %v", base.Add(p.by), p.target)
			}
		})
	}
}

func TestPlanExtensionRefused(t *testing.T) {
	now := planNow
	h, m := time.Hour, time.Minute
	stopped := runningUntil(now.Add(h))
	stopped.Status = lease.StatusStopped
	starting := runningUntil(now.Add(h))
	starting.Status = lease.StatusStarting
	off := runningUntil(now.Add(h))
	off.Lease.Enable = false
	empty := runningUntil(now.Add(h))
	empty.Lease = lease.Lease{}
	tests := []struct {
		name      string
		nb        lease.Notebook
		target    time.Time
		maxExtend time.Duration
		code      string
		want      []string // substrings of the refusal text
		notWant   []string
	}{
		{"stopped", stopped, now.Add(3 * h), 8 * h, "not_running", []string{"train-gpu", "0f1e2d3c-nb", "STOPPED", "not RUNNING"}, nil},
		{"starting", starting, now.Add(3 * h), 8 * h, "not_running", []string{"STARTING"}, nil},
		{"auto-stop off", off, now.Add(3 * h), 8 * h, "auto_stop_off", []string{"train-gpu", "0f1e2d3c-nb", "auto-stop turned off"}, nil},
		{"no lease", empty, now.Add(3 * h), 8 * h, "auto_stop_off", []string{"auto-stop"}, nil},
		{"until earlier than the stop", runningUntil(now.Add(5 * h)), now.Add(4 * h), 8 * h, "earlier",
			[]string{"train-gpu", "already stops", "2025-11-28 17:00 UTC", "only ever moves a stop time later"}, nil},
		{"until one millisecond earlier", runningUntil(now.Add(5 * h)), now.Add(5*h - time.Millisecond), 8 * h, "earlier", nil, nil},
		{"until exactly the stop", runningUntil(now.Add(5 * h)), now.Add(5 * h), 8 * h, "unchanged",
			[]string{"exactly that time", "2025-11-28 17:00 UTC"}, nil},
		{"until a time earlier than now and the stop", runningUntil(now.Add(2 * h)), now.Add(-h), 8 * h, "earlier", nil, nil},
		{"over max_extend by a minute", runningUntil(now.Add(2 * h)), now.Add(10*h + m), 8 * h, "over_max_extend",
			[]string{"extension of 8h 01m", "at most 8h at a time", "largest extension possible right now is 8h."}, nil},
		{"over max_extend, 72h leaves less", runningUntil(now.Add(68 * h)), now.Add(77 * h), 8 * h, "over_max_extend",
			[]string{"extension of 9h", "at most 8h at a time", "largest extension possible right now is 4h."}, nil},
		{"over max_extend at the 72h ceiling", runningUntil(now.Add(72 * h)), now.Add(81 * h), 8 * h, "over_max_extend",
			[]string{"at most 8h at a time"}, []string{"largest extension possible"}},
		{"over max_extend from a past stop", runningUntil(now.Add(-h)), now.Add(5 * h), 4 * h, "over_max_extend",
			[]string{"extension of 5h", "at most 4h", "right now is 4h."}, nil},
		{"over 72h by a minute", runningUntil(now.Add(68 * h)), now.Add(72*h + m), 8 * h, "over_72h",
			[]string{"72h", "at most 4h."}, nil},
		{"over 72h, the documented example", runningUntil(now.Add(10*h + 30*m)), now.Add(72*h + 30*m), 72 * h, "over_72h",
			[]string{"at most 61h 30m"}, nil},
		{"over 72h by a millisecond", runningUntil(now.Add(10*h + 30*m)), now.Add(72*h + time.Millisecond), 72 * h, "over_72h",
			[]string{"at most 61h 30m"}, nil},
		{"already at the 72h ceiling", runningUntil(now.Add(72 * h)), now.Add(73 * h), 8 * h, "over_72h",
			[]string{"train-gpu", "already stops 72h from now", "cannot be extended further"}, []string{"at most"}},
		{"under a minute below the ceiling", runningUntil(now.Add(72*h - 30*time.Second)), now.Add(73 * h), 8 * h, "over_72h",
			[]string{"cannot be extended further"}, []string{"at most 0"}},
		// ModelArts' 1h minimum must not carry an extension past a smaller max_extend.
		{"the 1h minimum over a 30m max_extend", runningUntil(now.Add(5 * m)), now.Add(35 * m), 30 * m, "over_max_extend",
			[]string{"at least 1h from now", "by 55m", "at most 30m", "did nothing"}, nil},
		{"the 1h minimum over a 45m max_extend from a past stop", runningUntil(now.Add(-m)), now.Add(30 * m), 45 * m, "over_max_extend",
			[]string{"by 1h", "at most 45m"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, no := planExtension(tt.nb, tt.target, tt.maxExtend, now)
			if no == nil {
				t.Fatalf("allowed, want refusal %q", tt.code)
			}
			if no.code != tt.code {
				t.Errorf("code = %q, want %q (%s)", no.code, tt.code, no.text)
			}
			text := no.text.String()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("refusal %q does not contain %q", text, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("refusal %q contains %q", text, w)
				}
			}
		})
	}
}

// Status is compared as ModelArts may spell it.
func TestPlanExtensionRunningIsCaseInsensitive(t *testing.T) {
	nb := runningUntil(planNow.Add(2 * time.Hour))
	nb.Status = "running"
	if _, no := planExtension(nb, planNow.Add(3*time.Hour), 8*time.Hour, planNow); no != nil {
		t.Fatalf("refused a %q notebook: %s", nb.Status, no.text)
	}
}

// Sweep targets across the limits: a plan is allowed exactly when the extension rules
// say so, and an allowed plan always lands inside the API range.
func TestPlanExtensionSweep(t *testing.T) {
	now := planNow.Add(123456789 * time.Nanosecond) // a clock with sub-millisecond parts
	for _, stopIn := range []time.Duration{-2 * time.Hour, -time.Minute, 0, 10 * time.Minute, 2 * time.Hour, 65 * time.Hour, 71*time.Hour + 59*time.Minute} {
		for _, maxExtend := range []time.Duration{time.Hour, 8 * time.Hour, 72 * time.Hour} {
			nb := runningUntil(now.Add(stopIn))
			old := nb.StopTime()
			base := old
			if base.Before(now) {
				base = now
			}
			for by := -time.Hour; by <= 75*time.Hour; by += 7 * time.Minute {
				target := base.Add(by)
				p, no := planExtension(nb, target, maxExtend, now)
				ext := target.Sub(base)
				var want string
				switch {
				case target.Before(old):
					want = "earlier"
				case target.Equal(old):
					want = "unchanged"
				case ext > maxExtend:
					want = "over_max_extend"
				case target.Sub(now) > lease.MaxDuration:
					want = "over_72h"
				}
				got := ""
				if no != nil {
					got = no.code
				}
				if got != want {
					t.Fatalf("stop in %v, max %v, target base+%v: outcome %q, want %q", stopIn, maxExtend, by, got, want)
				}
				if no != nil {
					continue
				}
				left := p.target.Sub(now)
				if left < lease.MinDuration || left > lease.MaxDuration {
					t.Fatalf("stop in %v, target base+%v: plan is %v from now", stopIn, by, left)
				}
				if p.raised != (target.Sub(now) < lease.MinDuration) {
					t.Fatalf("stop in %v, target base+%v: raised = %v", stopIn, by, p.raised)
				}
				if !p.raised && !p.target.Equal(target) {
					t.Fatalf("target changed from %v to %v without raising", target, p.target)
				}
			}
		}
	}
}
