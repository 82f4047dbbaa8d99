package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leasebot/leasebot/bot/acl"
	"github.com/leasebot/leasebot/bot/command"
	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
)

// maxListed caps how many notebooks one `list` reply shows.
const maxListed = 40

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Command runs one /notebook command and returns the reply to show.
func (b *Bot) Command(ctx context.Context, r Request) (reply Message) {
	verb := "invalid"
	outcome := "refused"
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("command panicked", "user", r.User, "channel", r.Channel, "panic", fmt.Sprint(p))
			reply = ephemeral(Text{}.Plain("Something went wrong inside leasebot; nothing was changed. The error is logged; please tell an admin."))
			outcome = "panic"
		}
		b.obs.Command(verb, outcome)
	}()

	cmd, err := command.Parse(r.Text)
	if err != nil {
		if f := strings.Fields(strings.ToLower(r.Text)); len(f) > 0 && f[0] == string(command.Extend) {
			verb = string(command.Extend)
			b.auditChange(auditEntry{user: r.User, channel: r.Channel, verb: "extend", requested: clip(r.Text, 80), outcome: "refused", code: "syntax"})
		}
		var se *command.SyntaxError
		if errors.As(err, &se) {
			if se.Hint != "" {
				return ephemeral(Text{}.Plain(se.Msg + "\nTry: ").Code(se.Hint))
			}
			return ephemeral(Text{}.Plain(se.Msg))
		}
		return ephemeral(Text{}.Plain("I could not read that command. ").Code("/notebook help").Plain(" shows what I understand."))
	}
	verb = string(cmd.Verb)
	if d := b.acl.Member(ctx, r.User, r.Channel); !d.OK() {
		if cmd.Verb == command.Extend {
			b.auditRefusal(r, cmd, nil, refusalCode(d))
		}
		return ephemeral(b.refusal(d))
	}
	var ok bool
	switch cmd.Verb {
	case command.Help:
		reply, ok = ephemeral(Text{}.Plain(command.TopicUsage(cmd.Topic))), true
	case command.List:
		reply, ok = b.list(ctx, r)
	case command.Status:
		reply, ok = b.status(ctx, r, cmd)
	case command.Extend:
		reply, ok = b.extend(ctx, r, cmd)
	}
	if ok {
		outcome = "ok"
	} else {
		outcome = "refused"
	}
	return reply
}

func ephemeral(t Text) Message { return Message{Text: t} }

func refusalCode(d acl.Decision) string {
	switch d.Reason {
	case acl.DirectMessage:
		return "direct_message"
	case acl.UnknownChannel:
		return "unknown_channel"
	case acl.NotMember:
		return "not_member"
	case acl.NotCovered:
		return "not_covered"
	case acl.GroupLookupError:
		return "group_lookup"
	}
	return ""
}

func (b *Bot) refusal(d acl.Decision) Text {
	switch d.Reason {
	case acl.DirectMessage:
		return Text{}.Plain("Sorry, leasebot does not take commands in direct messages. Use it in a channel an admin has set up for your notebooks.")
	case acl.UnknownChannel:
		return Text{}.Plain("Sorry, leasebot is not set up for this channel, so it can do nothing here. Ask an admin to add this channel to leasebot's config.")
	case acl.NotMember:
		return Text{}.Plain("Sorry, you are not on this channel's leasebot access list. Ask an admin to add you (or one of your user groups).")
	case acl.NotCovered:
		return Text{}.Plain("Sorry, that notebook is not managed from this channel.")
	case acl.GroupLookupError:
		b.log.Warn("user group lookup failed", "err", d.Err)
		return Text{}.Plain("I could not check your user groups with Slack just now, so I did nothing. Please try again in a minute.")
	}
	return Text{}.Plain("Sorry, that is not allowed.")
}

// resolve finds the notebook a command names: by ID, else by exact name.
// When it fails, the returned text says why.
func (b *Bot) resolve(ctx context.Context, r Request, ref string) (lease.Notebook, Text, bool) {
	if uuidRE.MatchString(ref) {
		id := strings.ToLower(ref)
		nb, err := b.leases.Get(ctx, id)
		if err != nil {
			return lease.Notebook{}, b.leaseFailure(err, lease.Notebook{ID: id}), false
		}
		return nb, nil, true
	}
	all, err := b.listing(ctx)
	if err != nil {
		return lease.Notebook{}, b.leaseFailure(err, lease.Notebook{}), false
	}
	var found []lease.Notebook
	for _, nb := range all {
		if nb.Name == ref || strings.EqualFold(nb.ID, ref) {
			found = append(found, nb)
		}
	}
	switch len(found) {
	case 0:
		return lease.Notebook{}, Text{}.Plain("No notebook is called ").Code(ref).Plain(". ").Code("/notebook list").Plain(" shows the notebooks this channel manages."), false
	case 1:
		if found[0].ID != ref {
			// Names resolve through a cached listing; read the one notebook fresh.
			nb, err := b.leases.Get(ctx, found[0].ID)
			if err != nil {
				return lease.Notebook{}, b.leaseFailure(err, found[0]), false
			}
			return nb, nil, true
		}
		return found[0], nil, true
	}
	t := Text{}.Plain(fmt.Sprintf("%d notebooks are called ", len(found))).Strong(ref).Plain("; use the ID of the one you mean:")
	for _, nb := range found {
		t = t.Plain("\n• ").Strong(nb.Name).Plain(" ").Code(nb.ID).Plain(" " + nb.Status)
	}
	return lease.Notebook{}, t, false
}

// listing returns all notebooks, from a short-lived cache.
func (b *Bot) listing(ctx context.Context) ([]lease.Notebook, error) {
	if v, ok := b.listings.Get("all"); ok {
		return v.([]lease.Notebook), nil
	}
	all, err := b.leases.List(ctx, lease.ListOptions{})
	if err != nil {
		return nil, err
	}
	b.listings.SetDefault("all", all)
	return all, nil
}

func (b *Bot) forget() { b.listings.Flush() }

func (b *Bot) list(ctx context.Context, r Request) (Message, bool) {
	all, err := b.listing(ctx)
	if err != nil {
		return ephemeral(b.leaseFailure(err, lease.Notebook{})), false
	}
	var mine []lease.Notebook
	for _, nb := range all {
		if b.acl.Covers(r.Channel, nb) {
			mine = append(mine, nb)
		}
	}
	if len(mine) == 0 {
		return ephemeral(Text{}.Plain("This channel manages no notebooks that exist right now.")), true
	}
	slices.SortStableFunc(mine, func(a, c lease.Notebook) int {
		if a.Running() != c.Running() {
			if a.Running() {
				return -1
			}
			return 1
		}
		if a.Running() && !a.StopTime().Equal(c.StopTime()) {
			return a.StopTime().Compare(c.StopTime())
		}
		return strings.Compare(a.Name, c.Name)
	})
	now := b.now()
	t := Text{}.Plain(fmt.Sprintf("Notebooks managed from this channel (%d):", len(mine)))
	for i, nb := range mine {
		if i == maxListed {
			t = t.Plain(fmt.Sprintf("\n…and %d more. Use ", len(mine)-maxListed)).Code("/notebook status <name>").Plain(" for one.")
			break
		}
		t = t.Plain("\n• ").Strong(nb.Name).Plain(" ").Code(nb.ID).Plain(" ")
		t = b.describeStop(t, nb, now)
	}
	return ephemeral(t), true
}

// describeStop appends a notebook's state and stop time.
func (b *Bot) describeStop(t Text, nb lease.Notebook, now time.Time) Text {
	if !nb.Running() {
		return t.Plain(nb.Status)
	}
	stop := nb.StopTime()
	if stop.IsZero() {
		return t.Plain("RUNNING, auto-stop off")
	}
	return stopAt(t.Plain("RUNNING, stops "), stop, now)
}

// stopAt appends "<time> (in 2h 05m)".
func stopAt(t Text, stop, now time.Time) Text {
	t = t.Time(stop)
	if left := stop.Sub(now); left > 0 {
		return t.Plain(" (in " + duration.Format(left.Round(time.Minute)) + ")")
	}
	return t.Plain(" (now)")
}

func (b *Bot) status(ctx context.Context, r Request, cmd command.Command) (Message, bool) {
	nb, why, ok := b.resolve(ctx, r, cmd.Notebook)
	if !ok {
		return ephemeral(why), false
	}
	if d := b.acl.Check(ctx, r.User, r.Channel, nb); !d.OK() {
		return ephemeral(b.refusal(d)), false
	}
	now := b.now()
	t := Text{}.Strong(nb.Name).Plain(" ").Code(nb.ID).Plain("\nStatus: " + nb.Status)
	if nb.Flavor != "" {
		t = t.Plain(" · " + nb.Flavor)
	}
	if nb.Running() {
		stop := nb.StopTime()
		switch {
		case stop.IsZero():
			t = t.Plain("\nAuto-stop is off: it runs until someone stops it.")
		default:
			kind := "scheduled stop"
			if !nb.Lease.IsTiming() {
				kind = "stop when idle (" + strings.ToLower(nb.Lease.Type) + ")"
			}
			t = stopAt(t.Plain("\nLease: "+kind+"\nStops: "), stop, now)
		}
	}
	return ephemeral(t), true
}

// clip shortens s to at most n bytes at a rune boundary, for logs.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
