// Command leasebot lets a Slack channel see and extend the auto-stop lease of
// ModelArts notebooks, under a per-channel access list, and warns the channel
// before a notebook stops.
//
// Sub-commands: run (the default), demo, check, version. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes. A command line leasebot cannot read (an unknown sub-command
// or flag) exits 2, whatever the sub-command. Past that, `check` reports
// every problem it finds, a bad config included, with exit 1; `run` and
// `demo` exit 2 when their config or environment keeps them from starting,
// and 1 when something fails after that.
const (
	exitOK     = 0
	exitFail   = 1 // a runtime failure (Slack refused the bot, the store could not be opened), or any problem `check` found
	exitConfig = 2 // a bad command line (any sub-command); run, demo: a bad config or environment; nothing was started
)

// version and commit are set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	sub := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "run":
		return runBot(ctx, args, stdout, stderr, getenv)
	case "demo":
		return runDemo(ctx, args, stdin, stdout, stderr)
	case "check":
		return runCheck(ctx, args, stdout, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "leasebot: unknown sub-command %q\n\n%s", sub, usage)
	return exitConfig
}

func versionString() string {
	v := "leasebot " + version
	if c := buildCommit(); c != "" {
		v += " (" + c + ")"
	}
	return v
}

const usage = `Usage:
  leasebot [run] [-config FILE] [-simulate] [-listen ADDR]   serve Slack (Socket Mode)
  leasebot demo [-v] [-poll 5s]                          try it in the terminal, no account needed
  leasebot check [-config FILE]                          validate config and credentials, print the ACL; exit 1 on any problem
  leasebot version                                       print the version and commit

Exit codes: 0 done; 1 a failure, or any problem check found; 2 a bad command
line (any sub-command), or a config or environment run or demo cannot start with.

Config: -config FILE, else $LEASEBOT_CONFIG, else leasebot.yml.
Secrets come only from the environment: SLACK_APP_TOKEN, SLACK_BOT_TOKEN,
SLACK_API_URL (optional), MODELARTS_AK + MODELARTS_SK (+ MODELARTS_SECURITY_TOKEN),
or MODELARTS_USERNAME + MODELARTS_PASSWORD + MODELARTS_DOMAIN.
`
