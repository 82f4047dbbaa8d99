package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/leasebot/leasebot/bot/duration"
)

// bounds are the values a duration key accepts.
type bounds struct {
	min, max       time.Duration
	zeroOK         bool   // 0 is allowed, and means off
	want           string // what to write, for type errors
	minWhy, maxWhy string // why the bound, after "shorter/longer than X, "
}

var (
	keepBounds = bounds{max: MaxKeepLimit, zeroOK: true, want: "a duration such as 7d, or 0 to turn keep off",
		maxWhy: "the furthest ahead a keep may end"}
	startBounds = bounds{min: MinLease, max: MaxLease, want: "a duration such as 4h",
		minWhy: "the shortest lease ModelArts allows", maxWhy: "the longest lease ModelArts allows"}
	approvalMaxBounds = bounds{max: MaxLease, want: "a duration such as 24h",
		maxWhy: "the longest lease ModelArts allows"}
	approvalTTLBounds = bounds{max: MaxApprovalTTL, want: "a duration such as 1h",
		maxWhy: "the longest a request for approval may wait"}
)

// bounded reads a duration key within b.
func (p *parser) bounded(e entry, where string, b bounds) (time.Duration, bool) {
	s, ok := p.scalar(e, where, b.want)
	if !ok {
		return 0, false
	}
	if b.zeroOK && duration.IsZero(s) {
		return 0, true
	}
	what := e.key + " " + where
	d, ok := p.dur(e.v, what)
	if !ok {
		return 0, false
	}
	format := duration.Format // as for leases: "96h is longer than 72h"
	if b.max > MaxLease {
		format = duration.FormatLong // keeps are counted in days: "30d 1h is longer than 30d"
	}
	switch {
	case d > b.max:
		p.errf(e.v, "%s: %s is longer than %s, %s", what, format(d), format(b.max), b.maxWhy)
	case d < b.min:
		p.errf(e.v, "%s: %s is shorter than %s, %s", what, format(d), format(b.min), b.minWhy)
	default:
		return d, true
	}
	return 0, false
}

// historyDays reads history_days: a whole number of days, 1 …
// MaxHistoryDays, written in decimal digits. YAML also reads 0x5A, 1_0,
// 0o17 and 010 (octal) as integers; none of those is how anyone writes a
// count, so they are refused rather than read as 90, 10, 15 or 8.
func (p *parser) historyDays(e entry, where string) (int, bool) {
	s, ok := p.scalar(e, where, "a number of days such as 90")
	if !ok {
		return 0, false
	}
	digits := strings.TrimPrefix(s, "-")
	decimal := digits != "" && strings.Trim(digits, "0123456789") == ""
	switch {
	case decimal && e.v.ShortTag() == "!!str":
		p.errf(e.v, "%s %s must be a number, not a string: remove the quotes", e.key, where)
	case decimal && len(digits) > 1 && digits[0] == '0':
		p.errf(e.v, "%s %s: write %s without the leading zero (YAML reads a leading 0 as octal)", e.key, where, quote(s))
	case decimal:
		switch n, err := strconv.ParseInt(s, 10, 64); {
		case err != nil || n > MaxHistoryDays:
			p.errf(e.v, "%s %s is too large: at most %d days (a century)", e.key, where, MaxHistoryDays)
		case n < 1:
			p.errf(e.v, "%s %s is %d: history is kept at least 1 day", e.key, where, n)
		default:
			return int(n), true
		}
	case e.v.ShortTag() == "!!int":
		p.errf(e.v, "%s %s must be a whole number of days in decimal digits, such as 90; got %s", e.key, where, quote(s))
	default:
		if d, err := duration.Parse(s); err == nil && d%(24*time.Hour) == 0 {
			p.errf(e.v, "%s %s is a number of days without a unit: write %d", e.key, where, d/(24*time.Hour))
			return 0, false
		}
		p.errf(e.v, "%s %s must be a whole number of days such as 90; got %s", e.key, where, quote(s))
	}
	return 0, false
}

// readVerbs are the commands every member of a channel may use; they are
// not actions.
var readVerbs = map[string]bool{"status": true, "list": true, "history": true, "help": true}

// actions reads a list of actions: each one of extend, keep, start, stop;
// deduplicated, in the documented order. An empty list is allowed: members
// (or owners) may then only read.
func (p *parser) actions(e entry, where string) ([]Action, bool) {
	who := "members"
	if strings.HasPrefix(e.key, "owner_") {
		who = "owners"
	}
	if isNull(e.v) {
		p.errf(e.k, "%s %s has no value; write a list such as [extend, keep], or [] to let %s only read", e.key, where, who)
		return nil, false
	}
	items, seen := p.list(e, where, "actions", "[extend, keep]")
	ok := len(items) == seen
	out := []Action{}
	names := make([]string, 0, len(Actions()))
	for _, a := range Actions() {
		names = append(names, string(a))
	}
	all := strings.Join(names, ", ")
	what := e.key + " " + where
	for _, it := range items {
		v := it.Value
		if i := slices.Index(names, v); i >= 0 {
			if a := Actions()[i]; !slices.Contains(out, a) {
				out = append(out, a)
			}
			continue
		}
		ok = false
		low := strings.ToLower(strings.TrimSpace(v))
		switch best := suggest(v, names); {
		case readVerbs[low]:
			p.errf(it, "%s: %s is open to every member already; %s lists only what %s may change: %s", what, quote(v), e.key, who, all)
		case low == "*" || low == "all":
			p.errf(it, "%s: write the actions out, e.g. [%s]", what, all)
		case low == "approve" || low == "deny":
			p.errf(it, "%s: %s is not an action: approvers (approvers in a channel) and admins decide requests for approval", what, quote(v))
		case best != "":
			p.errf(it, "%s: unknown action %s (did you mean %q?)", what, quote(v), best)
		default:
			p.errf(it, "%s: unknown action %s; the actions are %s", what, quote(v), all)
		}
	}
	sortActions(out)
	return out, ok
}

// sortActions puts actions in the documented order.
func sortActions(as []Action) {
	slices.SortFunc(as, func(a, b Action) int { return slices.Index(Actions(), a) - slices.Index(Actions(), b) })
}

// problems counts the problems reported so far, kept or not.
func (p *parser) problems() int { return len(p.errs) + p.dropped }

// approvers reads a channel's approvers: a mapping with users and groups.
func (p *parser) approvers(e entry, where string) (Approvers, bool) {
	var a Approvers
	example := fmt.Sprintf("{users: %s}", p.example(UserID))
	if isNull(e.v) {
		p.errf(e.k, "approvers %s is empty: name who may approve, e.g. approvers: %s, or remove the key", where, example)
		return a, false
	}
	if e.v.Kind != yaml.MappingNode {
		p.errf(at(e.v, e.k), "approvers %s must be a mapping with users and groups, e.g. %s; got %s", where, example, kindOf(e.v))
		return a, false
	}
	before := p.problems()
	in := "in approvers " + strings.Replace(where, "in channel", "of channel", 1)
	var n int
	seen := func(k int) { n += k }
	for _, f := range p.entries(e.v, in) {
		switch f.key {
		case "users":
			a.Users = p.idsSeen(f, in, UserID, seen)
		case "groups":
			a.Groups = p.idsSeen(f, in, GroupID, seen)
		default:
			p.unknown(f, in, approversKeys, approversHints)
		}
	}
	if n == 0 {
		p.errf(e.k, "approvers %s names nobody: list users or groups who may approve, e.g. approvers: %s, or remove the key", where, example)
	}
	return a, p.problems() == before
}

// people reads the top-level people mapping: IAM user name or ID → chat user ID.
func (p *parser) people(e *entry) map[string]string {
	if e == nil || isNull(e.v) {
		return nil
	}
	ex := p.oneExample(UserID)
	if e.v.Kind != yaml.MappingNode {
		p.errf(at(e.v, e.k), "people must be a mapping of notebook owners (IAM user name or IAM user ID) to chat user IDs, e.g. people: {alice: %s}; got %s",
			ex, kindOf(e.v))
		return nil
	}
	const where = "under people"
	out := map[string]string{}
	for _, f := range p.entriesOf(e.v, where, false) {
		good := true
		switch key := f.key; {
		case key == "" || isNull(f.k):
			p.errf(f.k, "an empty key under people: write the IAM user name or IAM user ID of a notebook owner (in quotes if it is null or ~)")
			good = false
		case strings.TrimSpace(key) != key:
			p.errf(f.k, "%s under people has spaces around it", quote(key))
			good = false
		}
		name := "people " + quote(f.key)
		switch {
		case isNull(f.v):
			p.errf(f.k, "%s has no value: write the chat user ID of that owner, e.g. %s", name, ex)
		case f.v.Kind != yaml.ScalarNode:
			p.errf(at(f.v, f.k), "%s must be one chat user ID, e.g. %s; got %s", name, ex, kindOf(f.v))
		default:
			why := p.idProblem(UserID, f.v.Value)
			switch {
			case why == "":
				if good {
					out[f.key] = f.v.Value
				}
			case isSecretKey(f.key):
				// An owner may well be called "ci-token", but the value may
				// also be a credential: do not repeat it.
				p.errf(f.v, "%s: the value (not shown, as the key names a secret) is not a chat user ID; "+
					"if it is a credential, remove it: secrets come only from the environment", name)
			default:
				p.errf(f.v, "%s: %s %s", name, quote(f.v.Value), why)
			}
		}
	}
	return out
}

// databaseURLKeys are keys under store that try to name a database, in
// normKey form.
var databaseURLKeys = map[string]bool{
	"url": true, "uri": true, "dsn": true, "databaseurl": true, "databaseuri": true, "database": true, "db": true,
	"postgres": true, "postgresql": true, "postgresurl": true, "connection": true, "connectionstring": true, "connstring": true,
}

// store reads the store section. A database URL is refused wherever it is
// written: it carries a password, and comes only from the environment.
func (p *parser) store(e *entry) Store {
	s := Store{Path: DefaultStorePath}
	if e == nil || isNull(e.v) {
		return s
	}
	if e.v.Kind == yaml.ScalarNode {
		if strings.Contains(e.v.Value, "://") {
			p.errf(e.v, "store: %s", databaseURLHint)
		} else {
			p.errf(e.v, "store must be a mapping such as {path: leasebot.db}; got %s", kindOf(e.v))
		}
		return s
	}
	m, ok := p.mapping(*e, "store", "")
	if !ok {
		return s
	}
	const where = "in store"
	for _, f := range p.entries(m, where) {
		switch {
		case f.key == "path":
			v, ok := p.scalar(f, where, "a file path such as leasebot.db")
			if !ok {
				continue
			}
			low := strings.ToLower(strings.TrimSpace(v))
			switch {
			case strings.TrimSpace(v) == "":
				p.errf(f.v, "path %s is empty: write a file path such as %s, or remove the key", where, DefaultStorePath)
			case strings.HasPrefix(low, "postgres://") || strings.HasPrefix(low, "postgresql://"):
				p.errf(f.v, "path %s is a database URL, not a file: %s", where, databaseURLHint)
			case strings.Contains(v, "://"):
				p.errf(f.v, "path %s must be a file path, not a URL", where)
			case strings.TrimSpace(v) != v:
				p.errf(f.v, "path %s: %s has spaces around it", where, quote(v))
			case strings.ContainsRune(v, 0):
				p.errf(f.v, "path %s contains a NUL character", where)
			default:
				s.Path = v
			}
		case databaseURLKeys[normKey(f.key)]:
			p.errf(f.k, "key %s %s: %s; remove it", quote(f.key), where, databaseURLHint)
		default:
			p.unknown(f, where, storeKeys, storeHints)
		}
	}
	return s
}
