// Package config reads and validates leasebot's YAML config file (SPEC §3).
//
// Parse collects every problem it finds, each with its line, and refuses the
// whole file if there is any: the bot must not start on a config it does not
// fully understand. Secrets are never config keys; they come only from the
// environment, and an error message never repeats a value that looks like one.
package config

import (
	"fmt"
	"os"
	"time"
)

// Limits and defaults.
const (
	// MaxLease is the longest lease ModelArts allows (72 h); max_extend,
	// warn_before and extend_buttons may not exceed it.
	MaxLease = 72 * time.Hour
	// DefaultMaxExtend is the largest single extension when defaults.max_extend is unset.
	DefaultMaxExtend = 8 * time.Hour
	// DefaultPollInterval is how often the watcher lists notebooks when defaults.poll_interval is unset.
	DefaultPollInterval = 60 * time.Second
	// MinPollInterval is the shortest poll_interval accepted.
	MinPollInterval = time.Second
	// MaxExtendButtons is the most extend buttons a warning carries, beside "Let it stop".
	MaxExtendButtons = 4
)

// DefaultWarnBefore returns the warning thresholds used when defaults.warn_before is unset.
func DefaultWarnBefore() []time.Duration { return []time.Duration{30 * time.Minute, 10 * time.Minute} }

// DefaultExtendButtons returns the buttons used when defaults.extend_buttons is unset.
func DefaultExtendButtons() []time.Duration { return []time.Duration{time.Hour, 4 * time.Hour} }

// Config is a validated config file.
type Config struct {
	ModelArts ModelArts
	Admins    []string // Slack user IDs allowed everything, in every configured channel
	Defaults  Defaults
	Channels  map[string]*Channel // keyed by channel ID; never empty after a successful Parse
	Path      string              // file it was loaded from
}

// ModelArts is the `modelarts` section.
type ModelArts struct {
	Endpoint    string // https:// (http:// only on loopback hosts), without a trailing slash
	ProjectID   string // 32 lower-case hex characters
	IAMEndpoint string // optional, for password auth; same rules as Endpoint
	ListAll     bool   // watch every user's notebooks (GET /notebooks/all)
}

// Defaults is the `defaults` section, with unset keys filled in.
type Defaults struct {
	MaxExtend     time.Duration   // default 8h; > 0 and <= 72h
	WarnBefore    []time.Duration // default [30m, 10m]; sorted descending, deduplicated
	ExtendButtons []time.Duration // default [1h, 4h]; in the order written, deduplicated, at most 4
	PollInterval  time.Duration   // default 60s; at least 1s
	StateFile     string          // optional state_file path, as written ("" when unset)
}

// Channel is one entry under `channels`, with defaults applied.
type Channel struct {
	ID            string
	Users         []string        // U…/W… user IDs
	Groups        []string        // S… user-group IDs
	Notebooks     []string        // selectors: "*", notebook IDs, name globs (path.Match), "tag:key=value"
	MaxExtend     time.Duration   // effective: channel override or default
	WarnBefore    []time.Duration // effective; sorted descending, deduplicated
	ExtendButtons []time.Duration // effective; in the order written
	Warn          bool            // post expiry warnings here; default true
	Line          int             // line of the channel key in the file
}

// Load reads the file at path and parses it with Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a config file's contents. path is used in error messages and
// stored in Config.Path. On any problem it returns a nil Config and an
// Errors listing every problem found, sorted by line.
func Parse(data []byte, path string) (*Config, error) {
	p := &parser{path: path}
	cfg := p.parse(data)
	if len(p.errs) > 0 {
		es := p.errs.sorted()
		if p.dropped > 0 {
			es = append(es, Error{Path: path, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", p.dropped)})
		}
		return nil, es
	}
	return cfg, nil
}

// Channel returns the configured channel with the given ID.
func (c *Config) Channel(id string) (*Channel, bool) {
	if c == nil {
		return nil, false
	}
	ch, ok := c.Channels[id]
	return ch, ok
}
