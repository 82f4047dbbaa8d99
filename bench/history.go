package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
)

// QuietChannel is a channel of the history world whose access list covers
// no notebook at all, so `history` there finds none of its entries among
// the newest and goes on to ask which notebooks the history holds: the
// most a channel's `history` reads.
const QuietChannel = "C0QUIET"

// HistoryResult is figure 6: /notebook history answered by the real
// binary from a SQLite store holding Rows entries.
type HistoryResult struct {
	Rows, Notebooks, N int
	Seed               time.Duration // time to seed the store file
	Channel            Dist          // `history` in a "*" channel: envelope sent → reply received
	Notebook           Dist          // `history <id>`: the same
	NotebookOwn        Dist          // that minus the simulator's time (the notebook is resolved by a get)
	Quiet              Dist          // `history` in QuietChannel: the most a channel's history reads
	QuietN             int
}

// HistoryLatency seeds a SQLite store with rows history entries spread
// over notebooks notebooks, starts leasebot on it, and sends n `history`
// commands in a "*" channel and n `history <notebook>` commands,
// alternately, one at a time, after warmUp of each unrecorded; then
// quiet `history` commands in QuietChannel. Each reply must list the 10
// newest entries (none in QuietChannel).
func HistoryLatency(ctx context.Context, bins *Binaries, dir string, rows, notebooks, n, quiet int) (*HistoryResult, error) {
	w, err := NewWorld(dir, WorldOptions{Notebooks: notebooks, Extra: fmt.Sprintf(
		"  %s:\n    users: [%s]\n    notebooks: [\"nothing-matches-*\"]\n", QuietChannel, User)})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	res := &HistoryResult{Rows: rows, Notebooks: notebooks, N: n, QuietN: quiet}
	path := filepath.Join(dir, fmt.Sprintf("history-%d.db", time.Now().UnixNano()))
	if res.Seed, err = SeedHistory(ctx, path, rows, w.IDs, w.Names); err != nil {
		return nil, err
	}
	w.SQLite = path
	lb, err := w.StartLeasebot(dir, bins.Leasebot)
	if err != nil {
		return nil, err
	}
	var envs []*slackfake.Envelope
	ask := func(channel, text, want string) (time.Duration, *slackfake.Envelope, error) {
		env := w.Slack.SlashCommand(User, channel, text)
		envs = append(envs, env)
		if _, ok := env.WaitAck(ackWait); !ok {
			return 0, env, fmt.Errorf("%q not acked within %v", text, ackWait)
		}
		resp, ok := w.Slack.WaitResponse(env, replyWait)
		if !ok {
			return 0, env, fmt.Errorf("%q not answered within %v", text, replyWait)
		}
		if !strings.Contains(resp.Text, want) {
			return 0, env, fmt.Errorf("%q answered %q, want %q in it", text, tail(resp.Text, 300), want)
		}
		time.Sleep(settle)
		return resp.At.Sub(env.Sent), env, nil
	}
	const ten = "newest first (10)"
	var runErr error
	for i := range n + warmUp {
		if runErr = ctx.Err(); runErr != nil {
			break
		}
		d, _, err := ask(Channel, "history", ten)
		if runErr = err; err != nil {
			break
		}
		id := w.IDs[i%len(w.IDs)]
		dn, env, err := ask(Channel, "history "+id, ten)
		if runErr = err; err != nil {
			break
		}
		if i < warmUp {
			continue
		}
		own, _, _ := w.own(id, env.Sent, env.Sent.Add(dn))
		res.Channel = append(res.Channel, d)
		res.Notebook = append(res.Notebook, dn)
		res.NotebookOwn = append(res.NotebookOwn, own)
	}
	for range quiet {
		if runErr != nil {
			break
		}
		var d time.Duration
		d, _, runErr = ask(QuietChannel, "history", "none recorded")
		res.Quiet = append(res.Quiet, d)
	}
	if runErr == nil {
		runErr = checkOnce(w.Slack, envs, true)
	}
	if err := errors.Join(runErr, stopAll(lb)); err != nil {
		return nil, fmt.Errorf("history: %w\nleasebot stderr:\n%s", err, tail(lb.Stderr(), 3000))
	}
	return res, nil
}
