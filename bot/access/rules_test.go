package access

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
)

const (
	idA = "3e2a6c1b-7f0d-4c55-9a5e-1b2c3d4e5f60"
	idB = "9a8b7c6d-0000-4000-8000-000000000001"
)

// A selector shaped like a notebook ID names that one notebook: a notebook
// someone named like the ID is not covered by it (and is not warned about).
func TestIDShapedSelectorsMatchIDsOnly(t *testing.T) {
	cfg := &config.Config{Channels: map[string]*config.Channel{
		"C1": {ID: "C1", Users: []string{"U1"}, Notebooks: []string{idA}, Actions: []config.Action{config.ActionExtend}},
	}}
	p := New(cfg, nil, 0)
	tests := []struct {
		name string
		nb   lease.Notebook
		want bool
	}{
		{"the notebook with that ID", lease.Notebook{ID: idA, Name: "real"}, true},
		{"the ID in upper case", lease.Notebook{ID: "3E2A6C1B-7F0D-4C55-9A5E-1B2C3D4E5F60", Name: "real"}, true},
		{"another notebook named like the ID", lease.Notebook{ID: idB, Name: idA}, false},
	}
	for _, tt := range tests {
		if got := p.Covers("C1", tt.nb); got != tt.want {
			t.Errorf("%s: Covers = %v, want %v", tt.name, got, tt.want)
		}
		if got := len(p.Index().Channels(nil, tt.nb)) == 1; got != tt.want {
			t.Errorf("%s: the index says %v, want %v", tt.name, got, tt.want)
		}
		if d := p.Check(context.Background(), "U1", Where{Channel: "C1"}, config.ActionExtend, tt.nb); d.OK() != tt.want {
			t.Errorf("%s: Check = %v, want allowed=%v", tt.name, d.Reason, tt.want)
		}
	}
}

// countingMembers counts look-ups and can hold them until released.
type countingMembers struct {
	calls   atomic.Int32
	release chan struct{}
	mu      sync.Mutex
	members []string
}

func (c *countingMembers) GroupMembers(ctx context.Context, _ string) ([]string, error) {
	c.calls.Add(1)
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.members...), nil
}

func groupConfig() *config.Config {
	return &config.Config{Channels: map[string]*config.Channel{
		"C1": {ID: "C1", Groups: []string{"S1"}, Notebooks: []string{"*"}},
	}}
}

// A person removed from a user group loses access once the group's members
// are older than the TTL (60s by default), not ten minutes later.
func TestGroupRemovalSeenWithinTheTTL(t *testing.T) {
	m := &countingMembers{members: []string{"U1"}}
	p := New(groupConfig(), m, 0)
	now := time.Now()
	p.groups.now = func() time.Time { return now }
	ctx := context.Background()
	if d := p.Member(ctx, "U1", Where{Channel: "C1"}); !d.OK() {
		t.Fatalf("a member was refused: %v", d.Reason)
	}
	m.mu.Lock()
	m.members = nil // removed from the group
	m.mu.Unlock()
	now = now.Add(30 * time.Second)
	if d := p.Member(ctx, "U1", Where{Channel: "C1"}); !d.OK() {
		t.Errorf("within the TTL the cached membership should still hold: %v", d.Reason)
	}
	now = now.Add(31 * time.Second) // 61s after the look-up
	if d := p.Member(ctx, "U1", Where{Channel: "C1"}); d.Reason != NotMember {
		t.Errorf("61s after the look-up a removed member is still allowed: %v", d.Reason)
	}
	if DefaultGroupTTL > 60*time.Second {
		t.Errorf("DefaultGroupTTL = %v, want at most 60s", DefaultGroupTTL)
	}
}

// Concurrent commands from group members share one look-up per group.
func TestConcurrentLookupsOfOneGroupShareOneCall(t *testing.T) {
	m := &countingMembers{members: []string{"U1"}, release: make(chan struct{})}
	p := New(groupConfig(), m, 0)
	var wg sync.WaitGroup
	allowed := atomic.Int32{}
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.Member(context.Background(), "U1", Where{Channel: "C1"}).OK() {
				allowed.Add(1)
			}
		}()
	}
	// Let every caller reach the look-up before it answers.
	deadline := time.Now().Add(5 * time.Second)
	for m.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(m.release)
	wg.Wait()
	if n := m.calls.Load(); n != 1 {
		t.Errorf("%d look-ups for one group, want 1", n)
	}
	if allowed.Load() != 32 {
		t.Errorf("%d of 32 allowed", allowed.Load())
	}
}

// A caller that gives up does not leave the others without an answer.
func TestAWaiterGivingUpDoesNotCancelTheLookup(t *testing.T) {
	m := &countingMembers{members: []string{"U1"}, release: make(chan struct{})}
	p := New(groupConfig(), m, 0)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan Decision)
	go func() { first <- p.Member(ctx, "U1", Where{Channel: "C1"}) }()
	for m.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if d := <-first; d.OK() {
		t.Error("a cancelled caller was allowed without an answer")
	}
	second := make(chan Decision)
	go func() { second <- p.Member(context.Background(), "U1", Where{Channel: "C1"}) }()
	close(m.release)
	if d := <-second; !d.OK() {
		t.Errorf("the second caller was refused: %v %v", d.Reason, d.Err)
	}
}

func ownerConfig() *config.Config {
	return &config.Config{
		Admins: []string{"U0ADMIN"},
		Defaults: config.Defaults{
			OwnerMaxExtend: 2 * time.Hour,
			OwnerActions:   []config.Action{config.ActionExtend},
		},
		People: map[string]string{"alice-iam": "U0ALICE", "0123456789abcdef0123456789abcdef": "U0CAROL"},
		Channels: map[string]*config.Channel{
			"C1": {ID: "C1", Users: []string{"U0BOB", "U0ALICE"}, Notebooks: []string{"team-*"}, MaxExtend: 8 * time.Hour,
				Actions: []config.Action{config.ActionExtend, config.ActionStart}},
			"C2": {ID: "C2", Users: []string{"U0ALICE"}, Notebooks: []string{"*"}, MaxExtend: 4 * time.Hour,
				Actions: []config.Action{}},
		},
	}
}

func TestOwnerRuleAndActions(t *testing.T) {
	alices := lease.Notebook{ID: idA, Name: "solo", User: lease.User{Name: "alice-iam"}}
	carols := lease.Notebook{ID: idB, Name: "team-x", User: lease.User{ID: "0123456789abcdef0123456789abcdef", Name: "carol"}}
	dm := Where{Direct: true}
	tests := []struct {
		name   string
		user   string
		where  Where
		action config.Action
		nb     lease.Notebook
		want   Reason
		via    Via
		limit  time.Duration
	}{
		{"owner in a DM, by IAM name", "U0ALICE", dm, config.ActionExtend, alices, Allowed, ViaOwner, 2 * time.Hour},
		{"owner in a DM, by IAM user ID", "U0CAROL", dm, config.ActionExtend, carols, Allowed, ViaOwner, 2 * time.Hour},
		{"owner may only read without the action", "U0ALICE", dm, "", alices, Allowed, ViaOwner, 2 * time.Hour},
		{"owner action not allowed", "U0ALICE", dm, config.ActionStop, alices, ActionNotAllowed, ViaOwner, 0},
		{"someone else's notebook in a DM", "U0ALICE", dm, config.ActionExtend, carols, NotCovered, "", 0},
		{"not an owner at all in a DM", "U0BOB", dm, config.ActionExtend, alices, DirectMessage, "", 0},
		{"admin in a DM is not special", "U0ADMIN", dm, config.ActionExtend, alices, DirectMessage, "", 0},
		{"channel member, allowed action", "U0BOB", Where{Channel: "C1"}, config.ActionStart, carols, Allowed, ViaChannel, 8 * time.Hour},
		{"channel member, action not allowed", "U0BOB", Where{Channel: "C1"}, config.ActionStop, carols, ActionNotAllowed, ViaChannel, 0},
		{"channel with no actions: reads only", "U0ALICE", Where{Channel: "C2"}, config.ActionExtend, carols, ActionNotAllowed, ViaChannel, 0},
		{"channel with no actions: reading is fine", "U0ALICE", Where{Channel: "C2"}, "", carols, Allowed, ViaChannel, 4 * time.Hour},
		{"admins may take every action", "U0ADMIN", Where{Channel: "C2"}, config.ActionStop, carols, Allowed, ViaAdmin, 4 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(ownerConfig(), nil, 0)
			d := p.Check(context.Background(), tt.user, tt.where, tt.action, tt.nb)
			if d.Reason != tt.want || d.Via != tt.via {
				t.Fatalf("Check = %v via %q, want %v via %q", d.Reason, d.Via, tt.want, tt.via)
			}
			if d.OK() && d.MaxExtend != tt.limit {
				t.Errorf("MaxExtend = %v, want %v", d.MaxExtend, tt.limit)
			}
		})
	}
}

func TestVisibleAndAnywhere(t *testing.T) {
	p := New(ownerConfig(), nil, 0)
	alices := lease.Notebook{ID: idA, Name: "solo", User: lease.User{Name: "alice-iam"}}
	other := lease.Notebook{ID: idB, Name: "other", User: lease.User{Name: "dave"}}
	if !p.Visible("U0ALICE", Where{Direct: true}, alices) || p.Visible("U0ALICE", Where{Direct: true}, other) {
		t.Error("in a DM only the person's own notebooks are visible")
	}
	if p.Visible("U0BOB", Where{Channel: "C1"}, other) {
		t.Error("a notebook the channel does not cover is visible to a member")
	}
	if !p.Visible("U0ADMIN", Where{Channel: "C1"}, other) {
		t.Error("admins see every notebook in a configured channel")
	}
	// Away from any channel (the home view), the widest route that allows it wins.
	d := p.Anywhere(context.Background(), "U0ALICE", config.ActionExtend, lease.Notebook{ID: idA, Name: "team-a", User: lease.User{Name: "alice-iam"}})
	if !d.OK() || d.Via != ViaChannel || d.MaxExtend != 8*time.Hour {
		t.Errorf("Anywhere = %v via %q limit %v, want the channel's 8h", d.Reason, d.Via, d.MaxExtend)
	}
	if d := p.Anywhere(context.Background(), "U0ALICE", config.ActionExtend, alices); !d.OK() || d.Via != ViaOwner {
		t.Errorf("own notebook no channel covers: %v via %q", d.Reason, d.Via)
	}
	if d := p.Anywhere(context.Background(), "U0BOB", config.ActionExtend, other); d.OK() {
		t.Error("a notebook neither owned nor covered was allowed")
	}
	if got := p.ChannelsOf(context.Background(), "U0ALICE"); len(got) != 2 {
		t.Errorf("ChannelsOf = %v", got)
	}
}
