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
)

// runBot is `leasebot run`: Socket Mode to Slack, ModelArts over HTTPS (or the
// simulator with -simulate).
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

	var sim *simulated
	if *simulate {
		if sim, err = startSimulator(cfg.ModelArts.ProjectID, time.Now()); err != nil {
			fmt.Fprintln(stderr, err)
			return exitFail
		}
		defer sim.Close()
	}
	metrics := admin.NewMetrics()
	leases, mode, err := newLeaseClient(cfg, getenv, sim, metrics.ModelArts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	if *listen != "" {
		health := admin.Health{Metrics: metrics, MaxSilence: max(5*time.Minute, 3*cfg.Defaults.PollInterval)}
		srv, addr, err := admin.Serve(*listen, admin.Handler(metrics, health))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitConfig
		}
		defer srv.Close()
		log.Info("admin listener up", "addr", addr, "paths", "/healthz /metrics")
	}

	adapter := slackchat.New(slackchat.Options{AppToken: appToken, BotToken: botToken, APIURL: getenv("SLACK_API_URL"), Log: log, Observer: metrics})
	core := bot.New(bot.Options{Config: cfg, Leases: leases, Chat: adapter, Log: log, Observer: metrics})
	if f := cfg.Defaults.StateFile; f != "" {
		if err := core.LoadState(f); err != nil {
			log.Warn("warning state not loaded; warnings may repeat", "err", err)
		}
	}
	log.Info("leasebot starting", "version", versionString(), "config", path, "channels", len(cfg.Channels), "modelarts", mode)

	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		core.Watch(watchCtx, cfg.Defaults.PollInterval, cfg.Defaults.StateFile)
	}()

	runErr := adapter.Run(ctx, core)
	stopWatch()
	<-watchDone
	core.Close()
	if f := cfg.Defaults.StateFile; f != "" {
		if err := core.SaveState(f); err != nil {
			log.Error("warning state not saved", "err", err)
		}
	}
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
