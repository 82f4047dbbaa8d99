// Command floor is the ack-latency floor of bench/: a bare slack-go Socket
// Mode client that acks every envelope the moment it reads it and does
// nothing else. It reads the same environment as leasebot (SLACK_APP_TOKEN,
// SLACK_BOT_TOKEN, SLACK_API_URL) and stops on SIGTERM or SIGINT.
//
// With -adapter it runs leasebot's own Slack adapter (bot/slackchat) with a
// core that answers "ok" at once: the adapter without the command core, to
// tell apart the adapter's share of an ack from the rest of the process.
//
// With -work D the bare client, right after each ack, hands a job burning D
// of CPU to a worker goroutine, as leasebot hands a command to its pool;
// -yield adds runtime.Gosched() between the ack and the hand-off. The two
// show how much the hand-off delays the ack's write (see README.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot"
	"github.com/leasebot/leasebot/bot/slackchat"
)

func main() {
	adapter := flag.Bool("adapter", false, "run leasebot's Slack adapter with a no-op core")
	flag.DurationVar(&work, "work", 0, "after each ack, hand a job burning this much CPU to a worker")
	flag.BoolVar(&yield, "yield", false, "with -work: runtime.Gosched() between the ack and the hand-off")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var err error
	if *adapter {
		a := slackchat.New(slackchat.Options{AppToken: os.Getenv("SLACK_APP_TOKEN"), BotToken: os.Getenv("SLACK_BOT_TOKEN"),
			APIURL: os.Getenv("SLACK_API_URL"), Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
		err = a.Run(ctx, okCore{})
	} else {
		err = bare(ctx)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// bare is the floor proper: slack-go's socketmode client, ack and nothing else.
func bare(ctx context.Context) error {
	opts := []slack.Option{slack.OptionAppLevelToken(os.Getenv("SLACK_APP_TOKEN"))}
	if u := os.Getenv("SLACK_API_URL"); u != "" {
		opts = append(opts, slack.OptionAPIURL(u))
	}
	sm := socketmode.New(slack.New(os.Getenv("SLACK_BOT_TOKEN"), opts...))
	jobs := make(chan time.Duration, 64)
	go func() {
		for d := range jobs {
			for start := time.Now(); time.Since(start) < d; {
			}
		}
	}()
	go func() {
		for evt := range sm.Events {
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				_ = sm.Ack(*evt.Request)
				if work > 0 {
					if yield {
						runtime.Gosched()
					}
					jobs <- work
				}
			}
		}
	}()
	return sm.RunContext(ctx)
}

var (
	work  time.Duration
	yield bool
)

// okCore answers every command "ok" and ignores everything else.
type okCore struct{}

func (okCore) Handle(_ context.Context, e bot.Event) *bot.Reply {
	if e.Kind != bot.CommandEvent {
		return nil
	}
	return &bot.Reply{Message: bot.Message{Text: bot.Text{}.Plain("ok")}}
}
