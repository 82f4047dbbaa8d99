package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/slackchat"
	"github.com/leasebot/leasebot/bot/slackchat/slackid"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

// runCheck is `leasebot check`: validate the config, try the credentials that
// are set, print the effective ACL. Exit 1 on any problem found; a flag it
// does not know is a bad command line, exit 2, as for every sub-command.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs, cfgFlag := newFlags("check", stderr)
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	path := configPath(*cfgFlag, getenv)
	cfg, err := config.LoadWith(path, config.Options{IDs: slackid.Rules{}})
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintf(stdout, "config %s: INVALID\n", path)
		return exitFail
	}
	fmt.Fprintf(stdout, "config %s: OK\n\n%s\n", path, cfg.Describe())
	failed := false
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	if db, err := openStore(ctx, cfg, getenv, nil, true); errors.Is(err, store.ErrInUse) {
		fmt.Fprintf(stdout, "store: OK: %v (a running leasebot holds it)\n", err)
	} else if errors.Is(err, store.ErrNoStore) {
		fmt.Fprintf(stdout, "store: OK: %v\n", err)
	} else if err != nil {
		fmt.Fprintf(stdout, "store: ERROR: %v\n", err)
		failed = true
	} else {
		info, err := db.Info(ctx)
		if err != nil {
			fmt.Fprintf(stdout, "store: ERROR: %v\n", err)
			failed = true
		} else if info.SchemaVersion > store.SchemaVersion() {
			fmt.Fprintf(stdout, "store: ERROR: %s %s has schema version %d, newer than this leasebot knows (%d): upgrade leasebot\n", info.Kind, info.Where, info.SchemaVersion, store.SchemaVersion())
			failed = true
		} else if info.Pending > 0 {
			fmt.Fprintf(stdout, "store: OK: %s %s, reachable, schema version %d; leasebot run will migrate it to %d (check changed nothing)\n", info.Kind, info.Where, info.SchemaVersion, store.SchemaVersion())
		} else {
			fmt.Fprintf(stdout, "store: OK: %s %s, reachable, schema version %d (up to date)\n", info.Kind, info.Where, info.SchemaVersion)
		}
		db.Close()
	}

	if auth, mode, err := modelArtsAuth(cfg, getenv); err != nil {
		fmt.Fprintf(stdout, "modelarts: not tried: %v\n", err)
	} else if client, err := cloudLeaseClient(cfg, auth, nil); err != nil {
		fmt.Fprintf(stdout, "modelarts: ERROR: %v\n", err)
		failed = true
	} else {
		nbs, err := client.List(ctx, lease.ListOptions{})
		switch {
		case err == nil:
			running := 0
			for _, nb := range nbs {
				if nb.Running() {
					running++
				}
			}
			fmt.Fprintf(stdout, "modelarts: OK (%s): %d notebooks, %d running\n", mode, len(nbs), running)
		case lease.KindOf(err) == lease.KindUnavailable:
			fmt.Fprintf(stdout, "modelarts: not reachable from here (%s): %v\n", mode, err)
		default:
			fmt.Fprintf(stdout, "modelarts: ERROR (%s): %v\n", mode, err)
			failed = true
		}
	}

	if app, bot, err := slackTokens(getenv); err != nil {
		fmt.Fprintf(stdout, "slack: not tried: %v\n", err)
	} else {
		a := slackchat.New(slackchat.Options{AppToken: app, BotToken: bot, APIURL: getenv("SLACK_API_URL")})
		if team, user, err := a.AuthTest(ctx); err != nil {
			fmt.Fprintf(stdout, "slack: ERROR: SLACK_BOT_TOKEN: %v\n", err)
			failed = true
		} else {
			fmt.Fprintf(stdout, "slack: OK: bot %s in workspace %s\n", user, team)
		}
		if err := a.CheckAppToken(ctx); err != nil {
			fmt.Fprintf(stdout, "slack: ERROR: SLACK_APP_TOKEN: %v\n", err)
			failed = true
		} else {
			fmt.Fprintln(stdout, "slack: OK: the app-level token opens Socket Mode connections")
		}
	}
	if failed {
		return exitFail
	}
	return exitOK
}
