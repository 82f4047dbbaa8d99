package config

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/leasebot/leasebot/bot/slackchat/slackid"
)

// FuzzParse checks that Parse never panics and that what it accepts obeys
// the documented invariants.
func FuzzParse(f *testing.F) {
	if ex, err := os.ReadFile("testdata/example.yml"); err == nil {
		f.Add(ex)
	}
	for _, s := range []string{
		"", valid, head, "- a\n", "a: [\n", "<<: {a: 1}\n",
		valid + "    usrs: [U0B]\n    sk: x\n",
		valid + "defaults:\n  warn_before: [10m, 1h, 10m]\n  extend_buttons: [1h]\n  max_extend: 2h\n",
		valid + "  C0B:\n    users: &u [U0A]\n    notebooks: &n [\"tag:a=b\", \"x-*\"]\n  C0C: {users: *u, notebooks: *n, warn: false}\n",
		"modelarts: &a {endpoint: *a}\n",
		"a: &a [*a, *a]\n",
		valid + "---\n---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Once with the plain rules, once with Slack's.
		checkFuzzed(t, data, Options{})
		checkFuzzed(t, data, Options{IDs: slackid.Rules{}})
	})
}

// checkFuzzed parses data and checks what Parse promises.
func checkFuzzed(t *testing.T, data []byte, o Options) {
	t.Helper()
	p := &parser{ids: o.IDs}
	if p.ids == nil {
		p.ids = plainIDs{}
	}
	c, err := ParseWith(data, "f.yml", o)
	if err != nil {
		if c != nil {
			t.Fatal("config returned with an error")
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T is not a non-empty Errors", err)
		}
		for i, e := range es {
			if e.Path != "f.yml" || e.Line < 0 || e.Msg == "" || strings.Contains(e.Msg, "\n") {
				t.Fatalf("bad error %#v", e)
			}
			if i > 0 && e.Line > 0 && es[i-1].Line > e.Line {
				t.Fatalf("errors not sorted by line: %v", es)
			}
		}
		return
	}
	if c == nil || len(c.Channels) == 0 || c.ModelArts.Endpoint == "" || len(c.ModelArts.ProjectID) != 32 {
		t.Fatalf("accepted an incomplete config: %+v", c)
	}
	for id, ch := range c.Channels {
		if ch.ID != id || p.idProblem(ChannelID, id) != "" || len(ch.Users)+len(ch.Groups) == 0 || len(ch.Notebooks) == 0 {
			t.Fatalf("bad channel %+v", ch)
		}
		if ch.MaxExtend <= 0 || ch.MaxExtend > MaxLease || len(ch.WarnBefore) == 0 || len(ch.ExtendButtons) > MaxExtendButtons {
			t.Fatalf("bad channel limits %+v", ch)
		}
		for i := 1; i < len(ch.WarnBefore); i++ {
			if ch.WarnBefore[i] >= ch.WarnBefore[i-1] {
				t.Fatalf("WarnBefore not strictly descending: %v", ch.WarnBefore)
			}
		}
		for _, b := range ch.ExtendButtons {
			if b <= 0 || b > ch.MaxExtend {
				t.Fatalf("bad button %v in %+v", b, ch)
			}
		}
		for _, sel := range ch.Notebooks {
			if selectorProblem(sel) != "" {
				t.Fatalf("bad selector %q", sel)
			}
		}
	}
	if c.Defaults.PollInterval < MinPollInterval {
		t.Fatalf("poll interval %v", c.Defaults.PollInterval)
	}
	_ = c.Describe()
}
