package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store"
)

// clock is leasebot's clock: the core, the lease client, its signer and
// the store read it. It is time.Now; end-to-end tests move it (with the
// simulator's) to prove what takes days, such as keeps, in seconds.
var clock = time.Now

// newFlags is the flag set of a sub-command that reads the config, with its -config flag.
func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, fs.String("config", "", "config file (default $LEASEBOT_CONFIG, else leasebot.yml)")
}

// configPath picks the config file: the flag, else $LEASEBOT_CONFIG, else leasebot.yml.
func configPath(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := getenv("LEASEBOT_CONFIG"); p != "" {
		return p
	}
	return "leasebot.yml"
}

func newLogger(w interface{ Write([]byte) (int, error) }, getenv func(string) string) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(getenv("LEASEBOT_LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// slackTokens reads the Slack tokens from the environment and catches the
// usual mix-ups without ever printing a token.
func slackTokens(getenv func(string) string) (app, bot string, err error) {
	app, bot = strings.TrimSpace(getenv("SLACK_APP_TOKEN")), strings.TrimSpace(getenv("SLACK_BOT_TOKEN"))
	var problems []string
	switch {
	case app == "":
		problems = append(problems, "SLACK_APP_TOKEN is not set (the app-level token, xapp-…, with connections:write)")
	case strings.HasPrefix(app, "xoxb-"):
		problems = append(problems, "SLACK_APP_TOKEN holds a bot token (xoxb-…); it needs the app-level token (xapp-…)")
	}
	switch {
	case bot == "":
		problems = append(problems, "SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
	case strings.HasPrefix(bot, "xapp-"):
		problems = append(problems, "SLACK_BOT_TOKEN holds an app-level token (xapp-…); it needs the bot token (xoxb-…)")
	}
	if len(problems) > 0 {
		return "", "", errors.New(strings.Join(problems, "\n"))
	}
	return app, bot, nil
}

// modelArtsAuth picks AK/SK or IAM password auth from the environment.
func modelArtsAuth(cfg *config.Config, getenv func(string) string) (lease.Authenticator, string, error) {
	ak, sk := getenv("MODELARTS_AK"), getenv("MODELARTS_SK")
	user, pw, domain := getenv("MODELARTS_USERNAME"), getenv("MODELARTS_PASSWORD"), getenv("MODELARTS_DOMAIN")
	switch {
	case ak != "" && sk != "":
		return &lease.AKSK{AK: ak, SK: sk, SecurityToken: getenv("MODELARTS_SECURITY_TOKEN"), Now: clock}, "AK/SK", nil
	case ak != "" || sk != "":
		return nil, "", errors.New("set both MODELARTS_AK and MODELARTS_SK (one of them is empty)")
	case user != "" && pw != "" && domain != "":
		if cfg.ModelArts.IAMEndpoint == "" {
			return nil, "", errors.New("IAM password auth needs modelarts.iam_endpoint in the config")
		}
		return &lease.IAMPassword{Endpoint: cfg.ModelArts.IAMEndpoint, Username: user, Password: pw, Domain: domain, ProjectID: cfg.ModelArts.ProjectID}, "IAM password", nil
	case user != "" || pw != "" || domain != "":
		return nil, "", errors.New("IAM password auth needs all of MODELARTS_USERNAME, MODELARTS_PASSWORD and MODELARTS_DOMAIN")
	}
	return nil, "", errors.New("no ModelArts credentials: set MODELARTS_AK and MODELARTS_SK, or MODELARTS_USERNAME, MODELARTS_PASSWORD and MODELARTS_DOMAIN (or use -simulate)")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// simulated is an in-process ModelArts simulator on a loopback port.
type simulated struct {
	Server   *simulator.Server
	Endpoint string
	AK, SK   string
	http     *http.Server
}

// startSimulator serves a ModelArts simulator seeded with demo notebooks.
func startSimulator(projectID string, now time.Time) (*simulated, error) {
	s := &simulated{AK: "SIM" + strings.ToUpper(randomHex(8)), SK: randomHex(20)}
	// Starting and stopping take a few seconds, as they take minutes on ModelArts.
	s.Server = simulator.New(simulator.Options{ProjectID: projectID, AK: s.AK, SK: s.SK, Transition: 3 * time.Second})
	simulator.SeedDemo(s.Server, now)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the ModelArts simulator: %w", err)
	}
	s.Endpoint = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s.Server, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

func (s *simulated) Close() { _ = s.http.Close() }

// newLeaseClient builds the ModelArts client, real (with the credentials in
// the environment) or against a simulator, and says which.
func newLeaseClient(cfg *config.Config, getenv func(string) string, sim *simulated, observe func(string, int, time.Duration)) (*lease.Client, string, error) {
	if sim != nil {
		c, err := leaseClient(lease.Config{Endpoint: sim.Endpoint, ProjectID: sim.Server.ProjectID(),
			Auth: &lease.AKSK{AK: sim.AK, SK: sim.SK, Now: clock}, Observe: observe, Now: clock})
		return c, "simulator", err
	}
	auth, mode, err := modelArtsAuth(cfg, getenv)
	if err != nil {
		return nil, "", err
	}
	c, err := cloudLeaseClient(cfg, auth, observe)
	return c, mode, err
}

// cloudLeaseClient builds the ModelArts client for the configured endpoint
// and project with auth.
func cloudLeaseClient(cfg *config.Config, auth lease.Authenticator, observe func(string, int, time.Duration)) (*lease.Client, error) {
	return leaseClient(lease.Config{Endpoint: cfg.ModelArts.Endpoint, ProjectID: cfg.ModelArts.ProjectID, ListAll: cfg.ModelArts.ListAll,
		Auth: auth, Observe: observe, Now: clock})
}

func leaseClient(lc lease.Config) (*lease.Client, error) {
	c, err := lease.New(lc)
	if err != nil {
		return nil, fmt.Errorf("ModelArts client: %w", err)
	}
	return c, nil
}

// openStore opens the store: PostgreSQL when LEASEBOT_DATABASE_URL is set
// (shared by replicas), else the SQLite file of store.path (one process).
// Its errors name the file, or the database's host and name, never a
// password. inspect opens it only to look (check): nothing is created or
// migrated.
func openStore(ctx context.Context, cfg *config.Config, getenv func(string) string, observe func(string, error, time.Duration), inspect bool) (*store.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := strings.TrimSpace(getenv("LEASEBOT_DATABASE_URL"))
	db, err := store.Open(ctx, store.Options{URL: url, Path: cfg.Store.Path, Observe: observe, Now: clock, Inspect: inspect})
	if errors.Is(err, store.ErrURLScheme) {
		return nil, fmt.Errorf("LEASEBOT_DATABASE_URL: %w", err)
	}
	return db, err
}

// replicaName names this process among replicas, for leadership: the host
// name (a pod's name on Kubernetes), the process ID and a random suffix.
func replicaName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomHex(4))
}
