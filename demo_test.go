package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot/console"
	"github.com/leasebot/leasebot/lease"
)

// The demo, driven the way a script drives it: piped input, each line carried
// out before the next, exit 0 at the end of input. SeedDemo's notebooks:
// llm-finetune stops within minutes (so it is warned at once), eval-benchmarks
// runs with 9h left under a unique name.
func TestDemoScripted(t *testing.T) {
	script := strings.Join([]string{
		"/notebook list",
		"/notebook extend eval-benchmarks 2h",
		"as bob",
		"/notebook extend eval-benchmarks 1h",
		"press 1",
		"as alice",
		"press 1",
		"press 1",
		"/notebook status llm-finetune",
		"press 99",
	}, "\n") + "\n"
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo"}, strings.NewReader(script), &stdout, &stderr, os.Getenv)
	out := stdout.String()
	if code != exitOK {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("the demo is quiet on stderr without -v, got:\n%s", stderr.String())
	}

	// after returns what follows the echo of the n-th (from 1) input line "who> line",
	// up to the next echoed line.
	after := func(who, line string, n int) string {
		t.Helper()
		marker := who + "> " + line + "\n"
		rest := out
		for range n {
			i := strings.Index(rest, marker)
			if i < 0 {
				t.Fatalf("input %q (#%d) not echoed:\n%s", marker, n, out)
			}
			rest = rest[i+len(marker):]
		}
		if j := regexp.MustCompile(`(?m)^(alice|bob)> `).FindStringIndex(rest); j != nil {
			rest = rest[:j[0]]
		}
		return rest
	}
	must := func(s, want, what string) {
		t.Helper()
		if !strings.Contains(s, want) {
			t.Errorf("%s: lacks %q in:\n%s", what, want, s)
		}
	}

	// The banner, then the warning with numbered buttons, before any input.
	first := strings.Index(out, "alice> /notebook list")
	warn := strings.Index(out, "leasebot in #demo (message m1):\n  ⏳ llm-finetune ")
	if warn < 0 || first < 0 || warn > first {
		t.Fatalf("the warning for llm-finetune does not come before the first input:\n%s", out)
	}
	must(out[:first], "[1] Extend 1h  [2] Extend 4h  [3] Let it stop", "warning")
	must(out[:first], "/notebook extend eval-benchmarks 2h", "banner")

	list := after("alice", "/notebook list", 1)
	must(list, "leasebot (only you see this):", "list")
	for _, name := range []string{"llm-finetune", "eval-benchmarks", "vision-train", "team-a-sandbox", "data-prep"} {
		must(list, name, "list")
	}
	must(list, "STOPPED", "list")

	// The extension is posted to the channel and names the new stop time, 2h later.
	ext := after("alice", "/notebook extend eval-benchmarks 2h", 1)
	must(ext, "leasebot in #demo (visible to the channel):\n  @alice extended eval-benchmarks ", "extension")
	must(ext, " by 2h: it now stops ", "extension")
	oldStop := shownTime(t, regexp.MustCompile(`eval-benchmarks [0-9a-f-]+ RUNNING, stops (.+?) \(in`), list)
	newStop := shownTime(t, regexp.MustCompile(`it now stops (.+?) \(in`), ext)
	if d := newStop.Sub(oldStop); d != 2*time.Hour {
		t.Errorf("stop time moved by %v, want 2h (list %v, reply %v)", d, oldStop, newStop)
	}

	// bob is not on the access list: refused, and only he sees it; his press too.
	refused := after("bob", "/notebook extend eval-benchmarks 1h", 1)
	must(refused, "leasebot (only you see this):\n  Sorry, you are not on this channel's leasebot access list.", "refusal")
	bobPress := after("bob", "press 1", 1)
	must(bobPress, "leasebot (only you see this):\n  Sorry, you are not on this channel's leasebot access list.", "bob's press")
	if strings.Contains(bobPress, "updated") {
		t.Errorf("bob's refused press changed the warning:\n%s", bobPress)
	}

	// alice presses [1]: the warning is replaced by who extended it, by how much.
	pressed := after("alice", "press 1", 1)
	must(pressed, "leasebot in #demo (message m1, updated):\n  ✅ @alice extended llm-finetune ", "press")
	must(pressed, " by 1h: it now stops ", "press")
	if strings.Contains(pressed, "[1]") {
		t.Errorf("the updated warning still has buttons:\n%s", pressed)
	}
	must(after("alice", "press 1", 2), "Button [1] is gone", "second press")

	status := after("alice", "/notebook status llm-finetune", 1)
	must(status, "Status: RUNNING", "status")
	must(status, "Stops: ", "status")
	must(after("alice", "press 99", 1), "There is no button [99].", "press 99")
}

// shownTime reads the time the console showed in the first match of re in s.
func shownTime(t *testing.T, re *regexp.Regexp, s string) time.Time {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %v in:\n%s", re, s)
	}
	at, err := time.ParseInLocation(console.TimeLayout, m[1], time.Local)
	if err != nil {
		t.Fatalf("time %q: %v", m[1], err)
	}
	return at
}

func TestDemoVerboseShowsAuditLines(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo", "-v"}, strings.NewReader("/notebook extend eval-benchmarks 1h\n"), &stdout, &stderr, os.Getenv)
	if code != exitOK {
		t.Fatalf("exit code %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if log := stderr.String(); !strings.Contains(log, "msg=audit") || !strings.Contains(log, "outcome=extended") || !strings.Contains(log, "user=U0ALICE") {
		t.Errorf("no audit line for the extension on stderr:\n%s", log)
	}
}

func TestDemoFlags(t *testing.T) {
	for _, args := range [][]string{{"demo", "-poll", "500ms"}, {"demo", "-poll", "5500ms"}, {"demo", "-nope"}, {"demo", "extra"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, os.Getenv); code != exitConfig {
			t.Errorf("%v: exit code %d, want %d", args, code, exitConfig)
		}
	}
}

// Ctrl-C ends the demo with exit 0, even while it waits for input.
func TestDemoExitsZeroWhenCancelled(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"demo"}, r, &stdout, &stderr, os.Getenv); code != exitOK {
		t.Fatalf("exit code %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

func TestDemoExamples(t *testing.T) {
	now := time.Now()
	nb := func(name, status string, left time.Duration) lease.Notebook {
		return lease.Notebook{Name: name, Status: status, Lease: lease.Lease{Enable: true, CreateAt: now.UnixMilli(), Duration: left.Milliseconds()}}
	}
	soon, unique, shared := demoExamples([]lease.Notebook{
		nb("b", lease.StatusRunning, time.Hour), nb("b", lease.StatusRunning, 2*time.Hour),
		nb("a", lease.StatusRunning, time.Minute), nb("c", lease.StatusStopped, 0), nb("d", lease.StatusRunning, 3*time.Hour),
	})
	if soon != "a" || unique != "d" || shared != "b" {
		t.Errorf("examples = %q %q %q, want a d b", soon, unique, shared)
	}
	if soon, unique, shared := demoExamples(nil); soon != "NOTEBOOK" || unique != "NOTEBOOK" || shared != "" {
		t.Errorf("examples of nothing = %q %q %q", soon, unique, shared)
	}
}

// The demo shows the owner's copy of a warning (pressing it updates both
// copies), a keep with its renewal, a request approved by another user,
// start and stop, the history and the App Home.
func TestDemoOwnersKeepsApprovalsStartStop(t *testing.T) {
	day := strings.ToLower(time.Now().UTC().AddDate(0, 0, 2).Weekday().String()[:3])
	script := strings.Join([]string{
		"press 4", // the owner's copy of the llm-finetune warning
		"/notebook keep nightly-etl until " + day + " 18:00",
		"/notebook status nightly-etl",
		"/notebook extend eval-benchmarks 12h",
		"press 7", // Ask for approval
		"as carol",
		"press 8", // Approve
		"as alice",
		"/notebook start data-prep",
		"/notebook stop vision-train",
		"press 10", // Stop now
		"/notebook history 3",
		"home",
	}, "\n") + "\n"
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo"}, strings.NewReader(script), &stdout, &stderr, os.Getenv); code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"leasebot to alice (direct message) (message m2):\n  ⏳ Your notebook llm-finetune ",
		"alice> press 4\nleasebot in #demo (message m1, updated):\n  ✅ @alice extended llm-finetune ",
		"leasebot to alice (direct message) (message m2, updated):\n  ✅ @alice extended llm-finetune ",
		"📌 @alice keeps nightly-etl ",
		"Kept running until ",
		"[7] Ask for approval",
		"🙋 @alice asks to extend eval-benchmarks ",
		"[8] Approve  [9] Deny",
		"carol> press 8\nleasebot in #demo (message m4, updated):\n  ✅ @carol approved @alice's request to extend eval-benchmarks ",
		"Your request: ✅ @carol approved",
		"▶ @alice started data-prep ",
		"[10] Stop now  [11] Cancel",
		"⏹ @alice stopped vision-train ",
		"approved by @carol",
		"alice's App Home (message ",
		"kept until ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo lacks %q:\n%s", want, out)
		}
	}
	// The keep renewed nightly-etl at once: it had under an hour left.
	status := out[strings.Index(out, "alice> /notebook status nightly-etl"):]
	m := regexp.MustCompile(`Stops: .+? \(in (\d+)h`).FindStringSubmatch(status)
	if m == nil || len(m[1]) < 2 {
		t.Errorf("nightly-etl was not renewed by its keep (it had 50m left):\n%s", status)
	}
}
