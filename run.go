package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/leasebot/leasebot/admin"
	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/slackchat"
	"github.com/leasebot/leasebot/bot/slackchat/slackid"
	"github.com/leasebot/leasebot/store"
)

// runBot is `leasebot run`: Socket Mode to Slack, ModelArts over HTTPS (or the
// simulator with -simulate), state in the store.
func runBot(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs, cfgFlag := newFlags("run", stderr)
	simulate := fs.Bool("simulate", false, "use the built-in ModelArts simulator instead of the cloud")
	listen := fs.String("listen", "", "admin listener for /healthz and /metrics, e.g. 127.0.0.1:9102 (off by default)")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	path := configPath(*cfgFlag, getenv)
	cfg, err := config.LoadWith(path, config.Options{IDs: slackid.Rules{}})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	appToken, botToken, err := slackTokens(getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	log := newLogger(stderr, getenv)
	metrics := admin.NewMetrics()

	db, err := openStore(ctx, cfg, getenv, metrics.Store, false)
	if err != nil {
		fmt.Fprintln(stderr, "leasebot:", err)
		if errors.Is(err, store.ErrURLScheme) {
			return exitConfig // the environment is wrong; no database was tried
		}
		return exitFail
	}
	defer db.Close()
	info, _ := db.Info(ctx)
	if f := cfg.Defaults.StateFile; f != "" {
		switch n, err := bot.ImportStateFile(ctx, db, f); {
		case err != nil:
			log.Warn("the old state file was not imported; warnings may repeat once", "file", f, "err", err)
		case n > 0:
			log.Info("imported the old state file into the store", "file", f, "warnings", n, "renamed_to", f+".imported")
		}
	}

	var sim *simulated
	if *simulate {
		if sim, err = startSimulator(cfg.ModelArts.ProjectID, time.Now()); err != nil {
			fmt.Fprintln(stderr, err)
			return exitFail
		}
		defer sim.Close()
	}
	leases, mode, err := newLeaseClient(cfg, getenv, sim, metrics.ModelArts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	if *listen != "" {
		health := admin.Health{Metrics: metrics, MaxSilence: max(5*time.Minute, 3*cfg.Defaults.PollInterval),
			Store: db.Ping, Where: info.Kind + " " + info.Where}
		srv, addr, err := admin.Serve(*listen, admin.Handler(metrics, health))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitConfig
		}
		defer srv.Close()
		log.Info("admin listener up", "addr", addr, "paths", "/healthz /metrics")
	}

	adapter := slackchat.New(slackchat.Options{AppToken: appToken, BotToken: botToken, APIURL: getenv("SLACK_API_URL"), Log: log, Observer: metrics})
	core := bot.New(bot.Options{Config: cfg, Leases: leases, Chat: adapter, Store: db, Log: log, Observer: metrics, Now: clock})
	log.Info("leasebot starting", "version", versionString(), "config", path, "channels", len(cfg.Channels), "modelarts", mode,
		"store", info.Kind, "where", info.Where, "schema", info.SchemaVersion)

	// Leadership and the leader's work stop at once on SIGTERM, so that
	// another replica takes over while this one finishes its replies.
	lead := &bot.Leader{Store: db, Holder: replicaName(), Log: log, OnChange: metrics.Leader}
	background := func(f func()) chan struct{} {
		done := make(chan struct{})
		go func() { defer close(done); f() }()
		return done
	}
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	leadDone := background(func() { lead.Run(work) })
	watchDone := background(func() { core.Watch(work, cfg.Defaults.PollInterval, lead) })

	runErr := adapter.Run(ctx, core)
	stopWork() // Slack refused the bot, or the drain is over
	<-leadDone
	<-watchDone
	core.Close()
	if runErr != nil {
		var fe *slackchat.FatalError
		if errors.As(runErr, &fe) {
			log.Error("stopping: Slack refused the bot", "reason", fe.Reason)
		} else {
			log.Error("stopping", "err", runErr)
		}
		fmt.Fprintln(stderr, "leasebot:", runErr)
		return exitFail
	}
	log.Info("leasebot stopped")
	return exitOK
}
