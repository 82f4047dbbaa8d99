package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/lease"
)

// Known keys at each level, in the order they are documented.
var (
	topKeys       = []string{"modelarts", "admins", "people", "store", "defaults", "channels"}
	modelArtsKeys = []string{"endpoint", "project_id", "iam_endpoint", "list_all"}
	storeKeys     = []string{"path"}
	defaultsKeys  = []string{"max_extend", "warn_before", "extend_buttons", "poll_interval", "state_file", "history_days",
		"notify_owner", "owner_max_extend", "owner_actions", "owner_max_keep", "start_duration",
		"actions", "max_keep", "approval_max", "approval_ttl"}
	channelKeys = []string{"users", "groups", "notebooks", "max_extend", "warn_before", "extend_buttons", "warn",
		"actions", "max_keep", "approvers", "approval_max", "approval_ttl"}
	approversKeys = []string{"users", "groups"}
)

// databaseURLHint answers a database URL written in the file.
const databaseURLHint = "a database URL carries a password, so it never goes in the config file: " +
	"set LEASEBOT_DATABASE_URL=postgres://… in the environment to keep state in PostgreSQL"

// Keys that belong at another level, with where they go.
var (
	topHints = map[string]string{
		"max_extend":       "max_extend belongs under defaults, or in a channel",
		"warn_before":      "warn_before belongs under defaults, or in a channel",
		"extend_buttons":   "extend_buttons belongs under defaults, or in a channel",
		"poll_interval":    "poll_interval belongs under defaults",
		"state_file":       "state_file belongs under defaults",
		"history_days":     "history_days belongs under defaults",
		"notify_owner":     "notify_owner belongs under defaults",
		"owner_max_extend": "owner_max_extend belongs under defaults",
		"owner_actions":    "owner_actions belongs under defaults",
		"owner_max_keep":   "owner_max_keep belongs under defaults",
		"start_duration":   "start_duration belongs under defaults",
		"actions":          "actions belongs in a channel or under defaults",
		"max_keep":         "max_keep belongs in a channel or under defaults",
		"approval_max":     "approval_max belongs in a channel or under defaults",
		"approval_ttl":     "approval_ttl belongs in a channel or under defaults",
		"approvers":        "approvers belongs in a channel, under channels",
		"endpoint":         "endpoint belongs under modelarts",
		"project_id":       "project_id belongs under modelarts",
		"iam_endpoint":     "iam_endpoint belongs under modelarts",
		"list_all":         "list_all belongs under modelarts",
		"users":            "users belongs in a channel, under channels",
		"groups":           "groups belongs in a channel, under channels",
		"notebooks":        "notebooks belongs in a channel, under channels",
		"warn":             "warn belongs in a channel, under channels",
		"path":             "path belongs under store: store: {path: leasebot.db}",
		"database_url":     databaseURLHint,
		"owners":           "notebook owners are mapped to chat users under people: people: {IAM user name or ID: user ID}",
	}
	modelArtsHints = map[string]string{}
	storeHints     = map[string]string{
		"driver": "the store is the SQLite file at path, or PostgreSQL when LEASEBOT_DATABASE_URL is set in the environment",
		"type":   "the store is the SQLite file at path, or PostgreSQL when LEASEBOT_DATABASE_URL is set in the environment",
		"file":   "write the SQLite file as path",
	}
	defaultsHints = map[string]string{
		"users":        "users is set per channel, under channels",
		"groups":       "groups is set per channel, under channels",
		"notebooks":    "notebooks is set per channel, under channels",
		"warn":         "warn is set per channel, under channels; it defaults to true",
		"approvers":    "approvers is set per channel, under channels",
		"admins":       "admins is a top-level list",
		"people":       "people is a top-level mapping",
		"store":        "store is a top-level mapping",
		"path":         "path belongs under store, a top-level mapping",
		"database_url": databaseURLHint,
	}
	channelHints = map[string]string{
		"admins":           "admins is a top-level list: admins are allowed everything in every configured channel",
		"poll_interval":    "poll_interval can be set only under defaults",
		"state_file":       "state_file can be set only under defaults",
		"history_days":     "history_days can be set only under defaults",
		"notify_owner":     "notify_owner can be set only under defaults",
		"owner_max_extend": "owner_max_extend can be set only under defaults",
		"owner_actions":    "owner_actions can be set only under defaults",
		"owner_max_keep":   "owner_max_keep can be set only under defaults",
		"start_duration":   "start_duration can be set only under defaults",
		"people":           "people is a top-level mapping: it maps notebook owners to chat users for every channel",
		"store":            "store is a top-level mapping",
	}
	approversHints = map[string]string{
		"admins": "admins may decide every request already; name the other approvers under users or groups",
	}
)

// Limits that keep a hostile or broken file (say, aliases referring to
// aliases many times over) from costing unbounded time or memory.
const (
	maxErrors = 200     // problems reported; the rest are summarised
	maxWork   = 1 << 20 // mapping entries and list items visited, aliases counted each time
)

type parser struct {
	path    string
	ids     IDRules
	errs    Errors
	dropped int // problems not reported beyond maxErrors
	notes   Errors
	// droppedNotes counts notes not kept beyond maxErrors.
	droppedNotes int
	work         int // entries and items visited so far
	tooMuch      bool
	// reported marks lines already reported for every channel inheriting them.
	reported map[int]bool
}

// visit counts n entries or items of work and reports false, once with an
// error, when the budget is spent.
func (p *parser) visit(n int, at *yaml.Node) bool {
	p.work += n
	if p.work <= maxWork {
		return true
	}
	if !p.tooMuch {
		p.tooMuch = true
		p.errf(at, "the file is too large, or its aliases expand too far, to be checked; write it out plainly")
	}
	return false
}

// entry is one key/value pair of a mapping, aliases resolved.
type entry struct {
	key  string
	k, v *yaml.Node
}

func (p *parser) errAt(line int, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		p.dropped++
		return
	}
	p.errs = append(p.errs, Error{Path: p.path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errAt(line, format, args...)
}

// noteAt records a remark that does not stop the bot.
func (p *parser) noteAt(line int, format string, args ...any) {
	if len(p.notes) >= maxErrors {
		p.droppedNotes++
		return
	}
	p.notes = append(p.notes, Error{Path: p.path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) parse(data []byte) *Config {
	root, ok := p.decode(data)
	if !ok {
		return nil
	}
	if root == nil || isNull(root) {
		p.errAt(1, "the file is empty: no channels configured: leasebot denies everything")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errf(root, "the file must be a mapping with the keys %s; got %s", strings.Join(topKeys, ", "), kindOf(root))
		return nil
	}

	top := map[string]*entry{}
	for _, e := range p.entries(root, "at the top level") {
		if slices.Contains(topKeys, e.key) {
			top[e.key] = &e
		} else {
			p.unknown(e, "at the top level", topKeys, topHints)
		}
	}

	cfg := &Config{Path: p.path, Channels: map[string]*Channel{}}
	cfg.ModelArts = p.modelArts(top["modelarts"])
	if e := top["admins"]; e != nil {
		cfg.Admins = p.idList(*e, "at the top level", UserID)
	}
	cfg.People = p.people(top["people"])
	cfg.Store = p.store(top["store"])
	defs, src := p.defaults(top["defaults"])
	p.owners(&defs, src, len(cfg.People) > 0)
	cfg.Defaults = defs
	p.channels(top["channels"], cfg, src)
	return cfg
}

var (
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yamlParserProblems are the problems yaml.v3's parser (as opposed to its
// scanner) reports; their line numbers count from 0.
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// decode parses data into a node tree and returns the root of its only
// document, or nil for a file without content. ok is false when the file is
// not YAML at all, in which case nothing more can be checked.
func (p *parser) decode(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p.errAt(0, "the file cannot be read as YAML")
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		p.yamlError(err, data)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.errf(&next, "only one YAML document is allowed; remove everything from this ---")
	case errors.Is(err, io.EOF):
	default:
		p.yamlError(err, data)
		return nil, false
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, true
		}
		return resolve(doc.Content[0]), true
	}
	return resolve(&doc), true
}

func (p *parser) yamlError(err error, data []byte) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if yamlParserProblems[m[2]] {
			// yaml.v3 reports parser (not scanner) problems with a 0-based line.
			line++
		}
		p.errAt(line, "not valid YAML: %s", m[2])
		return
	}
	// yaml.v3 gives no line for a problem on the first line.
	line := 1
	if m := yamlAnchorRE.FindStringSubmatch(msg); m != nil {
		// No line from yaml.v3: find the first use of the anchor.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = bytes.Count(data[:i], []byte("\n")) + 1
		}
	}
	p.errAt(line, "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// resolveAt is resolve for a value used where n stands: an alias resolves
// to a copy of the node it names that carries the alias's line, so that a
// value wrong where it is used (max_extend: *long) is reported there, not
// at its anchor. What the named node holds (the items of an aliased list)
// keeps its own lines: that is where it is written.
func resolveAt(n *yaml.Node) *yaml.Node {
	r := resolve(n)
	if r == nil || r == n {
		return r
	}
	c := *r
	c.Line, c.Column = n.Line, n.Column
	return &c
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kindOf names a node's type for error messages, without its value.
func kindOf(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "true/false"
		case "!!int", "!!float":
			return "a number"
		default:
			return "a string"
		}
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "an unknown node"
}

// at returns n, or fallback when n is nil or has no line.
func at(n, fallback *yaml.Node) *yaml.Node {
	if n == nil || n.Line == 0 {
		return fallback
	}
	return n
}

// entries returns a mapping's key/value pairs, reporting and dropping
// non-scalar keys, merge keys, duplicate keys and keys that name secrets.
func (p *parser) entries(m *yaml.Node, where string) []entry {
	return p.entriesOf(m, where, true)
}

// entriesOf is entries; secretNames false lets keys that are data, not
// config keys (IAM user names under people, say "ci-token-bot"), through.
func (p *parser) entriesOf(m *yaml.Node, where string, secretNames bool) []entry {
	var out []entry
	if !p.visit(len(m.Content)/2, m) {
		return nil
	}
	first := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolveAt(m.Content[i]), resolveAt(m.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errf(at(k, at(m.Content[i], m)), "keys must be plain words %s; got %s", where, kindOf(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			p.errf(k, "merge keys (<<) are not supported %s; write the keys out (anchors and aliases of single values and lists are fine)", where)
			continue
		}
		if line, dup := first[k.Value]; dup {
			p.errf(k, "duplicate key %s %s (first on line %d)", quote(k.Value), where, line)
			continue
		}
		first[k.Value] = k.Line
		if secretNames && isSecretKey(k.Value) {
			p.errf(k, "key %s %s names a secret: secrets come only from the environment "+
				"(SLACK_APP_TOKEN, SLACK_BOT_TOKEN, MODELARTS_AK/MODELARTS_SK, MODELARTS_USERNAME/MODELARTS_PASSWORD/MODELARTS_DOMAIN), "+
				"never from the config file; remove it", quote(k.Value), where)
			continue
		}
		out = append(out, entry{key: k.Value, k: k, v: v})
	}
	return out
}

// unknown reports a key not known at its level, suggesting the closest one.
func (p *parser) unknown(e entry, where string, known []string, hints map[string]string) {
	msg := fmt.Sprintf("unknown key %s %s", quote(e.key), where)
	cands := slices.Clone(known)
	for k := range hints {
		cands = append(cands, k)
	}
	slices.Sort(cands[len(known):]) // deterministic among hints
	switch best := suggest(e.key, cands); {
	case best == "":
		msg += "; known keys: " + strings.Join(known, ", ")
	case hints[best] != "" && !slices.Contains(known, best):
		msg += " (" + hints[best] + ")"
	default:
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	p.errf(e.k, "%s", msg)
}

// mapping checks that e's value is a mapping; a null value is reported with empty.
func (p *parser) mapping(e entry, what, empty string) (*yaml.Node, bool) {
	if isNull(e.v) {
		if empty != "" {
			p.errf(e.k, "%s", empty)
		}
		return nil, false
	}
	if e.v.Kind != yaml.MappingNode {
		p.errf(at(e.v, e.k), "%s must be a mapping; got %s", what, kindOf(e.v))
		return nil, false
	}
	return e.v, true
}

// scalar returns the text of a single value.
func (p *parser) scalar(e entry, where, want string) (string, bool) {
	if isNull(e.v) {
		p.errf(e.k, "%s %s has no value; write %s, or remove the key", e.key, where, want)
		return "", false
	}
	if e.v.Kind != yaml.ScalarNode {
		p.errf(at(e.v, e.k), "%s %s must be %s; got %s", e.key, where, want, kindOf(e.v))
		return "", false
	}
	return e.v.Value, true
}

func (p *parser) boolean(e entry, where string) (bool, bool) {
	s, ok := p.scalar(e, where, "true or false")
	if !ok {
		return false, false
	}
	if e.v.ShortTag() == "!!bool" {
		switch strings.ToLower(s) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	p.errf(e.v, "%s %s must be true or false; got %s", e.key, where, quote(s))
	return false, false
}

// list returns the scalar entries of a list value. seen counts the entries
// written, valid or not, so that a list of bad entries is not also called empty.
func (p *parser) list(e entry, where, want, example string) (items []*yaml.Node, seen int) {
	if isNull(e.v) {
		return nil, 0
	}
	if e.v.Kind != yaml.SequenceNode {
		p.errf(at(e.v, e.k), "%s %s must be a list of %s, e.g. %s; got %s", e.key, where, want, example, kindOf(e.v))
		return nil, 1
	}
	if !p.visit(len(e.v.Content), e.v) {
		return nil, len(e.v.Content)
	}
	for _, raw := range e.v.Content {
		it := resolveAt(raw)
		if it == nil || it.Kind != yaml.ScalarNode || isNull(it) {
			p.errf(at(it, at(raw, e.k)), "%s %s: each entry must be one of %s; got %s", e.key, where, want, kindOf(it))
			continue
		}
		items = append(items, it)
	}
	return items, len(e.v.Content)
}

// dur reads one duration.
func (p *parser) dur(n *yaml.Node, what string) (time.Duration, bool) {
	d, err := duration.Parse(n.Value)
	if err != nil {
		if looksSecret(n.Value) || len(n.Value) > maxShown {
			p.errf(n, "%s: not a duration; write it like 90m, 2h, 1h30m, 1.5h, 1d or PT2H", what)
		} else {
			p.errf(n, "%s: %v", what, err)
		}
		return 0, false
	}
	return d, true
}

// leaseDur reads one duration that must fit in a lease (<= 72h).
func (p *parser) leaseDur(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := p.dur(n, what)
	if !ok {
		return 0, false
	}
	if d > MaxLease {
		p.errf(n, "%s: %s is longer than %s, the longest lease ModelArts allows", what, duration.Format(d), duration.Format(MaxLease))
		return 0, false
	}
	return d, true
}

// durs is a parsed duration list with the line of each entry.
type durs struct {
	vals  []time.Duration
	lines []int
}

// durList reads a list of lease durations; ok is false if any entry was bad.
func (p *parser) durList(e entry, where string) (durs, bool) {
	items, seen := p.list(e, where, "durations", "[30m, 10m]")
	ok := len(items) == seen
	var out durs
	have := map[time.Duration]bool{}
	for _, it := range items {
		d, good := p.leaseDur(it, e.key+" "+where)
		if !good {
			ok = false
			continue
		}
		if have[d] {
			continue
		}
		have[d] = true
		out.vals = append(out.vals, d)
		out.lines = append(out.lines, it.Line)
	}
	return out, ok
}

// warnBefore reads warn_before: sorted descending, deduplicated, not empty.
func (p *parser) warnBefore(e entry, where string) ([]time.Duration, bool) {
	ds, ok := p.durList(e, where)
	if !ok {
		return nil, false
	}
	if len(ds.vals) == 0 {
		p.errf(e.k, "warn_before %s is empty: list at least one threshold, e.g. [30m, 10m] (to turn warnings off, set warn: false in a channel)", where)
		return nil, false
	}
	v := slices.Clone(ds.vals)
	slices.Sort(v)
	slices.Reverse(v)
	return v, true
}

// extendButtons reads extend_buttons: in the order written, deduplicated, at most 4.
func (p *parser) extendButtons(e entry, where string) (durs, bool) {
	ds, ok := p.durList(e, where)
	if !ok {
		return durs{}, false
	}
	if len(ds.vals) > MaxExtendButtons {
		p.errf(at(e.v, e.k), "extend_buttons %s has %d entries; at most %d fit beside \"Let it stop\"", where, len(ds.vals), MaxExtendButtons)
		return durs{}, false
	}
	return ds, true
}

// maxExtend reads max_extend or owner_max_extend: a lease duration.
func (p *parser) maxExtend(e entry, where string) (time.Duration, bool) {
	if _, ok := p.scalar(e, where, "a duration such as 8h"); !ok {
		return 0, false
	}
	return p.leaseDur(e.v, e.key+" "+where)
}

func (p *parser) modelArts(e *entry) ModelArts {
	var ma ModelArts
	if e == nil {
		p.errAt(1, "missing modelarts section: endpoint and project_id are required")
		return ma
	}
	m, ok := p.mapping(*e, "modelarts", "modelarts is empty: endpoint and project_id are required")
	if !ok {
		return ma
	}
	const where = "in modelarts"
	var haveEndpoint, haveProject bool
	for _, f := range p.entries(m, where) {
		switch f.key {
		case "endpoint":
			haveEndpoint = true
			ma.Endpoint = p.endpoint(f, where, false)
		case "iam_endpoint":
			ma.IAMEndpoint = p.endpoint(f, where, true)
		case "project_id":
			haveProject = true
			ma.ProjectID = p.projectID(f, where)
		case "list_all":
			ma.ListAll, _ = p.boolean(f, where)
		default:
			p.unknown(f, where, modelArtsKeys, modelArtsHints)
		}
	}
	if !haveEndpoint {
		p.errf(e.k, "endpoint is missing in modelarts: write the ModelArts endpoint of your region, e.g. https://modelarts.eu-de.otc.t-systems.com")
	}
	if !haveProject {
		p.errf(e.k, "project_id is missing in modelarts: write the 32-character project ID of your region")
	}
	return ma
}

func (p *parser) projectID(e entry, where string) string {
	s, ok := p.scalar(e, where, "a 32-character project ID")
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	switch err := lease.CheckProjectID(s); {
	case errors.Is(err, lease.ErrProjectIDEmpty):
		p.errf(e.v, "project_id %s is empty: write the 32-character project ID of your region", where)
	case errors.Is(err, lease.ErrProjectIDCase):
		p.errf(e.v, "project_id %s must be in lower case: write %q", where, strings.ToLower(s))
	case errors.Is(err, lease.ErrProjectIDChars):
		p.errf(e.v, "project_id %s must be 32 hexadecimal characters (digits and lower-case a-f), as listed under My Credentials > Projects; %s is not", where, quote(s))
	case errors.Is(err, lease.ErrProjectIDLength):
		p.errf(e.v, "project_id %s must be 32 hexadecimal characters (digits and lower-case a-f); it has %d", where, len(s))
	case err != nil:
		p.errf(e.v, "project_id %s is not a project ID: %v", where, err)
	default:
		return s
	}
	return ""
}

func (p *parser) defaults(e *entry) (Defaults, defaultSources) {
	d := Defaults{
		MaxExtend:     DefaultMaxExtend,
		WarnBefore:    DefaultWarnBefore(),
		ExtendButtons: DefaultExtendButtons(),
		PollInterval:  DefaultPollInterval,
		HistoryDays:   DefaultHistoryDays,
		OwnerActions:  []Action{ActionExtend},
		StartDuration: DefaultStartDuration,
		Actions:       []Action{ActionExtend},
		ApprovalMax:   MaxLease,
		ApprovalTTL:   DefaultApprovalTTL,
	}
	var src defaultSources
	if e == nil {
		return d, src
	}
	m, ok := p.mapping(*e, "defaults", "")
	if !ok {
		return d, src
	}
	const where = "in defaults"
	for _, f := range p.entries(m, where) {
		switch f.key {
		case "max_extend":
			if v, ok := p.maxExtend(f, where); ok {
				d.MaxExtend, src.maxExtend = v, f.k.Line
			}
		case "warn_before":
			if v, ok := p.warnBefore(f, where); ok {
				d.WarnBefore = v
			}
		case "extend_buttons":
			if v, ok := p.extendButtons(f, where); ok {
				d.ExtendButtons, src.buttons = v.vals, v.lines
			}
		case "poll_interval":
			if _, ok := p.scalar(f, where, "a duration such as 60s"); !ok {
				continue
			}
			if v, ok := p.dur(f.v, "poll_interval "+where); ok {
				if v < MinPollInterval {
					p.errf(f.v, "poll_interval %s is %s; the shortest allowed is %s", where, duration.Format(v), duration.Format(MinPollInterval))
				} else {
					d.PollInterval = v
				}
			}
		case "state_file":
			if s, ok := p.scalar(f, where, "a file path"); ok {
				if strings.TrimSpace(s) == "" {
					p.errf(f.v, "state_file %s is empty: write a file path, or remove the key", where)
				} else {
					d.StateFile = s
					p.noteAt(f.k.Line, "state_file is deprecated: its warnings are imported into the store once and the file is renamed %s; remove the key",
						quote(s+".imported"))
				}
			}
		case "history_days":
			if v, ok := p.historyDays(f, where); ok {
				d.HistoryDays = v
			}
		case "notify_owner":
			if v, ok := p.boolean(f, where); ok {
				d.NotifyOwner, src.notifyOwner = v, f.k.Line
			}
		case "owner_max_extend":
			if v, ok := p.maxExtend(f, where); ok {
				d.OwnerMaxExtend, src.ownerMaxExtend = v, f.k.Line
			}
		case "owner_actions":
			if v, ok := p.actions(f, where); ok {
				d.OwnerActions, src.ownerActions = v, f.k.Line
			}
		case "owner_max_keep":
			if v, ok := p.bounded(f, where, keepBounds); ok {
				d.OwnerMaxKeep, src.ownerMaxKeep = v, f.k.Line
			}
		case "start_duration":
			if v, ok := p.bounded(f, where, startBounds); ok {
				d.StartDuration = v
			}
		case "actions":
			if v, ok := p.actions(f, where); ok {
				d.Actions, src.actions = v, f.k.Line
			}
		case "max_keep":
			if v, ok := p.bounded(f, where, keepBounds); ok {
				d.MaxKeep, src.maxKeep = v, f.k.Line
			}
		case "approval_max":
			if v, ok := p.bounded(f, where, approvalMaxBounds); ok {
				d.ApprovalMax = v
			}
		case "approval_ttl":
			if v, ok := p.bounded(f, where, approvalTTLBounds); ok {
				d.ApprovalTTL = v
			}
		default:
			p.unknown(f, where, defaultsKeys, defaultsHints)
		}
	}
	if src.actions == 0 {
		d.Actions = defaultActions(d.MaxKeep)
	}
	if src.maxExtend > 0 {
		p.noteShortMaxExtend(src.maxExtend, "max_extend "+where, d.MaxExtend)
	}
	if src.ownerMaxExtend > 0 {
		p.noteShortMaxExtend(src.ownerMaxExtend, "owner_max_extend "+where, d.OwnerMaxExtend)
	}
	return d, src
}

// defaultActions are the actions of a channel (or of defaults) where actions
// is written nowhere: extend, and keep when max_keep allows keeps, so that
// setting max_keep alone turns keep on.
func defaultActions(maxKeep time.Duration) []Action {
	if maxKeep > 0 {
		return []Action{ActionExtend, ActionKeep}
	}
	return []Action{ActionExtend}
}

// defaultSources records where the defaults came from, for messages about
// channels that inherit them and for defaults that depend on others. A zero
// line means the key is not written and the built-in default applies.
type defaultSources struct {
	maxExtend int
	buttons   []int
	actions   int
	maxKeep   int

	notifyOwner    int
	ownerMaxExtend int
	ownerActions   int
	ownerMaxKeep   int
}

// owners completes the owner rule: owner_max_extend and owner_max_keep
// default to max_extend and max_keep of defaults, and settings that cannot
// take effect are pointed out.
func (p *parser) owners(d *Defaults, src defaultSources, havePeople bool) {
	if src.ownerMaxExtend == 0 {
		d.OwnerMaxExtend = d.MaxExtend
	}
	if src.ownerMaxKeep == 0 {
		d.OwnerMaxKeep = d.MaxKeep
	}
	if d.NotifyOwner && !havePeople {
		p.noteAt(src.notifyOwner, "notify_owner is true but people is empty: leasebot knows no notebook owner to message; "+
			"map IAM user names or IDs to chat user IDs under people")
	}
	hasKeep := slices.Contains(d.OwnerActions, ActionKeep)
	switch {
	case hasKeep && d.OwnerMaxKeep == 0:
		p.noteAt(src.ownerActions, "owner_actions in defaults includes keep but owner_max_keep is 0 (keep off): every keep by an owner will be refused; "+
			"set owner_max_keep (or max_keep in defaults), or drop keep from owner_actions")
	case !hasKeep && src.ownerMaxKeep > 0 && d.OwnerMaxKeep > 0:
		p.noteAt(src.ownerMaxKeep, "owner_max_keep in defaults is %s but owner_actions lacks keep: owners cannot keep; add keep to owner_actions, or remove owner_max_keep",
			duration.FormatLong(d.OwnerMaxKeep))
	}
}

// noteShortMaxExtend points out a largest extension under ModelArts'
// shortest lease. It is allowed, but ModelArts cannot set a stop time less
// than an hour away, and raising the stop time to an hour would go beyond
// the limit.
func (p *parser) noteShortMaxExtend(line int, what string, d time.Duration) {
	if d >= MinLease {
		return
	}
	p.noteAt(line, "%s is %s, shorter than ModelArts' shortest lease (%s): ModelArts cannot set a stop time less than %s away, "+
		"so when a notebook has less than an hour left, an extension that does not reach %s from now is refused rather than raised beyond %s",
		what, duration.Format(d), duration.Format(MinLease), duration.Format(MinLease), duration.Format(MinLease), duration.Format(d))
}

func (p *parser) channels(e *entry, cfg *Config, src defaultSources) {
	const none = "no channels configured: leasebot denies everything; add a channels section with at least one channel ID"
	if e == nil {
		p.errAt(1, "%s", none)
		return
	}
	m, ok := p.mapping(*e, "channels", none)
	if !ok {
		return
	}
	if len(m.Content) == 0 {
		p.errf(e.k, "%s", none)
		return
	}
	for _, c := range p.entries(m, "under channels") {
		if p.tooMuch {
			return
		}
		p.channel(c, cfg, src)
	}
}

func (p *parser) channel(e entry, cfg *Config, src defaultSources) {
	id := e.key
	valid := true
	if why := p.idProblem(ChannelID, id); why != "" {
		p.errf(e.k, "%s under channels %s", quote(id), why)
		valid = false
	}
	name := id
	if !valid {
		name = quote(id)
	}
	where := "in channel " + name
	ch := &Channel{
		ID:            id,
		MaxExtend:     cfg.Defaults.MaxExtend,
		WarnBefore:    slices.Clone(cfg.Defaults.WarnBefore),
		ExtendButtons: slices.Clone(cfg.Defaults.ExtendButtons),
		Warn:          true,
		Actions:       slices.Clone(cfg.Defaults.Actions),
		MaxKeep:       cfg.Defaults.MaxKeep,
		ApprovalMax:   cfg.Defaults.ApprovalMax,
		ApprovalTTL:   cfg.Defaults.ApprovalTTL,
		Line:          e.k.Line,
	}
	m, ok := p.mapping(e, "channel "+name, fmt.Sprintf(
		"channel %s is empty: name at least one user or group (users, groups) and the notebooks it may manage (notebooks)", name))
	if !ok {
		return
	}
	var (
		aclSeen, nbSeen int
		maxLine         int   // line of this channel's max_extend, 0 if inherited
		buttonLines     []int // lines of this channel's extend_buttons, nil if inherited
		// Lines of this channel's own keys, 0 if inherited.
		actionsLine, keepLine, approversLine, approvalMaxLine, approvalTTLLine int
		// bad is set when a value the buttons check compares is wrong, and
		// badLimits when one the approvals check compares is.
		bad       = !valid
		badLimits bool
		seen      = func(n int) { aclSeen += n }
	)
	for _, f := range p.entries(m, where) {
		switch f.key {
		case "users":
			ch.Users = p.idsSeen(f, where, UserID, seen)
		case "groups":
			ch.Groups = p.idsSeen(f, where, GroupID, seen)
		case "notebooks":
			var n int
			ch.Notebooks, n = p.selectors(f, where)
			nbSeen += n
		case "max_extend":
			if v, ok := p.maxExtend(f, where); ok {
				ch.MaxExtend, maxLine = v, f.k.Line
			} else {
				bad, badLimits = true, true
			}
		case "warn_before":
			if v, ok := p.warnBefore(f, where); ok {
				ch.WarnBefore = v
			} else {
				bad = true
			}
		case "extend_buttons":
			if v, ok := p.extendButtons(f, where); ok {
				ch.ExtendButtons, buttonLines = v.vals, v.lines
			} else {
				bad = true
			}
		case "warn":
			ch.Warn, _ = p.boolean(f, where)
		case "actions":
			if v, ok := p.actions(f, where); ok {
				ch.Actions, actionsLine = v, f.k.Line
			}
		case "max_keep":
			if v, ok := p.bounded(f, where, keepBounds); ok {
				ch.MaxKeep, keepLine = v, f.k.Line
			}
		case "approvers":
			if v, ok := p.approvers(f, where); ok {
				ch.Approvers, approversLine = v, f.k.Line
			} else {
				badLimits = true
			}
		case "approval_max":
			if v, ok := p.bounded(f, where, approvalMaxBounds); ok {
				ch.ApprovalMax, approvalMaxLine = v, f.k.Line
			} else {
				badLimits = true
			}
		case "approval_ttl":
			if v, ok := p.bounded(f, where, approvalTTLBounds); ok {
				ch.ApprovalTTL, approvalTTLLine = v, f.k.Line
			}
		default:
			p.unknown(f, where, channelKeys, channelHints)
		}
	}
	if p.tooMuch {
		return
	}
	if aclSeen == 0 {
		p.errf(e.k, "channel %s has an empty ACL: name at least one user (users) or user group (groups); admins alone do not open a channel", name)
	}
	if nbSeen == 0 {
		p.errf(e.k, "channel %s has no notebooks selectors: add notebooks: [\"*\"] for every notebook, or list notebook IDs, name globs (\"team-a-*\") or \"tag:key=value\"", name)
	}
	if !bad && ch.Warn {
		// Buttons appear only on warnings.
		p.checkButtons(ch, where, maxLine, buttonLines, src)
	}
	if maxLine > 0 {
		p.noteShortMaxExtend(maxLine, "max_extend "+where, ch.MaxExtend)
	}
	if actionsLine == 0 && src.actions == 0 {
		// With actions written nowhere, max_keep alone turns keep on.
		ch.Actions = defaultActions(ch.MaxKeep)
	}
	p.checkKeep(ch, name, actionsLine, keepLine, src)
	if !badLimits {
		p.checkApprovals(ch, where, maxLine, approversLine, approvalMaxLine, approvalTTLLine)
	}
	if valid {
		cfg.Channels[id] = ch
	}
}

// checkKeep points out a channel whose keep setting cannot take effect: keep
// allowed with max_keep 0, or max_keep set without keep among the actions.
// A remark about values the channel inherits from defaults is made at the
// line under defaults, once for all channels.
func (p *parser) checkKeep(ch *Channel, name string, actionsLine, keepLine int, src defaultSources) {
	line, who := actionsLine, "channel "+name
	if line == 0 {
		line = keepLine
	}
	if line == 0 {
		line, who = max(src.actions, src.maxKeep), "defaults"
	}
	switch keep := ch.Allows(ActionKeep); {
	case keep && ch.MaxKeep == 0:
		p.noteAt(line, "%s: actions include keep but max_keep is 0 (keep off): every keep by a member will be refused; set max_keep, or drop keep from actions", who)
	case !keep && ch.MaxKeep > 0:
		p.noteAt(line, "%s: max_keep is %s but actions lack keep: members cannot keep notebooks (admins can); add keep to actions, or set max_keep: 0",
			who, duration.FormatLong(ch.MaxKeep))
	}
}

// checkApprovals makes sure a channel with approvers can be asked anything:
// only an extension over max_extend and within approval_max goes to them.
// approval_max and approval_ttl written in a channel without approvers are
// pointed out, as they do nothing there.
func (p *parser) checkApprovals(ch *Channel, where string, maxLine, approversLine, approvalMaxLine, approvalTTLLine int) {
	if ch.Approvers.Empty() {
		if approvalMaxLine > 0 {
			p.noteAt(approvalMaxLine, "approval_max %s has no effect: the channel names no approvers", where)
		}
		if approvalTTLLine > 0 {
			p.noteAt(approvalTTLLine, "approval_ttl %s has no effect: the channel names no approvers", where)
		}
		return
	}
	if ch.ApprovalMax > ch.MaxExtend {
		return
	}
	from := func(line int) string {
		if line > 0 {
			return ""
		}
		return " (from defaults)"
	}
	line := approvalMaxLine
	if line == 0 {
		line = maxLine
	}
	if line == 0 {
		line = approversLine
	}
	p.errAt(line, "approval_max %s%s is %s, not more than max_extend %s%s: only an extension over max_extend and within approval_max "+
		"can be asked for approval, so the approvers could never be asked; raise approval_max (at most %s) or lower max_extend",
		where, from(approvalMaxLine), duration.Format(ch.ApprovalMax), duration.Format(ch.MaxExtend), from(maxLine), duration.Format(MaxLease))
}

// checkButtons deals with extend buttons longer than the channel's max_extend,
// on which every click would be refused. Buttons the channel writes itself
// are an error at their line; buttons it inherits (from defaults or the
// built-in [1h, 4h]) are left off that channel's warnings, so that a channel
// may narrow max_extend without repeating extend_buttons; but buttons written
// under defaults that exceed the max_extend of defaults are an error too.
func (p *parser) checkButtons(ch *Channel, where string, maxLine int, buttonLines []int, src defaultSources) {
	kept := ch.ExtendButtons[:0:0]
	for i, b := range ch.ExtendButtons {
		switch {
		case b <= ch.MaxExtend:
			kept = append(kept, b)
		case buttonLines != nil:
			p.errAt(buttonLines[i], "extend button %s %s is longer than its max_extend %s: every click on it would be refused",
				duration.Format(b), where, duration.Format(ch.MaxExtend))
		case maxLine == 0 && i < len(src.buttons) && !p.reported[src.buttons[i]]:
			if p.reported == nil {
				p.reported = map[int]bool{}
			}
			p.reported[src.buttons[i]] = true
			p.errAt(src.buttons[i], "extend button %s in defaults is longer than max_extend %s: every click on it would be refused",
				duration.Format(b), duration.Format(ch.MaxExtend))
		}
	}
	ch.ExtendButtons = kept
}

// idList reads a list of chat IDs of one kind.
func (p *parser) idList(e entry, where string, kind IDKind) []string {
	return p.idsSeen(e, where, kind, func(int) {})
}

// idsSeen reads a list of chat IDs of one kind, deduplicated; seen is told
// how many entries were written, valid or not.
func (p *parser) idsSeen(e entry, where string, kind IDKind, seen func(int)) []string {
	items, n := p.list(e, where, kindPlural(kind), p.example(kind))
	seen(n)
	var out []string
	have := map[string]bool{}
	for _, it := range items {
		if why := p.idProblem(kind, it.Value); why != "" {
			p.errf(it, "%s %s: %s %s", e.key, where, quote(it.Value), why)
			continue
		}
		if !have[it.Value] {
			have[it.Value] = true
			out = append(out, it.Value)
		}
	}
	return out
}

// selectors reads a channel's notebooks list.
func (p *parser) selectors(e entry, where string) ([]string, int) {
	items, n := p.list(e, where, "notebook selectors", `["*"], ["team-a-*"] or ["tag:team=ml"]`)
	var out []string
	have := map[string]bool{}
	for _, it := range items {
		if why := selectorProblem(it.Value); why != "" {
			p.errf(it, "notebooks %s: %s", where, why)
			continue
		}
		if !have[it.Value] {
			have[it.Value] = true
			out = append(out, it.Value)
		}
	}
	return out, n
}
