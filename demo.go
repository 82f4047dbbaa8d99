package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/console"
	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/bot/slackchat/slackid"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// The demo's channel and users.
const (
	demoChannel     = "C0DEMO"
	demoChannelName = "demo"
	demoAlice       = "U0ALICE" // on the channel's access list; owns llm-finetune and a team-a-sandbox
	demoBob         = "U0BOB"   // not on it
	demoCarol       = "U0CAROL" // on it, and the channel's approver
)

// demoConfig is the demo's config file: one channel, alice and carol on its
// access list, every notebook covered, every action allowed, keeps up to a
// week, carol approving extensions over 8h; alice is linked to her IAM user,
// so her own notebooks are warned to her directly too.
func demoConfig(endpoint, projectID string, poll time.Duration) []byte {
	return fmt.Appendf(nil, `modelarts:
  endpoint: %s
  project_id: %s
admins: []
people:
  alice: %s
defaults:
  max_extend: 8h
  warn_before: [30m, 10m]
  extend_buttons: [1h, 4h]
  poll_interval: %ds
  notify_owner: true
  owner_actions: [extend, keep, start, stop]
  owner_max_keep: 7d
channels:
  %s:
    users: [%s, %s]
    notebooks: ["*"]
    actions: [extend, keep, start, stop]
    max_keep: 7d
    approvers:
      users: [%s]
`, endpoint, projectID, demoAlice, int64(poll/time.Second), demoChannel, demoAlice, demoCarol, demoCarol)
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runDemo is `leasebot demo`: the ModelArts simulator, the real lease client
// (over HTTP, AK/SK-signed), the real core and watcher, and a console chat in
// place of Slack. Scriptable: with standard input not a terminal, it carries
// out each line in turn and exits 0 at the end of input.
func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "show the bot's log, audit lines included, on standard error")
	poll := fs.Duration("poll", 5*time.Second, "how often the watcher lists notebooks (at least "+duration.Format(config.MinPollInterval)+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "leasebot demo: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	}
	if *poll < config.MinPollInterval || *poll%time.Second != 0 {
		fmt.Fprintf(stderr, "leasebot demo: -poll must be whole seconds and at least %s\n", duration.Format(config.MinPollInterval))
		return exitConfig
	}

	sim, err := startSimulator("", time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "leasebot demo:", err)
		return exitFail
	}
	defer sim.Close()
	cfg, err := config.ParseWith(demoConfig(sim.Endpoint, sim.Server.ProjectID(), *poll), "(demo config)", config.Options{IDs: slackid.Rules{}})
	if err != nil {
		fmt.Fprintln(stderr, "leasebot demo: the built-in config is invalid:", err)
		return exitFail
	}
	leases, _, err := newLeaseClient(cfg, func(string) string { return "" }, sim, nil)
	if err != nil {
		fmt.Fprintln(stderr, "leasebot demo:", err)
		return exitFail
	}

	interactive := isTerminal(stdin)
	chat := console.New(console.Options{
		In: stdin, Out: stdout,
		Channel: demoChannel, ChannelName: demoChannelName,
		Users: []console.User{
			{ID: demoAlice, Name: "alice", Note: "on #" + demoChannelName + "'s access list, owns llm-finetune"},
			{ID: demoBob, Name: "bob", Note: "not on #" + demoChannelName + "'s access list"},
			{ID: demoCarol, Name: "carol", Note: "on #" + demoChannelName + "'s access list, its approver"},
		},
		Color:       isTerminal(stdout) && os.Getenv("NO_COLOR") == "",
		Interactive: interactive,
	})
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(chat.SyncWriter(stderr), &slog.HandlerOptions{Level: level}))
	// The demo's state lives in a SQLite file of its own, removed at the end.
	dir, err := os.MkdirTemp("", "leasebot-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "leasebot demo:", err)
		return exitFail
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(context.WithoutCancel(ctx), store.Options{Path: filepath.Join(dir, "leasebot.db")})
	if err != nil {
		fmt.Fprintln(stderr, "leasebot demo:", err)
		return exitFail
	}
	defer db.Close()
	core := bot.New(bot.Options{Config: cfg, Leases: leases, Chat: chat, Store: db, Log: log})

	fmt.Fprint(stdout, demoBanner(ctx, leases, sim.Endpoint, *poll, interactive))

	// The watcher's first cycle runs before any input is read, so that a
	// warning for the notebook about to stop is on screen (and its buttons
	// numbered) before the first line: a script can `press 1` deterministically.
	// core.Watch then takes over one interval later.
	if err := core.Poll(ctx); err != nil && ctx.Err() == nil {
		log.Warn("watcher cycle failed", "err", err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-watchCtx.Done():
			return
		case <-time.After(*poll):
		}
		core.Watch(watchCtx, *poll, nil)
	}()

	runErr := chat.Run(ctx, core)
	stopWatch()
	<-watchDone // a warning being posted is printed before we exit
	core.Close()
	if runErr != nil {
		fmt.Fprintln(stderr, "leasebot demo:", runErr)
		return exitFail
	}
	if interactive {
		fmt.Fprintln(stdout, "Bye.")
	}
	return exitOK
}

// demoBanner explains the demo, with examples drawn from the simulator's notebooks.
func demoBanner(ctx context.Context, leases bot.Leases, endpoint string, poll time.Duration, interactive bool) string {
	soon, unique, shared := "NOTEBOOK", "NOTEBOOK", ""
	if nbs, err := leases.List(ctx, lease.ListOptions{}); err == nil {
		soon, unique, shared = demoExamples(nbs)
	}
	var b strings.Builder
	b.WriteString("leasebot demo: no Slack workspace and no cloud account needed.\n")
	fmt.Fprintf(&b, "A ModelArts simulator serves a few notebooks on %s; the real lease client talks to it\n", endpoint)
	b.WriteString("over HTTP with AK/SK signing, and the real bot core and expiry watcher run against it.\n")
	fmt.Fprintf(&b, "This console stands in for the Slack channel #%s. You are alice, on its access list and the owner of\n", demoChannelName)
	b.WriteString("llm-finetune; bob is not on the list; carol is, and approves extensions over 8h.\n")
	fmt.Fprintf(&b, "The watcher looks every %s; %s stops within minutes, so its warning appears below,\n", duration.Format(poll), soon)
	b.WriteString("in the channel and, because alice owns it, in her direct messages too.\n\n")
	b.WriteString("Try:\n")
	b.WriteString("  /notebook list\n")
	fmt.Fprintf(&b, "  /notebook extend %s 2h\n", unique)
	fmt.Fprintf(&b, "  /notebook status %s\n", unique)
	if shared != "" {
		fmt.Fprintf(&b, "  /notebook status %s        (two notebooks share this name)\n", shared)
	}
	b.WriteString("  press 1                   (presses button [1]; a copy of the same warning shows the outcome too)\n")
	fmt.Fprintf(&b, "  /notebook keep %s until %s 18:00   (past 72h: renewed as it runs out)\n", soon, strings.ToLower(time.Now().AddDate(0, 0, 2).Weekday().String()[:3]))
	fmt.Fprintf(&b, "  /notebook extend %s 12h, press Ask for approval, then as carol, press Approve\n", unique)
	b.WriteString("  /notebook start data-prep, /notebook stop data-prep (with a confirmation), /notebook history\n")
	b.WriteString("  home                      (alice's App Home: her notebooks, with buttons)\n")
	b.WriteString("  dm /notebook list         (the same, in her direct message with the app)\n")
	fmt.Fprintf(&b, "  as bob, then /notebook extend %s 1h   (refused: bob is not on the access list)\n", unique)
	b.WriteString("  as alice, users, help")
	if interactive {
		b.WriteString(", quit (or Ctrl-D)")
	}
	b.WriteString("\n\n")
	return b.String()
}

// demoExamples picks notebook names for the banner: the running notebook that
// stops first, a running one with a unique name and hours left, and a name
// shared by several.
func demoExamples(nbs []lease.Notebook) (soon, unique, shared string) {
	soon, unique = "NOTEBOOK", "NOTEBOOK"
	count := map[string]int{}
	for _, nb := range nbs {
		count[nb.Name]++
	}
	var running []lease.Notebook
	for _, nb := range nbs {
		if count[nb.Name] > 1 && shared == "" {
			shared = nb.Name
		}
		if nb.Running() && !nb.StopTime().IsZero() {
			running = append(running, nb)
		}
	}
	slices.SortFunc(running, func(a, b lease.Notebook) int { return a.StopTime().Compare(b.StopTime()) })
	if len(running) > 0 {
		soon = running[0].Name
	}
	now := time.Now()
	for _, nb := range running[min(1, len(running)):] {
		if count[nb.Name] == 1 && nb.StopTime().Sub(now) > 2*time.Hour {
			unique = nb.Name
			break
		}
	}
	return soon, unique, shared
}
