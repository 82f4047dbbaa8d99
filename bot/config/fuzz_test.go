package config

import (
	"errors"
	"os"
	"slices"
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
		valid + "    actions: [keep, extend]\n    max_keep: 7d\n    approvers: {users: [U0C], groups: [S0D]}\n    approval_max: 24h\n    approval_ttl: 2h\n",
		valid + "    actions: []\n    max_extend: 30m\npeople:\n  alice: U0A\n  ~: x\nstore:\n  path: a.db\n  url: postgres://x\n",
		valid + "defaults:\n  history_days: 7\n  notify_owner: true\n  owner_actions: [keep]\n  owner_max_keep: 0\n  start_duration: 2h\n  max_keep: 0d\n  state_file: s.json\n",
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
	checkFuzzedNew(t, p, c)
	_ = c.Describe()
}

// checkFuzzedNew checks the invariants of the store, people, owner rule,
// actions, keeps and approvals of an accepted config.
func checkFuzzedNew(t *testing.T, p *parser, c *Config) {
	t.Helper()
	d := c.Defaults
	if c.Store.Path == "" || d.HistoryDays < 1 || d.HistoryDays > MaxHistoryDays {
		t.Fatalf("bad store %+v or history_days %d", c.Store, d.HistoryDays)
	}
	if d.StartDuration < MinLease || d.StartDuration > MaxLease || d.OwnerMaxExtend <= 0 || d.OwnerMaxExtend > MaxLease ||
		d.OwnerMaxKeep < 0 || d.OwnerMaxKeep > MaxKeepLimit || d.MaxKeep < 0 || d.MaxKeep > MaxKeepLimit {
		t.Fatalf("bad defaults %+v", d)
	}
	checkActions(t, d.OwnerActions)
	checkActions(t, d.Actions)
	for k, v := range c.People {
		if k == "" || p.idProblem(UserID, v) != "" {
			t.Fatalf("bad people entry %q: %q", k, v)
		}
	}
	for _, ch := range c.Channels {
		checkActions(t, ch.Actions)
		if ch.MaxKeep < 0 || ch.MaxKeep > MaxKeepLimit || ch.ApprovalTTL <= 0 || ch.ApprovalTTL > MaxApprovalTTL ||
			ch.ApprovalMax <= 0 || ch.ApprovalMax > MaxLease {
			t.Fatalf("bad channel keep/approval limits %+v", ch)
		}
		if !ch.Approvers.Empty() && ch.ApprovalMax <= ch.MaxExtend {
			t.Fatalf("approvers that can never be asked: %+v", ch)
		}
		for _, id := range append(slices.Clone(ch.Approvers.Users), ch.Users...) {
			if p.idProblem(UserID, id) != "" {
				t.Fatalf("bad user %q", id)
			}
		}
		for _, id := range append(slices.Clone(ch.Approvers.Groups), ch.Groups...) {
			if p.idProblem(GroupID, id) != "" {
				t.Fatalf("bad group %q", id)
			}
		}
	}
	for i, n := range c.Notes {
		if n.Path != "f.yml" || n.Msg == "" || strings.Contains(n.Msg, "\n") || i > 0 && n.Line > 0 && c.Notes[i-1].Line > n.Line {
			t.Fatalf("bad note %#v in %v", n, c.Notes)
		}
	}
}

// checkActions checks that actions are known, unique and in order.
func checkActions(t *testing.T, as []Action) {
	t.Helper()
	for i, a := range as {
		j := slices.Index(Actions(), a)
		if j < 0 || i > 0 && slices.Index(Actions(), as[i-1]) >= j {
			t.Fatalf("bad actions %v", as)
		}
	}
}
