package access

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
)

// fakeMembers resolves user groups from a map; groups in fail return an error.
type fakeMembers struct {
	mu     sync.Mutex
	groups map[string][]string
	fail   map[string]error
	calls  []string
}

func (f *fakeMembers) GroupMembers(_ context.Context, group string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, group)
	if err := f.fail[group]; err != nil {
		return nil, err
	}
	return f.groups[group], nil
}

func (f *fakeMembers) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

var errSlackDown = errors.New("slack: ratelimited")

// where is how the Slack adapter places a conversation: D… is a direct message.
func where(channel string) Where {
	return Where{Channel: channel, Direct: strings.HasPrefix(channel, "D")}
}

func testConfig() *config.Config {
	return &config.Config{
		Admins: []string{"U0ADMIN"},
		Channels: map[string]*config.Channel{
			"C0ML": {
				ID:        "C0ML",
				Users:     []string{"U0ALICE", "U0BOB"},
				Groups:    []string{"S0DATASCI"},
				Notebooks: []string{"team-a-*", "nb-0001", "exact-name", "tag:team=ml"},
			},
			"C0ALL": {
				ID:        "C0ALL",
				Users:     []string{"U0CAROL"},
				Notebooks: []string{"*"},
			},
			"C0GROUPS": {
				ID:        "C0GROUPS",
				Groups:    []string{"S0BROKEN", "S0OPS"},
				Notebooks: []string{"ops-?"},
			},
			"G0PRIV": {
				ID:        "G0PRIV",
				Groups:    []string{"S0BROKEN"},
				Notebooks: []string{"tag:env=prod", "tag:env=stage"},
			},
		},
	}
}

func testMembers() *fakeMembers {
	return &fakeMembers{
		groups: map[string][]string{
			"S0DATASCI": {"U0DAVE", "U0ERIN"},
			"S0OPS":     {"U0OPS"},
		},
		fail: map[string]error{"S0BROKEN": errSlackDown},
	}
}

func TestMember(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		channel   string
		want      Reason
		admin     bool
		lookups   int  // group look-ups expected
		wantErrIs bool // Decision.Err wraps errSlackDown
	}{
		{name: "listed user", user: "U0ALICE", channel: "C0ML", want: Allowed},
		{name: "second listed user", user: "U0BOB", channel: "C0ML", want: Allowed},
		{name: "admin in configured channel", user: "U0ADMIN", channel: "C0ML", want: Allowed, admin: true},
		{name: "admin in channel without users", user: "U0ADMIN", channel: "G0PRIV", want: Allowed, admin: true},
		{name: "group member", user: "U0DAVE", channel: "C0ML", want: Allowed, lookups: 1},
		{name: "stranger", user: "U0MALLORY", channel: "C0ML", want: NotMember, lookups: 1},
		{name: "user of another channel", user: "U0CAROL", channel: "C0ML", want: NotMember, lookups: 1},
		{name: "listed elsewhere only", user: "U0ALICE", channel: "C0ALL", want: NotMember},
		{name: "member of a later group despite lookup error", user: "U0OPS", channel: "C0GROUPS", want: Allowed, lookups: 2},
		{name: "lookup error and no match", user: "U0MALLORY", channel: "C0GROUPS", want: GroupLookupError, lookups: 2, wantErrIs: true},
		{name: "only group fails", user: "U0ALICE", channel: "G0PRIV", want: GroupLookupError, lookups: 1, wantErrIs: true},
		{name: "DM refused", user: "U0ALICE", channel: "D0DM", want: DirectMessage},
		{name: "DM refused for admin", user: "U0ADMIN", channel: "D0DM", want: DirectMessage},
		{name: "unknown channel", user: "U0ALICE", channel: "C0OTHER", want: UnknownChannel},
		{name: "unknown channel for admin", user: "U0ADMIN", channel: "C0OTHER", want: UnknownChannel},
		{name: "empty channel", user: "U0ALICE", channel: "", want: UnknownChannel},
		{name: "channel ID is case-sensitive", user: "U0ALICE", channel: "c0ml", want: UnknownChannel},
		{name: "user ID is case-sensitive", user: "u0alice", channel: "C0ALL", want: NotMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMembers()
			a := New(testConfig(), m, 0)
			d := a.Member(context.Background(), tt.user, where(tt.channel))
			if d.Reason != tt.want {
				t.Fatalf("Member(%s, %s).Reason = %v, want %v (err %v)", tt.user, tt.channel, d.Reason, tt.want, d.Err)
			}
			if d.OK() != (tt.want == Allowed) {
				t.Errorf("OK() = %v with reason %v", d.OK(), d.Reason)
			}
			if d.Admin != tt.admin {
				t.Errorf("Admin = %v, want %v", d.Admin, tt.admin)
			}
			if got := m.callCount(); got != tt.lookups {
				t.Errorf("group look-ups = %d (%v), want %d", got, m.calls, tt.lookups)
			}
			if tt.wantErrIs {
				if !errors.Is(d.Err, errSlackDown) {
					t.Errorf("Err = %v, want it to wrap %v", d.Err, errSlackDown)
				}
				if d.Err == nil || !strings.Contains(d.Err.Error(), "S0BROKEN") {
					t.Errorf("Err = %v, want it to name the group S0BROKEN", d.Err)
				}
			} else if d.Err != nil {
				t.Errorf("Err = %v, want nil", d.Err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	covered := lease.Notebook{ID: "nb-0001", Name: "whatever", Status: lease.StatusRunning}
	byGlob := lease.Notebook{ID: "id-77", Name: "team-a-train"}
	byTag := lease.Notebook{ID: "id-78", Name: "x", Tags: []lease.Tag{{Key: "owner", Value: "bob"}, {Key: "team", Value: "ml"}}}
	foreign := lease.Notebook{ID: "id-99", Name: "team-b-train", Tags: []lease.Tag{{Key: "team", Value: "cv"}}}
	tests := []struct {
		name    string
		user    string
		channel string
		nb      lease.Notebook
		want    Reason
		admin   bool
	}{
		{"covered by ID", "U0ALICE", "C0ML", covered, Allowed, false},
		{"covered by glob", "U0ALICE", "C0ML", byGlob, Allowed, false},
		{"covered by tag", "U0DAVE", "C0ML", byTag, Allowed, false},
		{"not covered", "U0ALICE", "C0ML", foreign, NotCovered, false},
		{"admin on a notebook the channel does not cover", "U0ADMIN", "C0ML", foreign, Allowed, true},
		{"wildcard channel", "U0CAROL", "C0ALL", foreign, Allowed, false},
		{"membership is checked before coverage", "U0MALLORY", "C0ML", foreign, NotMember, false},
		{"stranger on covered notebook", "U0MALLORY", "C0ML", covered, NotMember, false},
		{"DM", "U0ALICE", "D0DM", covered, DirectMessage, false},
		{"DM for admin", "U0ADMIN", "D0DM", covered, DirectMessage, false},
		{"unknown channel", "U0ADMIN", "C0NOPE", covered, UnknownChannel, false},
		{"group lookup error wins over coverage", "U0ALICE", "G0PRIV", foreign, GroupLookupError, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(testConfig(), testMembers(), 0)
			d := a.Check(context.Background(), tt.user, where(tt.channel), "", tt.nb)
			if d.Reason != tt.want || d.Admin != tt.admin {
				t.Fatalf("Check = {%v admin=%v err=%v}, want {%v admin=%v}", d.Reason, d.Admin, d.Err, tt.want, tt.admin)
			}
			if d.OK() != (tt.want == Allowed) {
				t.Errorf("OK() = %v with reason %v", d.OK(), d.Reason)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	tags := func(kv ...string) []lease.Tag {
		var out []lease.Tag
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, lease.Tag{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name      string
		selectors []string
		nb        lease.Notebook
		want      bool
	}{
		{"star covers everything", []string{"*"}, lease.Notebook{ID: "x", Name: "y"}, true},
		{"star covers unnamed", []string{"*"}, lease.Notebook{ID: "x"}, true},
		{"ID", []string{"0a1b2c"}, lease.Notebook{ID: "0a1b2c", Name: "n"}, true},
		{"exact name", []string{"train-gpu"}, lease.Notebook{ID: "1", Name: "train-gpu"}, true},
		{"exact name is not a prefix", []string{"train"}, lease.Notebook{ID: "1", Name: "train-gpu"}, false},
		{"exact name is case-sensitive", []string{"Train"}, lease.Notebook{ID: "1", Name: "train"}, false},
		{"glob star", []string{"team-a-*"}, lease.Notebook{ID: "1", Name: "team-a-bert"}, true},
		{"glob star empty suffix", []string{"team-a-*"}, lease.Notebook{ID: "1", Name: "team-a-"}, true},
		{"glob star other team", []string{"team-a-*"}, lease.Notebook{ID: "1", Name: "team-b-bert"}, false},
		{"glob question", []string{"nb-?"}, lease.Notebook{ID: "1", Name: "nb-7"}, true},
		{"glob question needs one char", []string{"nb-?"}, lease.Notebook{ID: "1", Name: "nb-77"}, false},
		{"glob class", []string{"gpu-[ab]"}, lease.Notebook{ID: "1", Name: "gpu-b"}, true},
		{"glob class miss", []string{"gpu-[ab]"}, lease.Notebook{ID: "1", Name: "gpu-c"}, false},
		{"glob star does not cross slash", []string{"a*"}, lease.Notebook{ID: "1", Name: "a/b"}, false},
		{"glob matches names, not IDs", []string{"abc*"}, lease.Notebook{ID: "abc123", Name: "other"}, false},
		{"escaped glob char is literal", []string{`a\*b`}, lease.Notebook{ID: "1", Name: "a*b"}, true},
		{"escaped glob char rejects others", []string{`a\*b`}, lease.Notebook{ID: "1", Name: "axb"}, false},
		{"tag", []string{"tag:team=ml"}, lease.Notebook{ID: "1", Tags: tags("team", "ml")}, true},
		{"tag among others", []string{"tag:team=ml"}, lease.Notebook{ID: "1", Tags: tags("env", "prod", "team", "ml")}, true},
		{"tag value differs", []string{"tag:team=ml"}, lease.Notebook{ID: "1", Tags: tags("team", "cv")}, false},
		{"tag key differs", []string{"tag:team=ml"}, lease.Notebook{ID: "1", Tags: tags("owner", "ml")}, false},
		{"two values of one key", []string{"tag:env=prod", "tag:env=stage"}, lease.Notebook{ID: "1", Tags: tags("env", "stage")}, true},
		{"tag value with =", []string{"tag:k=a=b"}, lease.Notebook{ID: "1", Tags: tags("k", "a=b")}, true},
		{"tag key with = is not split differently", []string{"tag:k=a=b"}, lease.Notebook{ID: "1", Tags: tags("k=a", "b")}, false},
		{"tag selector does not match names", []string{"tag:team=ml"}, lease.Notebook{ID: "1", Name: "tag:team=ml"}, false},
		{"tag value is not a glob", []string{"tag:team=m*"}, lease.Notebook{ID: "1", Tags: tags("team", "ml")}, false},
		{"tag empty value", []string{"tag:flag="}, lease.Notebook{ID: "1", Tags: tags("flag", "")}, true},
		{"no selectors match", []string{"nb-1", "team-*", "tag:a=b"}, lease.Notebook{ID: "nb-2", Name: "other", Tags: tags("a", "c")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{Channels: map[string]*config.Channel{
				"C1": {ID: "C1", Users: []string{"U1"}, Notebooks: tt.selectors},
			}}
			a := New(cfg, testMembers(), 0)
			if got := a.Covers("C1", tt.nb); got != tt.want {
				t.Errorf("Covers(%q, %+v) = %v, want %v", tt.selectors, tt.nb, got, tt.want)
			}
			// Check agrees with Covers for a plain member.
			d := a.Check(context.Background(), "U1", where("C1"), "", tt.nb)
			if d.OK() != tt.want {
				t.Errorf("Check = %v, want OK=%v", d.Reason, tt.want)
			}
			// Unknown channels and DMs cover nothing.
			for _, ch := range []string{"C2", "D1", ""} {
				if a.Covers(ch, tt.nb) {
					t.Errorf("Covers(%q) = true for an unconfigured channel", ch)
				}
			}
		})
	}
}

func TestChannel(t *testing.T) {
	a := New(testConfig(), testMembers(), 0)
	tests := []struct {
		id string
		ok bool
	}{
		{"C0ML", true},
		{"G0PRIV", true},
		{"C0NOPE", false},
		{"D0DM", false},
		{"", false},
	}
	for _, tt := range tests {
		ch, ok := a.Channel(tt.id)
		if ok != tt.ok {
			t.Errorf("Channel(%q) ok = %v, want %v", tt.id, ok, tt.ok)
		}
		if ok && ch.ID != tt.id {
			t.Errorf("Channel(%q).ID = %q", tt.id, ch.ID)
		}
		if !ok && ch != nil {
			t.Errorf("Channel(%q) = %+v, want nil", tt.id, ch)
		}
	}
}

// A config with no admins and a nil Members must still answer for listed
// users without calling it.
func TestMemberWithoutGroupsNeedsNoDirectory(t *testing.T) {
	cfg := &config.Config{Channels: map[string]*config.Channel{
		"C1": {ID: "C1", Users: []string{"U1"}, Notebooks: []string{"*"}},
	}}
	a := New(cfg, nil, 0)
	for _, tt := range []struct {
		user string
		want Reason
	}{{"U1", Allowed}, {"U2", NotMember}} {
		if d := a.Member(context.Background(), tt.user, where("C1")); d.Reason != tt.want {
			t.Errorf("Member(%s) = %v, want %v", tt.user, d.Reason, tt.want)
		}
	}
}
