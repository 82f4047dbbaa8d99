// Command variant is leasebot's `run` wiring (config, lease client, Slack
// adapter, command core, watcher) with the knobs main does not expose, for
// what-if measurements in bench/: -workers sets the Slack adapter's pool
// (leasebot: 64), -idle-conns the lease client's idle connections per host
// (leasebot: 64). It reads the same environment as leasebot and logs JSON to
// stderr at info level like it, but has no metrics, admin listener or state
// file. With -cpuprofile FILE it profiles its whole run. It is not a
// product: it shows what a change to main would buy.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/bot/slackchat"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/store"
)

func main() {
	path := flag.String("config", "leasebot.yml", "config file")
	workers := flag.Int("workers", 16, "Slack adapter workers")
	idle := flag.Int("idle-conns", 8, "lease client idle connections per host")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "variant:", err)
			os.Exit(1)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *path, *workers, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "variant:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, path string, workers, idle int) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   idle,
		ForceAttemptHTTP2:     true,
	}}
	leases, err := lease.New(lease.Config{Endpoint: cfg.ModelArts.Endpoint, ProjectID: cfg.ModelArts.ProjectID,
		ListAll: cfg.ModelArts.ListAll, HTTPClient: hc,
		Auth: &lease.AKSK{AK: os.Getenv("MODELARTS_AK"), SK: os.Getenv("MODELARTS_SK")}})
	if err != nil {
		return err
	}
	adapter := slackchat.New(slackchat.Options{AppToken: os.Getenv("SLACK_APP_TOKEN"), BotToken: os.Getenv("SLACK_BOT_TOKEN"),
		APIURL: os.Getenv("SLACK_API_URL"), Workers: workers, Log: log})
	dir, err := os.MkdirTemp("", "leasebot-variant-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "leasebot.db")})
	if err != nil {
		return err
	}
	defer db.Close()
	core := bot.New(bot.Options{Config: cfg, Leases: leases, Chat: adapter, Store: db, Log: log})
	watchCtx, stopWatch := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		core.Watch(watchCtx, cfg.Defaults.PollInterval, nil)
	}()
	err = adapter.Run(ctx, core)
	stopWatch()
	<-done
	return err
}
