package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
)

// Outcomes of a warning.
const (
	outcomeOpen      = ""
	outcomeExtended  = "extended"
	outcomeDismissed = "dismissed"
	outcomeStopped   = "stopped"
	outcomeMoved     = "moved"
)

// warning is what leasebot knows about one (notebook, stop time): the
// thresholds it warned per channel, the messages it posted and how it ended.
type warning struct {
	Notebook string                   `json:"notebook"`
	Name     string                   `json:"name"`
	Stop     int64                    `json:"stop_ms"`
	Warned   map[string]time.Duration `json:"warned"` // target -> smallest threshold warned
	Posts    []post                   `json:"posts"`
	Outcome  string                   `json:"outcome,omitempty"`
	By       string                   `json:"by,omitempty"`
	Amount   time.Duration            `json:"amount,omitempty"`
	NewStop  int64                    `json:"new_stop_ms,omitempty"`
}

// post is one copy of a warning: meant for Target, landed at Ref.
type post struct {
	Target string     `json:"channel"`
	Ref    MessageRef `json:"-"`
}

// MarshalJSON keeps the state file's shape: {"channel": …, "ref": …}.
func (p post) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Channel      string `json:"channel"`
		Ref          string `json:"ref"`
		Conversation string `json:"conversation,omitempty"`
	}{p.Target, p.Ref.ID, p.Ref.Conversation})
}

// UnmarshalJSON reads a post of any version of the state file.
func (p *post) UnmarshalJSON(b []byte) error {
	var v struct {
		Channel      string `json:"channel"`
		Ref          string `json:"ref"`
		Conversation string `json:"conversation"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Conversation == "" {
		v.Conversation = v.Channel
	}
	*p = post{Target: v.Channel, Ref: MessageRef{Conversation: v.Conversation, ID: v.Ref}}
	return nil
}

func warningKey(id string, stop time.Time) string {
	return id + "@" + fmt.Sprint(stop.UnixMilli())
}

func (b *Bot) warningFor(nb lease.Notebook, stop time.Time) *warning {
	key := warningKey(nb.ID, stop)
	if v, ok := b.warnings.Get(key); ok {
		return v.(*warning)
	}
	w := &warning{Notebook: nb.ID, Name: nb.Name, Stop: stop.UnixMilli(), Warned: map[string]time.Duration{}}
	b.warnings.Set(key, w, max(time.Minute, stop.Add(maxWarningAge).Sub(b.now())))
	return w
}

// smallestCovering returns the smallest threshold that left is inside, or 0.
func smallestCovering(thresholds []time.Duration, left time.Duration) time.Duration {
	var best time.Duration
	for _, t := range thresholds {
		if left <= t && (best == 0 || t < best) {
			best = t
		}
	}
	return best
}

// pendingPost is a warning copy to post.
type pendingPost struct {
	w         *warning
	nb        lease.Notebook
	target    string
	threshold time.Duration
}

// pendingUpdate is a new text for every copy of a warning.
type pendingUpdate struct {
	w   *warning
	msg Message
}

// Poll runs one watcher cycle: one paginated listing of running notebooks,
// then a diff against what was warned, then delivery of new warnings and of
// updates to warnings whose notebook stopped or whose stop time moved.
func (b *Bot) Poll(ctx context.Context) error {
	nbs, err := b.leases.List(ctx, lease.ListOptions{Status: lease.StatusRunning})
	if err != nil {
		return fmt.Errorf("list running notebooks: %w", err)
	}
	posts, updates := b.diff(nbs, b.now())
	// Delivery is not abandoned half-way on shutdown: a post that reached
	// the chat but was cancelled here would be repeated after a restart.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	b.deliver(ctx, posts, updates)
	return nil
}

// diff compares a listing with the warning state and records, as claimed,
// the copies it decides to post.
func (b *Bot) diff(nbs []lease.Notebook, now time.Time) ([]pendingPost, []pendingUpdate) {
	var posts []pendingPost
	var updates []pendingUpdate
	chans := make([]string, 0, 8)

	b.mu.Lock()
	defer b.mu.Unlock()
	open := map[string][]*warning{} // notebook ID -> open warnings with copies
	for _, it := range b.warnings.Items() {
		w := it.Object.(*warning)
		if w.Outcome == outcomeOpen && len(w.Posts) > 0 {
			open[w.Notebook] = append(open[w.Notebook], w)
		}
	}
	index := b.access.Index()
	for _, nb := range nbs {
		// A warned notebook still running keeps its warnings open unless its
		// stop time moved; one listed but not running is handled below as
		// stopped (a server may ignore the status filter).
		if ws, ok := open[nb.ID]; ok && nb.Running() {
			for _, w := range ws {
				if nb.StopTime().UnixMilli() != w.Stop && !nb.StopTime().IsZero() {
					w.Outcome = outcomeMoved
					w.NewStop = nb.StopTime().UnixMilli()
					updates = append(updates, pendingUpdate{w, b.movedMessage(w, nb, now)})
				}
			}
			delete(open, nb.ID)
		}
		if !nb.Running() {
			continue
		}
		stop := nb.StopTime()
		left := stop.Sub(now)
		if stop.IsZero() || left <= 0 || left > b.widestWarning || !nb.Lease.IsTiming() {
			continue
		}
		chans = index.Channels(chans[:0], nb)
		for _, id := range chans {
			ch, _ := b.access.Channel(id)
			if !ch.Warn {
				continue
			}
			if p, ok := b.crossed(nb, stop, id, ch.WarnBefore, left); ok {
				posts = append(posts, p)
			}
		}
		// The owner gets a copy by direct message, with the same buttons.
		if owner := b.access.Owner(nb); owner != "" && b.cfg.Defaults.NotifyOwner {
			if p, ok := b.crossed(nb, stop, ownerTarget(owner), b.cfg.Defaults.WarnBefore, left); ok {
				posts = append(posts, p)
			}
		}
	}
	for _, ws := range open { // warned notebooks no longer running
		for _, w := range ws {
			w.Outcome = outcomeStopped
			updates = append(updates, pendingUpdate{w, b.stoppedMessage(w)})
		}
	}
	return posts, updates
}

// crossed reports the copy to post for target when nb's time left is
// inside a threshold it was not yet warned at; b.mu is held.
func (b *Bot) crossed(nb lease.Notebook, stop time.Time, target string, thresholds []time.Duration, left time.Duration) (pendingPost, bool) {
	th := smallestCovering(thresholds, left)
	if th == 0 {
		return pendingPost{}, false
	}
	w := b.warningFor(nb, stop)
	if w.Outcome != outcomeOpen {
		return pendingPost{}, false
	}
	if prev, ok := w.Warned[target]; ok && prev <= th {
		return pendingPost{}, false
	}
	w.Warned[target] = th
	return pendingPost{w: w, nb: nb, target: target, threshold: th}, true
}

// A warning copy meant for a person (the notebook's owner) has a target of
// "@" and their user ID; every other target is a channel ID.
func ownerTarget(user string) string { return "@" + user }

func targetOf(target string) Target {
	if user, ok := strings.CutPrefix(target, "@"); ok {
		return Target{User: user}
	}
	return Target{Channel: target}
}

// deliver posts new warning copies and updates ended warnings.
func (b *Bot) deliver(ctx context.Context, posts []pendingPost, updates []pendingUpdate) {
	now := b.now()
	for _, p := range posts {
		msg := b.warningMessage(p.nb, p.target, now)
		ref, err := b.chat.Post(ctx, targetOf(p.target), msg)
		if errors.Is(err, ErrUndeliverable) {
			// Kept as warned: posting again every cycle would fail the same way.
			b.log.Error("a warning cannot be posted in this channel; is the bot a member?", "channel", p.target, "notebook", p.nb.ID, "err", err)
			continue
		}
		if err != nil {
			b.log.Warn("posting a warning failed; trying again next cycle", "channel", p.target, "notebook", p.nb.ID, "err", err)
			b.mu.Lock()
			delete(p.w.Warned, p.target)
			b.mu.Unlock()
			continue
		}
		b.obs.WarningPosted()
		b.mu.Lock()
		p.w.Posts = append(p.w.Posts, post{Target: p.target, Ref: ref})
		b.mu.Unlock()
	}
	for _, u := range updates {
		b.updatePosts(ctx, u.w, u.msg)
	}
}

// updatePosts replaces every copy of a warning with msg.
func (b *Bot) updatePosts(ctx context.Context, w *warning, msg Message) {
	b.mu.Lock()
	posts := slices.Clone(w.Posts)
	b.mu.Unlock()
	for _, p := range posts {
		if err := b.chat.Update(ctx, p.Ref, msg); err != nil {
			b.log.Warn("updating a warning failed", "conversation", p.Ref.Conversation, "ref", p.Ref.ID, "err", err)
		}
	}
}

// buttonsFor is the extend buttons of a warning copy: the channel's, or
// for an owner's copy the default buttons within the owner limit.
func (b *Bot) buttonsFor(target string) []time.Duration {
	if ch, ok := b.access.Channel(target); ok {
		return ch.ExtendButtons
	}
	var out []time.Duration
	for _, d := range b.cfg.Defaults.ExtendButtons {
		if d <= b.cfg.Defaults.OwnerMaxExtend {
			out = append(out, d)
		}
	}
	return out
}

func (b *Bot) warningMessage(nb lease.Notebook, channel string, now time.Time) Message {
	stop := nb.StopTime()
	t := named(Text{}.Plain("⏳ "), nb).Plain(" will stop ")
	t = stopAt(t, stop, now).Plain(". Whatever runs in it will be stopped with it. Extend it?")
	var buttons []Button
	for _, d := range b.buttonsFor(channel) {
		buttons = append(buttons, Button{
			Action: ActionExtend,
			Value:  warningButton{id: nb.ID, shown: stop, amount: d}.value(),
			Label:  "Extend " + duration.Format(d),
		})
	}
	buttons = append(buttons, Button{Action: ActionDismiss, Value: warningButton{id: nb.ID, shown: stop}.value(), Label: "Let it stop", Danger: true})
	return Message{Text: t, Buttons: buttons, InChannel: true}
}

func (w *warning) notebook() lease.Notebook { return lease.Notebook{ID: w.Notebook, Name: w.Name} }

func (b *Bot) stoppedMessage(w *warning) Message {
	t := named(Text{}.Plain("⏹ "), w.notebook()).Plain(" is no longer running (it was due to stop ").Time(time.UnixMilli(w.Stop)).Plain(").")
	return Message{Text: t, InChannel: true}
}

func (b *Bot) movedMessage(w *warning, nb lease.Notebook, now time.Time) Message {
	t := named(Text{}.Plain("↪ The stop time of "), w.notebook()).Plain(" was moved without this warning: it now stops ")
	t = stopAt(t, nb.StopTime(), now).Plain(" instead of ").Time(time.UnixMilli(w.Stop)).Plain(".")
	return Message{Text: t, InChannel: true}
}

func (b *Bot) extendedMessage(w *warning, now time.Time) Message {
	t := Text{}.Plain("✅ ").User(w.By).Plain(" extended ")
	t = named(t, w.notebook()).Plain(" by " + duration.Format(w.Amount) + ": it now stops ")
	t = stopAt(t, time.UnixMilli(w.NewStop), now).Plain(".")
	return Message{Text: t, InChannel: true}
}

func (b *Bot) dismissedMessage(w *warning) Message {
	t := Text{}.Plain("🛑 ").User(w.By).Plain(" chose to let ")
	t = named(t, w.notebook()).Plain(" stop at ").Time(time.UnixMilli(w.Stop)).Plain(". No more warnings for this stop time.")
	return Message{Text: t, InChannel: true}
}

// SaveState writes the warning state to path atomically.
func (b *Bot) SaveState(path string) error {
	b.mu.Lock()
	var list []*warning
	for _, it := range b.warnings.Items() {
		list = append(list, it.Object.(*warning))
	}
	slices.SortFunc(list, func(a, c *warning) int {
		return strings.Compare(a.Notebook+fmt.Sprint(a.Stop), c.Notebook+fmt.Sprint(c.Stop))
	})
	data, err := json.MarshalIndent(list, "", " ")
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save warning state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".leasebot-state-*")
	if err != nil {
		return fmt.Errorf("save warning state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save warning state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save warning state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save warning state: %w", err)
	}
	return nil
}

// LoadState reads the warning state saved by SaveState; a missing file is no error.
func (b *Bot) LoadState(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load warning state: %w", err)
	}
	var list []*warning
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("load warning state %s: %w", path, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for _, w := range list {
		if w == nil || w.Notebook == "" {
			continue
		}
		if w.Warned == nil {
			w.Warned = map[string]time.Duration{}
		}
		stop := time.UnixMilli(w.Stop)
		if ttl := stop.Add(maxWarningAge).Sub(now); ttl > 0 {
			b.warnings.Set(warningKey(w.Notebook, stop), w, ttl)
		}
	}
	return nil
}

// Watch polls every interval until ctx ends, saving the warning state to
// stateFile (if set) after each successful cycle.
func (b *Bot) Watch(ctx context.Context, every time.Duration, stateFile string) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := b.Poll(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("watcher cycle failed", "err", err)
		} else if stateFile != "" && ctx.Err() == nil {
			if err := b.SaveState(stateFile); err != nil {
				b.log.Warn("saving warning state failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
