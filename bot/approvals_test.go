package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store"
)

const approvalConfig = `modelarts:
  endpoint: %[1]s
  project_id: %[2]s
admins: [U0ADMIN]
channels:
  C0ML:
    users: [U0ALICE, U0BOB, U0CAROL, U0DAVE]
    notebooks: ["*"]
    max_extend: 4h
    approvers:
      users: [U0CAROL, U0DAVE]
    approval_max: 48h
    approval_ttl: 30m
  C0PLAIN:
    users: [U0ALICE]
    notebooks: ["*"]
    max_extend: 4h
`

// ask runs an over-limit extension and presses its "Ask for approval".
func ask(t *testing.T, w *world, user, text string) (bot.Message, posted) {
	t.Helper()
	r := command(w.bot, user, "C0ML", text)
	if len(r.Buttons) != 1 || r.Buttons[0].Label != "Ask for approval" {
		t.Fatalf("an extension over max_extend with approvers: %q, buttons %+v", r.Text, r.Buttons)
	}
	before := len(w.chat.Posts())
	reply := press(w.bot, testClick{User: user, Channel: "C0ML", Ref: "eph", Action: r.Buttons[0].Action, Value: r.Buttons[0].Value})
	if reply == nil || !strings.Contains(reply.Text.String(), "Asked for approval") {
		t.Fatalf("asking: %v", reply)
	}
	posts := w.chat.Posts()
	if len(posts) != before+1 {
		t.Fatalf("no request posted")
	}
	return *reply, posts[len(posts)-1]
}

func TestApprovalFlow(t *testing.T) {
	w := newWorldWith(t, approvalConfig)
	nb := w.addRunning("big-job", 2*time.Hour)
	before := w.stop(t, nb.ID)

	// No button where nobody approves, nor beyond approval_max.
	if r := command(w.bot, "U0ALICE", "C0PLAIN", "extend big-job 24h"); len(r.Buttons) != 0 || !strings.Contains(r.Text.String(), "at most 4h") {
		t.Errorf("without approvers: %q %+v", r.Text, r.Buttons)
	}
	if r := command(w.bot, "U0BOB", "C0ML", "extend big-job 50h"); len(r.Buttons) != 0 {
		t.Errorf("beyond approval_max: %q %+v", r.Text, r.Buttons)
	}

	_, req := ask(t, w, "U0BOB", "extend big-job 24h")
	text := req.msg.Text.String()
	for _, want := range []string{"@U0BOB asks to extend big-job", "by 24h", "@U0CAROL", "@U0DAVE"} {
		if !strings.Contains(text, want) {
			t.Errorf("the request %q lacks %q", text, want)
		}
	}
	if len(req.msg.Buttons) != 2 || !req.msg.InChannel {
		t.Fatalf("the request has buttons %+v", req.msg.Buttons)
	}
	approve, deny := req.msg.Buttons[0], req.msg.Buttons[1]
	click := func(user string, b bot.Button) *bot.Message {
		return press(w.bot, testClick{User: user, Channel: "C0ML", Ref: req.ref, Action: b.Action, Value: b.Value})
	}
	// The requester and someone who is not an approver cannot decide.
	if r := click("U0BOB", approve); r == nil || !strings.Contains(r.Text.String(), "your own request") {
		t.Errorf("the requester approving: %v", r)
	}
	if r := click("U0ALICE", approve); r == nil || !strings.Contains(r.Text.String(), "Only this channel's approvers") {
		t.Errorf("a non-approver approving: %v", r)
	}
	if w.sim.Count(simulator.RouteRenew) != 0 {
		t.Fatal("a refused decision extended the notebook")
	}
	// Two approvers at once: one extension.
	var wg sync.WaitGroup
	replies := make([]*bot.Message, 2)
	for i, u := range []string{"U0CAROL", "U0DAVE"} {
		wg.Add(1)
		go func() { defer wg.Done(); replies[i] = click(u, approve) }()
	}
	wg.Wait()
	if n := w.sim.Count(simulator.RouteRenew); n != 1 {
		t.Errorf("two approvers at once made %d renewals", n)
	}
	if got, want := w.stop(t, nb.ID), before.Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("stop %v, want +24h = %v", got, want)
	}
	told := 0
	for _, r := range replies {
		if r != nil && strings.Contains(r.Text.String(), "already approved") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the slower approver should be told it was already approved: %v %v", replies[0], replies[1])
	}
	ups := w.chat.Updates(req)
	if len(ups) == 0 || !strings.Contains(ups[len(ups)-1].Text.String(), "approved @U0BOB's request") || len(ups[len(ups)-1].Buttons) != 0 {
		t.Errorf("the request was not replaced by its outcome: %v", ups)
	}
	dm := false
	for _, p := range w.chat.Posts() {
		if p.channel == "D-U0BOB" && strings.Contains(p.msg.Text.String(), "Your request") {
			dm = true
		}
	}
	if !dm {
		t.Error("the requester was not told")
	}
	es, _ := w.opts.Store.History(context.Background(), store.HistoryQuery{Limit: 50})
	var approved bool
	for _, e := range es {
		if e.Verb == "approve" && e.User == "U0BOB" && e.Approver != "" && e.Outcome == "extended" {
			approved = true
		}
	}
	if !approved {
		t.Errorf("no history entry of the approval with requester and approver: %+v", es)
	}
	// A decided request cannot be decided again.
	if r := click("U0CAROL", deny); r == nil || !strings.Contains(r.Text.String(), "already approved") {
		t.Errorf("denying an approved request: %v", r)
	}
}

func TestApprovalDeniedExpiredAndForged(t *testing.T) {
	w := newWorldWith(t, approvalConfig)
	w.addRunning("denied-job", 2*time.Hour)
	w.addRunning("slow-job", 2*time.Hour)
	_, req := ask(t, w, "U0BOB", "extend denied-job 10h")
	deny := req.msg.Buttons[1]
	if r := press(w.bot, testClick{User: "U0CAROL", Channel: "C0ML", Ref: req.ref, Action: deny.Action, Value: deny.Value}); r != nil {
		t.Errorf("deny answered %q", r.Text)
	}
	if ups := w.chat.Updates(req); len(ups) == 0 || !strings.Contains(ups[0].Text.String(), "denied") {
		t.Errorf("the request was not marked denied: %v", ups)
	}

	_, req2 := ask(t, w, "U0BOB", "extend slow-job 12h")
	w.clk.Advance(31 * time.Minute)
	w.poll(t) // the leader expires it
	if ups := w.chat.Updates(req2); len(ups) == 0 || !strings.Contains(ups[0].Text.String(), "expired") {
		t.Errorf("the request did not expire: %v", ups)
	}
	approve := req2.msg.Buttons[0]
	if r := press(w.bot, testClick{User: "U0CAROL", Channel: "C0ML", Ref: req2.ref, Action: approve.Action, Value: approve.Value}); r == nil || !strings.Contains(r.Text.String(), "expired") {
		t.Errorf("approving an expired request: %v", r)
	}
	// Forged values: unknown requests, another channel's, garbage.
	for _, v := range []string{"999999", "0", "-1", "abc", "1|2"} {
		if r := press(w.bot, testClick{User: "U0CAROL", Channel: "C0ML", Ref: "x", Action: bot.ActionApprove, Value: v}); r != nil {
			t.Errorf("a forged approval %q was answered %q", v, r.Text)
		}
	}
	if r := press(w.bot, testClick{User: "U0ADMIN", Channel: "C0PLAIN", Ref: "x", Action: bot.ActionApprove, Value: approve.Value}); r != nil {
		t.Errorf("an approval from another channel was answered %q", r.Text)
	}
	for _, v := range []string{"denied-job|999999999", "not a name|3600", "denied-job|-1"} {
		if r := press(w.bot, testClick{User: "U0BOB", Channel: "C0ML", Ref: "x", Action: bot.ActionAskApproval, Value: v}); r != nil {
			t.Errorf("a forged request %q was answered %q", v, r.Text)
		}
	}
	if n := w.sim.Count(simulator.RouteRenew); n != 0 {
		t.Errorf("%d renewals from denied, expired or forged requests", n)
	}
	_ = fmt.Sprint
}

// slowPending answers PendingApprovals late, after reading them, widening
// the window between looking for a request and creating one.
type slowPending struct{ store.API }

func (s slowPending) PendingApprovals(ctx context.Context) ([]store.Approval, error) {
	as, err := s.API.PendingApprovals(ctx)
	time.Sleep(50 * time.Millisecond)
	return as, err
}

// A double click on "Ask for approval" asks once.
func TestDoubleClickOnAskForApprovalAsksOnce(t *testing.T) {
	w := newWorldWith(t, approvalConfig)
	w.opts.Store = slowPending{w.opts.Store}
	w.bot = bot.New(w.opts)
	t.Cleanup(w.bot.Close)
	w.addRunning("big-job", 2*time.Hour)
	r := command(w.bot, "U0ALICE", "C0ML", "extend big-job 24h")
	if len(r.Buttons) != 1 {
		t.Fatalf("no Ask for approval button: %q", r.Text)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			press(w.bot, testClick{User: "U0ALICE", Channel: "C0ML", Ref: "eph", Action: r.Buttons[0].Action, Value: r.Buttons[0].Value})
		}()
	}
	wg.Wait()
	pending, err := w.opts.Store.PendingApprovals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Errorf("%d pending requests after a quadruple click, want 1", len(pending))
	}
	requested := 0
	for _, e := range w.entries(t, "approval-request") {
		if e.Outcome == "requested" {
			requested++
		}
	}
	if requested != 1 {
		t.Errorf("%d requests recorded in the history, want 1", requested)
	}
}
