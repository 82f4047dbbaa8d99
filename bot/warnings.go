package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
	Warned   map[string]time.Duration `json:"warned"` // channel -> smallest threshold warned
	Posts    []post                   `json:"posts"`
	Outcome  string                   `json:"outcome,omitempty"`
	By       string                   `json:"by,omitempty"`
	Amount   time.Duration            `json:"amount,omitempty"`
	NewStop  int64                    `json:"new_stop_ms,omitempty"`
	pending  string                   // user whose click is being carried out
}

type post struct {
	Channel string `json:"channel"`
	Ref     string `json:"ref"`
}

func warningKey(id string, stop time.Time) string {
	return id + "@" + strconv.FormatInt(stop.UnixMilli(), 10)
}

// keep is how long a warning's state outlives its stop time.
const keep = 7 * 24 * time.Hour

func (b *Bot) warningFor(nb lease.Notebook, stop time.Time) *warning {
	key := warningKey(nb.ID, stop)
	if v, ok := b.warnings.Get(key); ok {
		return v.(*warning)
	}
	w := &warning{Notebook: nb.ID, Name: nb.Name, Stop: stop.UnixMilli(), Warned: map[string]time.Duration{}}
	b.warnings.Set(key, w, time.Until(stop.Add(keep)))
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

type pendingPost struct {
	w         *warning
	nb        lease.Notebook
	channel   string
	threshold time.Duration
}

type pendingUpdate struct {
	w   *warning
	msg Message
}

// Poll runs one watcher cycle: one paginated listing of running notebooks,
// a warning per (notebook, stop time, threshold) crossing in each channel that
// watches the notebook, and updates to warnings whose notebook stopped or
// whose stop time moved without a click.
func (b *Bot) Poll(ctx context.Context) error {
	nbs, err := b.leases.List(ctx, lease.ListOptions{Status: lease.StatusRunning})
	if err != nil {
		return fmt.Errorf("list running notebooks: %w", err)
	}
	now := b.now()
	var posts []pendingPost
	var updates []pendingUpdate
	chans := make([]string, 0, 8)

	b.mu.Lock()
	open := map[string][]*warning{} // notebook ID -> open warnings
	for _, it := range b.warnings.Items() {
		w := it.Object.(*warning)
		if w.Outcome == outcomeOpen && len(w.Posts) > 0 {
			open[w.Notebook] = append(open[w.Notebook], w)
		}
	}
	index := b.acl.Index()
	for _, nb := range nbs {
		// A warned notebook still running keeps its warnings open unless its
		// stop time moved; one listed but not running is handled below as stopped
		// (a server may ignore the status filter).
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
			ch, _ := b.acl.Channel(id)
			if !ch.Warn {
				continue
			}
			th := smallestCovering(ch.WarnBefore, left)
			if th == 0 {
				continue
			}
			w := b.warningFor(nb, stop)
			if w.Outcome != outcomeOpen {
				continue
			}
			if prev, ok := w.Warned[id]; ok && prev <= th {
				continue
			}
			w.Warned[id] = th
			posts = append(posts, pendingPost{w: w, nb: nb, channel: id, threshold: th})
		}
	}
	for _, ws := range open { // warned notebooks no longer running
		for _, w := range ws {
			w.Outcome = outcomeStopped
			updates = append(updates, pendingUpdate{w, b.stoppedMessage(w)})
		}
	}
	b.mu.Unlock()

	// Posting is not abandoned half-way on shutdown: a post that reached Slack
	// but was cancelled here would be repeated after a restart.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, p := range posts {
		msg := b.warningMessage(p.nb, p.channel, now)
		ref, err := b.chat.Post(ctx, p.channel, msg)
		if errors.Is(err, ErrUndeliverable) {
			// Kept as warned: posting again every cycle would fail the same way.
			b.log.Error("a warning cannot be posted in this channel; is the bot a member?", "channel", p.channel, "notebook", p.nb.ID, "err", err)
			continue
		}
		if err != nil {
			b.log.Warn("posting a warning failed; trying again next cycle", "channel", p.channel, "notebook", p.nb.ID, "err", err)
			b.mu.Lock()
			delete(p.w.Warned, p.channel)
			b.mu.Unlock()
			continue
		}
		b.obs.WarningPosted()
		b.mu.Lock()
		p.w.Posts = append(p.w.Posts, post{Channel: p.channel, Ref: ref})
		b.mu.Unlock()
	}
	for _, u := range updates {
		b.updatePosts(ctx, u.w, u.msg)
	}
	return nil
}

func (b *Bot) updatePosts(ctx context.Context, w *warning, msg Message) {
	b.mu.Lock()
	posts := slices.Clone(w.Posts)
	b.mu.Unlock()
	for _, p := range posts {
		if err := b.chat.Update(ctx, p.Channel, p.Ref, msg); err != nil {
			b.log.Warn("updating a warning failed", "channel", p.Channel, "ref", p.Ref, "err", err)
		}
	}
}

func (b *Bot) buttonsFor(channel string) []time.Duration {
	if ch, ok := b.acl.Channel(channel); ok {
		return ch.ExtendButtons
	}
	return nil
}

func (b *Bot) warningMessage(nb lease.Notebook, channel string, now time.Time) Message {
	stop := nb.StopTime()
	t := named(Text{}.Plain("⏳ "), nb).Plain(" will stop ")
	t = stopAt(t, stop, now).Plain(". Whatever runs in it will be stopped with it. Extend it?")
	var buttons []Button
	for _, d := range b.buttonsFor(channel) {
		buttons = append(buttons, Button{
			Action: ActionExtend,
			Value:  fmt.Sprintf("%s|%d|%d", nb.ID, stop.UnixMilli(), int64(d/time.Second)),
			Label:  "Extend " + duration.Format(d),
		})
	}
	buttons = append(buttons, Button{Action: ActionDismiss, Value: fmt.Sprintf("%s|%d", nb.ID, stop.UnixMilli()), Label: "Let it stop", Danger: true})
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

// parseButton reads "id|stop_ms[|seconds]".
func parseButton(value string, withAmount bool) (id string, stop time.Time, amount time.Duration, err error) {
	parts := strings.Split(value, "|")
	want := 2
	if withAmount {
		want = 3
	}
	if len(parts) != want || !uuidRE.MatchString(parts[0]) {
		return "", time.Time{}, 0, errors.New("malformed button value")
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || ms <= 0 {
		return "", time.Time{}, 0, errors.New("malformed stop time in button value")
	}
	if withAmount {
		s, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || s <= 0 || s > int64(lease.MaxDuration/time.Second) {
			return "", time.Time{}, 0, errors.New("malformed amount in button value")
		}
		amount = time.Duration(s) * time.Second
	}
	return parts[0], time.UnixMilli(ms), amount, nil
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
	for _, w := range list {
		if w == nil || w.Notebook == "" {
			continue
		}
		if w.Warned == nil {
			w.Warned = map[string]time.Duration{}
		}
		stop := time.UnixMilli(w.Stop)
		if ttl := time.Until(stop.Add(keep)); ttl > 0 {
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
