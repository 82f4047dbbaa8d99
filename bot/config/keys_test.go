package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// approver is a channel body line (line 8 after valid) naming one approver.
const approver = "    approvers: {users: [U0CAROL]}\n"

func TestNewKeyErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		line   int
		phrase string
		only   bool // the problem must be the only one
	}{
		// store
		{"store path empty", valid + "store:\n  path: ''\n", 9, "path in store is empty: write a file path such as leasebot.db", true},
		{"store path blank", valid + "store:\n  path: '  '\n", 9, "path in store is empty", true},
		{"store path null", valid + "store:\n  path:\n", 9, "path in store has no value; write a file path such as leasebot.db", true},
		{"store path list", valid + "store:\n  path: [a.db]\n", 9, "path in store must be a file path such as leasebot.db; got a list", true},
		{"store path spaces", valid + "store:\n  path: 'a.db '\n", 9, `path in store: "a.db " has spaces around it`, true},
		{"store path is postgres", valid + "store:\n  path: postgres://u:pw@db.example.com/leasebot\n", 9, "path in store is a database URL, not a file: a database URL carries a password", true},
		{"store path is URL", valid + "store:\n  path: file:///var/lib/x.db\n", 9, "path in store must be a file path, not a URL", true},
		{"store url", valid + "store:\n  url: postgres://u:pw@db/x\n", 9, `key "url" in store: a database URL carries a password, so it never goes in the config file: set LEASEBOT_DATABASE_URL`, true},
		{"store dsn", valid + "store:\n  dsn: host=db password=pw\n", 9, `key "dsn" in store: a database URL`, true},
		{"store database_url", valid + "store:\n  database_url: postgres://db/x\n", 9, "LEASEBOT_DATABASE_URL", true},
		{"store DatabaseURL", valid + "store:\n  DatabaseURL: postgres://db/x\n", 9, "LEASEBOT_DATABASE_URL", true},
		{"store password", valid + "store:\n  password: pw\n", 9, `key "password" in store names a secret`, true},
		{"store typo", valid + "store:\n  pth: a.db\n", 9, `unknown key "pth" in store (did you mean "path"?)`, true},
		{"store driver", valid + "store:\n  driver: postgres\n", 9, "or PostgreSQL when LEASEBOT_DATABASE_URL is set in the environment", true},
		{"store string", valid + "store: a.db\n", 8, "store must be a mapping such as {path: leasebot.db}; got a string", true},
		{"store URL string", valid + "store: postgres://u:pw@db/x\n", 8, "store: a database URL carries a password", true},
		{"store list", valid + "store: [a.db]\n", 8, "store must be a mapping; got a list", true},
		{"path at top", valid + "path: a.db\n", 8, "path belongs under store: store: {path: leasebot.db}", true},
		{"database_url at top", valid + "database_url: postgres://db/x\n", 8, "set LEASEBOT_DATABASE_URL=postgres://… in the environment", true},
		{"store in channel", valid + "    store: {path: a.db}\n", 8, "store is a top-level mapping", true},
		{"store in defaults", valid + "defaults:\n  store: {path: a.db}\n", 9, "store is a top-level mapping", true},
		{"path in defaults", valid + "defaults:\n  path: a.db\n", 9, "path belongs under store", true},

		// people
		{"people bad user", valid + "people:\n  alice: bob\n", 9, `people "alice": "bob" is not a Slack user ID (U… or W…`, true},
		{"people lower case", valid + "people:\n  alice: u0alice\n", 9, `write "U0ALICE"`, true},
		{"people group", valid + "people:\n  alice: S0TEAM\n", 9, `people "alice": "S0TEAM" is a user-group ID, not a user ID`, true},
		{"people empty key", valid + "people:\n  '': U0A\n", 9, "an empty key under people: write the IAM user name or IAM user ID of a notebook owner", true},
		{"people null key", valid + "people:\n  ~: U0A\n", 9, "an empty key under people", true},
		{"people key spaces", valid + "people:\n  ' alice': U0A\n", 9, `" alice" under people has spaces around it`, true},
		{"people no value", valid + "people:\n  alice:\n", 9, `people "alice" has no value: write the chat user ID of that owner, e.g. U0ALICE`, true},
		{"people empty value", valid + "people:\n  alice: ''\n", 9, `people "alice": "" is empty: write a Slack user ID`, true},
		{"people list value", valid + "people:\n  alice: [U0A]\n", 9, `people "alice" must be one chat user ID, e.g. U0ALICE; got a list`, true},
		{"people duplicate", valid + "people:\n  alice: U0A\n  alice: U0B\n", 10, `duplicate key "alice" under people (first on line 9)`, true},
		{"people list", valid + "people: [alice]\n", 8, "people must be a mapping of notebook owners (IAM user name or IAM user ID) to chat user IDs, e.g. people: {alice: U0ALICE}; got a list", true},
		{"people key mapping", valid + "people:\n  {a: b}: U0A\n", 9, "keys must be plain words under people; got a mapping", true},
		{"people in channel", valid + "    people: {alice: U0A}\n", 8, "people is a top-level mapping", true},
		{"people in defaults", valid + "defaults:\n  people: {alice: U0A}\n", 9, "people is a top-level mapping", true},
		{"owners at top", valid + "owners: {alice: U0A}\n", 8, "notebook owners are mapped to chat users under people", true},
		{"people typo", valid + "peple: {alice: U0A}\n", 8, `unknown key "peple" at the top level (did you mean "people"?)`, true},

		// history_days
		{"history_days zero", valid + "defaults:\n  history_days: 0\n", 9, "history_days in defaults is 0: history is kept at least 1 day", true},
		{"history_days negative", valid + "defaults:\n  history_days: -5\n", 9, "is -5: history is kept at least 1 day", true},
		{"history_days unit", valid + "defaults:\n  history_days: 90d\n", 9, "history_days in defaults is a number of days without a unit: write 90", true},
		{"history_days word", valid + "defaults:\n  history_days: lots\n", 9, `history_days in defaults must be a whole number of days such as 90; got "lots"`, true},
		{"history_days float", valid + "defaults:\n  history_days: 1.5\n", 9, `must be a whole number of days such as 90; got "1.5"`, true},
		{"history_days huge", valid + "defaults:\n  history_days: 99999999999999999999999\n", 9, "history_days in defaults is too large: at most 36500 days", true},
		{"history_days quoted", valid + "defaults:\n  history_days: \"30\"\n", 9, "history_days in defaults must be a number, not a string: remove the quotes", true},
		{"history_days over", valid + "defaults:\n  history_days: 36501\n", 9, "is too large", true},
		{"history_days hex", valid + "defaults:\n  history_days: 0x5A\n", 9, `history_days in defaults must be a whole number of days in decimal digits, such as 90; got "0x5A"`, true},
		{"history_days hex lower", valid + "defaults:\n  history_days: 0x1e\n", 9, "in decimal digits", true},
		{"history_days underscore", valid + "defaults:\n  history_days: 1_0\n", 9, `in decimal digits, such as 90; got "1_0"`, true},
		{"history_days octal", valid + "defaults:\n  history_days: 0o17\n", 9, "in decimal digits", true},
		{"history_days binary", valid + "defaults:\n  history_days: 0b101\n", 9, "in decimal digits", true},
		{"history_days plus", valid + "defaults:\n  history_days: +90\n", 9, "in decimal digits", true},
		{"history_days leading zero", valid + "defaults:\n  history_days: 010\n", 9, `history_days in defaults: write "010" without the leading zero`, true},
		{"history_days leading zero, not octal", valid + "defaults:\n  history_days: 090\n", 9, "without the leading zero", true},
		{"history_days list", valid + "defaults:\n  history_days: [90]\n", 9, "history_days in defaults must be a number of days such as 90; got a list", true},
		{"history_days in channel", valid + "    history_days: 30\n", 8, "history_days can be set only under defaults", true},
		{"history_days at top", valid + "history_days: 30\n", 8, "history_days belongs under defaults", true},

		// the owner rule
		{"notify_owner yes", valid + "defaults:\n  notify_owner: yes\n", 9, `notify_owner in defaults must be true or false; got "yes"`, true},
		{"owner_max_extend over", valid + "defaults:\n  owner_max_extend: 73h\n", 9, "owner_max_extend in defaults: 73h is longer than 72h", true},
		{"owner_max_extend zero", valid + "defaults:\n  owner_max_extend: 0h\n", 9, "it must be longer than zero", true},
		{"owner_actions unknown", valid + "defaults:\n  owner_actions: [extend, fly]\n", 9, `owner_actions in defaults: unknown action "fly"; the actions are extend, keep, start, stop`, true},
		{"owner_actions null", valid + "defaults:\n  owner_actions:\n", 9, "owner_actions in defaults has no value; write a list such as [extend, keep], or [] to let owners only read", true},
		{"owner_max_keep over", valid + "defaults:\n  owner_max_keep: 31d\n", 9, "owner_max_keep in defaults: 31d is longer than 30d, the furthest ahead a keep may end", true},
		{"owner_max_keep bad", valid + "defaults:\n  owner_max_keep: soon\n", 9, `owner_max_keep in defaults: "soon" is not a duration`, true},
		{"owner key in channel", valid + "    owner_actions: [extend]\n", 8, "owner_actions can be set only under defaults", true},
		{"notify_owner in channel", valid + "    notify_owner: true\n", 8, "notify_owner can be set only under defaults", true},
		{"owner key at top", valid + "owner_max_extend: 2h\n", 8, "owner_max_extend belongs under defaults", true},
		{"owner key typo", valid + "defaults:\n  owner_max_extent: 2h\n", 9, `(did you mean "owner_max_extend"?)`, true},

		// start_duration
		{"start_duration short", valid + "defaults:\n  start_duration: 30m\n", 9, "start_duration in defaults: 30m is shorter than 1h, the shortest lease ModelArts allows", true},
		{"start_duration long", valid + "defaults:\n  start_duration: 4d\n", 9, "start_duration in defaults: 96h is longer than 72h, the longest lease ModelArts allows", true},
		{"start_duration bare", valid + "defaults:\n  start_duration: 4\n", 9, `"4" is not a duration: add a unit`, true},
		{"start_duration in channel", valid + "    start_duration: 2h\n", 8, "start_duration can be set only under defaults", true},

		// actions
		{"actions typo", valid + "    actions: [extnd]\n", 8, `actions in channel C0ML: unknown action "extnd" (did you mean "extend"?)`, true},
		{"actions case", valid + "    actions: [Keep]\n", 8, `unknown action "Keep" (did you mean "keep"?)`, true},
		{"actions far", valid + "    actions: [fly]\n", 8, `unknown action "fly"; the actions are extend, keep, start, stop`, true},
		{"actions read verb", valid + "    actions: [extend, status]\n", 8, `actions in channel C0ML: "status" is open to every member already; actions lists only what members may change: extend, keep, start, stop`, true},
		{"actions all", valid + "    actions: [all]\n", 8, "write the actions out, e.g. [extend, keep, start, stop]", true},
		{"actions star", valid + "    actions: ['*']\n", 8, "write the actions out", true},
		{"actions approve", valid + "    actions: [approve]\n", 8, `"approve" is not an action: approvers (approvers in a channel) and admins decide`, true},
		{"actions string", valid + "    actions: extend\n", 8, "actions in channel C0ML must be a list of actions, e.g. [extend, keep]; got a string", true},
		{"actions null", valid + "    actions:\n", 8, "actions in channel C0ML has no value; write a list such as [extend, keep], or [] to let members only read", true},
		{"actions entry list", valid + "    actions: [[extend]]\n", 8, "each entry must be one of actions; got a list", true},
		{"actions line of entry", valid + "    actions:\n      - extend\n      - stopp\n", 10, `unknown action "stopp" (did you mean "stop"?)`, true},
		{"actions in defaults", valid + "defaults:\n  actions: [extend, strat]\n", 9, `actions in defaults: unknown action "strat" (did you mean "start"?)`, true},
		{"actions at top", valid + "actions: [extend]\n", 8, "actions belongs in a channel or under defaults", true},
		{"actions typo key", valid + "    action: [extend]\n", 8, `unknown key "action" in channel C0ML (did you mean "actions"?)`, true},

		// max_keep
		{"max_keep over", valid + "    max_keep: 31d\n", 8, "max_keep in channel C0ML: 31d is longer than 30d, the furthest ahead a keep may end", true},
		{"max_keep over hours", valid + "    max_keep: 721h\n", 8, "30d 1h is longer than 30d", true}, // 721h, in days as keeps are
		{"max_keep bad", valid + "    max_keep: forever\n", 8, `max_keep in channel C0ML: "forever" is not a duration`, true},
		{"max_keep bare", valid + "    max_keep: 7\n", 8, `"7" is not a duration: add a unit`, true},
		{"max_keep list", valid + "    max_keep: [7d]\n", 8, "max_keep in channel C0ML must be a duration such as 7d, or 0 to turn keep off; got a list", true},
		{"max_keep in defaults", valid + "defaults:\n  max_keep: 60d\n", 9, "max_keep in defaults: 60d is longer than 30d", true},
		{"max_keep at top", valid + "max_keep: 7d\n", 8, "max_keep belongs in a channel or under defaults", true},

		// approvers
		{"approvers list", valid + "    approvers: [U0CAROL]\n", 8, "approvers in channel C0ML must be a mapping with users and groups, e.g. {users: [U0ALICE, U0BOB]}; got a list", true},
		{"approvers null", valid + "    approvers:\n", 8, "approvers in channel C0ML is empty: name who may approve, e.g. approvers: {users: [U0ALICE, U0BOB]}, or remove the key", true},
		{"approvers nobody", valid + "    approvers: {}\n", 8, "approvers in channel C0ML names nobody", true},
		{"approvers empty lists", valid + "    approvers: {users: [], groups: []}\n", 8, "names nobody", true},
		{"approvers bad user", valid + "    approvers:\n      users: [U0A, carol]\n", 9, `users in approvers of channel C0ML: "carol" is not a Slack user ID`, true},
		{"approvers bad group", valid + "    approvers:\n      groups: [U0A]\n", 9, `groups in approvers of channel C0ML: "U0A" is a user ID, not a user-group ID: put it under users`, true},
		{"approvers users string", valid + "    approvers:\n      users: U0A\n", 9, "users in approvers of channel C0ML must be a list of user IDs, e.g. [U0ALICE, U0BOB]; got a string", true},
		{"approvers typo", valid + "    approvers:\n      usres: [U0A]\n      groups: [S0A]\n", 9, `unknown key "usres" in approvers of channel C0ML (did you mean "users"?)`, true},
		{"approvers admins", valid + "    approvers:\n      admins: [U0A]\n      users: [U0B]\n", 9, "admins may decide every request already; name the other approvers under users or groups", true},
		{"approvers secret", valid + "    approvers:\n      token: x\n      users: [U0B]\n", 9, `key "token" in approvers of channel C0ML names a secret`, true},
		{"approvers duplicate", valid + "    approvers:\n      users: [U0A]\n      users: [U0B]\n", 10, `duplicate key "users" in approvers of channel C0ML (first on line 9)`, true},
		{"approvers in defaults", valid + "defaults:\n  approvers: {users: [U0A]}\n", 9, "approvers is set per channel, under channels", true},
		{"approvers at top", valid + "approvers: {users: [U0A]}\n", 8, "approvers belongs in a channel, under channels", true},

		// approval_max and approval_ttl
		{"approval_max over", valid + approver + "    approval_max: 73h\n", 9, "approval_max in channel C0ML: 73h is longer than 72h, the longest lease ModelArts allows", true},
		{"approval_max zero", valid + approver + "    approval_max: 0h\n", 9, "it must be longer than zero", true},
		{"approval_max under max_extend", valid + approver + "    approval_max: 4h\n", 9,
			"approval_max in channel C0ML is 4h, not more than max_extend 8h (from defaults): only an extension over max_extend and within approval_max can be asked for approval, so the approvers could never be asked; raise approval_max (at most 72h) or lower max_extend", true},
		{"approval_max equal max_extend", valid + approver + "    max_extend: 6h\n    approval_max: 6h\n", 10, "approval_max in channel C0ML is 6h, not more than max_extend 6h:", true},
		{"max_extend reaches approval_max", valid + approver + "    max_extend: 72h\n", 9, "approval_max in channel C0ML (from defaults) is 72h, not more than max_extend 72h:", true},
		{"defaults approval_max too small", valid + approver + "defaults:\n  approval_max: 8h\n", 8, "approval_max in channel C0ML (from defaults) is 8h, not more than max_extend 8h (from defaults)", true},
		{"approval_ttl over", valid + "    approval_ttl: 8d\n", 8, "approval_ttl in channel C0ML: 8d is longer than 7d, the longest a request for approval may wait", true},
		{"approval_ttl zero", valid + "defaults:\n  approval_ttl: 0s\n", 9, "approval_ttl in defaults: \"0s\" is not a duration: it must be longer than zero", true},
		{"approval_ttl at top", valid + "approval_ttl: 1h\n", 8, "approval_ttl belongs in a channel or under defaults", true},
		{"approval typo", valid + "    aproval_max: 24h\n", 8, `(did you mean "approval_max"?)`, true},

		// A problem in one key does not hide a problem in another.
		{"actions typo and a button", valid + "    actions: [extnd]\n    max_extend: 2h\n    extend_buttons: [3h]\n", 10, "extend button 3h in channel C0ML is longer than its max_extend 2h", false},
		{"max_keep and approvals", valid + "    max_keep: 99d\n" + approver + "    approval_max: 1h\n", 10, "approval_max in channel C0ML is 1h, not more than max_extend 8h", false},
		{"bad approvers hide the approval check", valid + "    approvers: {users: [carol]}\n    approval_max: 1h\n", 8, `"carol" is not a Slack user ID`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := parseErrs(t, tt.src)
			found := false
			for _, e := range es {
				if e.Line == tt.line && strings.Contains(e.Msg, tt.phrase) {
					found = true
				}
			}
			if !found {
				t.Errorf("want line %d: …%s…\ngot:\n%v", tt.line, tt.phrase, es)
			}
			if tt.only && len(es) != 1 {
				t.Errorf("want exactly one error, got %d:\n%v", len(es), es)
			}
		})
	}
}

// Problems in the new keys are collected with every other problem, in line order.
func TestNewKeyErrorsTogether(t *testing.T) {
	src := valid + `    actions: [extnd]
    max_keep: 40d
    approvers: {users: [carol]}
people:
  alice: bob
store:
  url: postgres://u:do-not-print-me@db/x
defaults:
  history_days: 0
  start_duration: 10m
`
	es := parseErrs(t, src)
	want := []struct {
		line   int
		phrase string
	}{
		{8, `unknown action "extnd"`},
		{9, "40d is longer than 30d"},
		{10, `"carol" is not a Slack user ID`},
		{12, `"bob" is not a Slack user ID`},
		{14, `key "url" in store`},
		{16, "history_days in defaults is 0"},
		{17, "start_duration in defaults: 10m is shorter than 1h"},
	}
	if len(es) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i, w := range want {
		if i < len(es) && (es[i].Line != w.line || !strings.Contains(es[i].Msg, w.phrase)) {
			t.Errorf("error %d = %v; want line %d: …%s…", i, es[i], w.line, w.phrase)
		}
	}
	if strings.Contains(es.Error(), "do-not-print-me") {
		t.Error("database password echoed")
	}
}

func TestNewDefaults(t *testing.T) {
	c := mustParse(t, valid)
	d := c.Defaults
	if c.Store.Path != DefaultStorePath || len(c.People) != 0 || len(c.Notes) != 0 {
		t.Errorf("Store = %+v, People = %v, Notes = %v", c.Store, c.People, c.Notes)
	}
	if d.HistoryDays != 90 || d.NotifyOwner || d.OwnerMaxExtend != 8*time.Hour || !slices.Equal(d.OwnerActions, []Action{ActionExtend}) ||
		d.OwnerMaxKeep != 0 || d.StartDuration != 4*time.Hour {
		t.Errorf("Defaults = %+v", d)
	}
	if !slices.Equal(d.Actions, []Action{ActionExtend}) || d.MaxKeep != 0 || d.ApprovalMax != 72*time.Hour || d.ApprovalTTL != time.Hour {
		t.Errorf("Defaults = %+v", d)
	}
	ch := c.Channels["C0ML"]
	if !slices.Equal(ch.Actions, []Action{ActionExtend}) || ch.MaxKeep != 0 || !ch.Approvers.Empty() ||
		ch.ApprovalMax != 72*time.Hour || ch.ApprovalTTL != time.Hour {
		t.Errorf("channel = %+v", ch)
	}
	if !ch.Allows(ActionExtend) || ch.Allows(ActionKeep) || ch.Allows(ActionStart) || ch.Allows(ActionStop) {
		t.Errorf("Allows: %v", ch.Actions)
	}
	// The channel's actions are its own.
	ch.Actions[0] = ActionStop
	if c.Defaults.Actions[0] != ActionExtend {
		t.Error("channel actions alias the defaults")
	}
}

func TestNewKeysValid(t *testing.T) {
	src := valid + `    actions: [stop, extend, stop, start]
    max_keep: 14d
    approvers:
      users: [U0CAROL, U0CAROL]
      groups: [S0LEADS]
    approval_max: 48h
    approval_ttl: 30m
  C0TWO:
    users: [U0BOB]
    notebooks: [x]
people:
  alice: U0ALICE
  bob: W0BOB
  "9f8e7d6c5b4a39281706f5e4d3c2b1a0": U0BOB
  12345: U0NUM
  ci-token-bot: U0CI
store:
  path: state/leasebot.sqlite
defaults:
  max_extend: 12h
  max_keep: 0d
  history_days: 30
  notify_owner: true
  owner_max_extend: 2h
  owner_actions: [keep, extend]
  owner_max_keep: 3d
  start_duration: PT2H
  actions: [extend, start]
  approval_max: 24h
  approval_ttl: 7d
`
	c := mustParse(t, src)
	// C0ML sets max_keep but its actions lack keep: a note, not an error.
	if len(c.Notes) != 1 || c.Notes[0].Line != 8 || !strings.Contains(c.Notes[0].Msg, "max_keep is 14d but actions lack keep") {
		t.Errorf("Notes = %v", c.Notes)
	}
	if c.Store.Path != "state/leasebot.sqlite" {
		t.Errorf("Store = %+v", c.Store)
	}
	wantPeople := map[string]string{"alice": "U0ALICE", "bob": "W0BOB", "9f8e7d6c5b4a39281706f5e4d3c2b1a0": "U0BOB", "12345": "U0NUM", "ci-token-bot": "U0CI"}
	if fmt.Sprint(c.People) != fmt.Sprint(wantPeople) {
		t.Errorf("People = %v, want %v", c.People, wantPeople)
	}
	d := c.Defaults
	if d.HistoryDays != 30 || !d.NotifyOwner || d.OwnerMaxExtend != 2*time.Hour || !slices.Equal(d.OwnerActions, []Action{ActionExtend, ActionKeep}) ||
		d.OwnerMaxKeep != 3*day || d.StartDuration != 2*time.Hour || d.MaxKeep != 0 {
		t.Errorf("Defaults = %+v", d)
	}
	if !slices.Equal(d.Actions, []Action{ActionExtend, ActionStart}) || d.ApprovalMax != 24*time.Hour || d.ApprovalTTL != 7*day {
		t.Errorf("Defaults = %+v", d)
	}
	ml := c.Channels["C0ML"]
	if !slices.Equal(ml.Actions, []Action{ActionExtend, ActionStart, ActionStop}) || ml.MaxKeep != 14*day ||
		!slices.Equal(ml.Approvers.Users, []string{"U0CAROL"}) || !slices.Equal(ml.Approvers.Groups, []string{"S0LEADS"}) ||
		ml.ApprovalMax != 48*time.Hour || ml.ApprovalTTL != 30*time.Minute {
		t.Errorf("C0ML = %+v", ml)
	}
	two := c.Channels["C0TWO"]
	if !slices.Equal(two.Actions, []Action{ActionExtend, ActionStart}) || two.MaxKeep != 0 || !two.Approvers.Empty() ||
		two.ApprovalMax != 24*time.Hour || two.ApprovalTTL != 7*day || two.MaxExtend != 12*time.Hour {
		t.Errorf("C0TWO = %+v", two)
	}
	// The approvers list is the channel's own.
	two.Approvers.Users = append(two.Approvers.Users, "U0X")
	if len(ml.Approvers.Users) != 1 {
		t.Error("approvers shared")
	}
}

// max_keep forms: 0 in any unit turns keep off; durations up to 30d.
func TestMaxKeepForms(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "0h": 0, "0d": 0, "0s": 0, "PT0S": 0, "0.0": 0, "'0'": 0,
		"1h": time.Hour, "7d": 7 * day, "30d": 30 * day, "720h": 30 * day, "P7D": 7 * day, "1d12h": 36 * time.Hour,
	} {
		// The channel names keep so that no note is made.
		c := mustParse(t, valid+"    actions: [extend, keep]\n    max_keep: "+in+"\n")
		if got := c.Channels["C0ML"].MaxKeep; got != want {
			t.Errorf("max_keep %s = %v, want %v", in, got, want)
		}
	}
	for _, in := range []string{"-1d", "0x", "d", "00:00", "30d1s", "s0", "h0", "0d0", "t0", "0t", "p0", "ds0", "0.0000000001s"} {
		parseErrs(t, valid+"    max_keep: "+in+"\n")
	}
}

func TestInheritance(t *testing.T) {
	tests := []struct {
		name     string
		defaults string // lines under defaults:
		channel  string // lines in channel C0ML
		check    func(d Defaults, ch *Channel) string
	}{
		{"channel inherits", "  actions: [extend, stop]\n  max_keep: 2d\n  approval_max: 30h\n  approval_ttl: 3h\n", "    actions: [extend, keep]\n",
			func(d Defaults, ch *Channel) string {
				if !slices.Equal(ch.Actions, []Action{ActionExtend, ActionKeep}) || ch.MaxKeep != 2*day || ch.ApprovalMax != 30*time.Hour || ch.ApprovalTTL != 3*time.Hour {
					return fmt.Sprintf("%+v", ch)
				}
				return ""
			}},
		{"channel overrides", "  actions: [extend, stop]\n  max_keep: 2d\n  approval_max: 30h\n  approval_ttl: 3h\n",
			"    actions: []\n    max_keep: 0\n    approval_max: 10h\n    approval_ttl: 5m\n" + approver,
			func(d Defaults, ch *Channel) string {
				if ch.Actions == nil || len(ch.Actions) != 0 || ch.MaxKeep != 0 || ch.ApprovalMax != 10*time.Hour || ch.ApprovalTTL != 5*time.Minute {
					return fmt.Sprintf("%+v", ch)
				}
				if !slices.Equal(d.Actions, []Action{ActionExtend, ActionStop}) || d.MaxKeep != 2*day {
					return fmt.Sprintf("defaults changed: %+v", d)
				}
				return ""
			}},
		{"owner limits follow defaults", "  max_extend: 6h\n  max_keep: 5d\n  actions: [extend, keep]\n", "",
			func(d Defaults, ch *Channel) string {
				if d.OwnerMaxExtend != 6*time.Hour || d.OwnerMaxKeep != 5*day || !slices.Equal(d.OwnerActions, []Action{ActionExtend}) {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
		{"owner limits written", "  max_extend: 6h\n  max_keep: 5d\n  actions: [extend, keep]\n  owner_max_extend: 72h\n  owner_max_keep: 0\n", "",
			func(d Defaults, ch *Channel) string {
				// An explicit owner_max_keep: 0 stays 0: owners cannot keep.
				if d.OwnerMaxExtend != 72*time.Hour || d.OwnerMaxKeep != 0 {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
		{"owner limits are not the channel's", "", "    max_extend: 1h\n    max_keep: 3d\n",
			func(d Defaults, ch *Channel) string {
				if d.OwnerMaxExtend != 8*time.Hour || d.OwnerMaxKeep != 0 {
					return fmt.Sprintf("%+v", d)
				}
				return ""
			}},
		{"approvals follow the channel's max_extend", "  approval_max: 12h\n", approver + "    max_extend: 4h\n",
			func(d Defaults, ch *Channel) string {
				if ch.ApprovalMax != 12*time.Hour || ch.MaxExtend != 4*time.Hour {
					return fmt.Sprintf("%+v", ch)
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := valid + tt.channel
			if tt.defaults != "" {
				src += "defaults:\n" + tt.defaults
			}
			c := mustParse(t, src)
			if msg := tt.check(c.Defaults, c.Channels["C0ML"]); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// Where actions is written nowhere, max_keep alone turns keep on.
func TestKeepTurnedOnByMaxKeep(t *testing.T) {
	extend, extendKeep := []Action{ActionExtend}, []Action{ActionExtend, ActionKeep}
	tests := []struct {
		name, defaults, channel string
		want, wantDefaults      []Action
		notes                   int
	}{
		{"nothing", "", "", extend, extend, 0},
		{"channel max_keep", "", "    max_keep: 7d\n", extendKeep, extend, 0},
		{"defaults max_keep", "  max_keep: 7d\n", "", extendKeep, extendKeep, 0},
		{"channel turns it off", "  max_keep: 7d\n", "    max_keep: 0\n", extend, extendKeep, 0},
		{"channel actions written", "", "    actions: [extend]\n    max_keep: 7d\n", extend, extend, 1},
		{"defaults actions written", "  actions: [extend]\n", "    max_keep: 7d\n", extend, extend, 1},
		{"channel actions with keep", "", "    actions: [keep]\n    max_keep: 7d\n", []Action{ActionKeep}, extend, 0},
		{"read only", "  max_keep: 7d\n", "    actions: []\n", []Action{}, extendKeep, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := valid + tt.channel
			if tt.defaults != "" {
				src += "defaults:\n" + tt.defaults
			}
			c := mustParse(t, src)
			if got := c.Channels["C0ML"].Actions; !slices.Equal(got, tt.want) {
				t.Errorf("channel actions = %v, want %v", got, tt.want)
			}
			if got := c.Defaults.Actions; !slices.Equal(got, tt.wantDefaults) {
				t.Errorf("defaults actions = %v, want %v", got, tt.wantDefaults)
			}
			if len(c.Notes) != tt.notes {
				t.Errorf("notes = %v, want %d", c.Notes, tt.notes)
			}
		})
	}
}

func TestNotes(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		line   int
		phrase string
	}{
		{"state_file", valid + "defaults:\n  state_file: /var/lib/leasebot/state.json\n", 9,
			`state_file is deprecated: its warnings are imported into the store once and the file is renamed "/var/lib/leasebot/state.json.imported"; remove the key`},
		{"short max_extend in defaults", valid + "defaults:\n  max_extend: 30m\n", 9,
			"max_extend in defaults is 30m, shorter than ModelArts' shortest lease (1h): ModelArts cannot set a stop time less than 1h away, " +
				"so when a notebook has less than an hour left, an extension that does not reach 1h from now is refused rather than raised beyond 30m"},
		{"short max_extend in channel", valid + "    max_extend: 45m\n", 8, "max_extend in channel C0ML is 45m, shorter than ModelArts' shortest lease (1h)"},
		{"short owner_max_extend", valid + "defaults:\n  owner_max_extend: 20m\n", 9, "owner_max_extend in defaults is 20m, shorter than ModelArts' shortest lease"},
		{"max_keep without keep", valid + "    actions: [extend, stop]\n    max_keep: 7d\n", 8,
			"channel C0ML: max_keep is 7d but actions lack keep: members cannot keep notebooks (admins can); add keep to actions, or set max_keep: 0"},
		{"max_keep without keep, channel max_keep only", valid + "    max_keep: 2d\ndefaults:\n  actions: [extend]\n", 8, "channel C0ML: max_keep is 2d but actions lack keep"},
		{"max_keep without keep, both in defaults", valid + "defaults:\n  actions: [extend]\n  max_keep: 3d\n", 10, "defaults: max_keep is 3d but actions lack keep"},
		{"keep without max_keep", valid + "    actions: [extend, keep]\n", 8,
			"channel C0ML: actions include keep but max_keep is 0 (keep off): every keep by a member will be refused; set max_keep, or drop keep from actions"},
		{"keep without max_keep in defaults", valid + "defaults:\n  actions: [keep]\n", 9, "defaults: actions include keep but max_keep is 0"},
		{"approval_max without approvers", valid + "    approval_max: 24h\n", 8, "approval_max in channel C0ML has no effect: the channel names no approvers"},
		{"approval_ttl without approvers", valid + "    approval_ttl: 2h\n", 8, "approval_ttl in channel C0ML has no effect: the channel names no approvers"},
		{"notify_owner without people", valid + "defaults:\n  notify_owner: true\n", 9,
			"notify_owner is true but people is empty: leasebot knows no notebook owner to message"},
		{"owner keep without owner_max_keep", valid + "defaults:\n  owner_actions: [extend, keep]\n", 9,
			"owner_actions in defaults includes keep but owner_max_keep is 0 (keep off): every keep by an owner will be refused"},
		{"owner_max_keep without owner keep", valid + "defaults:\n  owner_max_keep: 2d\n", 9,
			"owner_max_keep in defaults is 2d but owner_actions lacks keep: owners cannot keep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src) // a note never fails the parse
			if len(c.Notes) != 1 {
				t.Fatalf("want one note, got %v", c.Notes)
			}
			n := c.Notes[0]
			if n.Line != tt.line || !strings.Contains(n.Msg, tt.phrase) || n.Path != "leasebot.yml" {
				t.Errorf("note = %v\nwant line %d: …%s…", n, tt.line, tt.phrase)
			}
		})
	}
}

// Notes about values inherited from defaults are made once, not per channel,
// and sorted by line.
func TestNotesOnceAndSorted(t *testing.T) {
	src := valid + `  C0TWO: {users: [U0B], notebooks: [x]}
  C0THREE: {users: [U0B], notebooks: [x], max_extend: 10m}
defaults:
  max_extend: 30m
  actions: [extend]
  max_keep: 1d
  state_file: s.json
`
	c := mustParse(t, src)
	var lines []int
	for _, n := range c.Notes {
		lines = append(lines, n.Line)
	}
	// 9: C0THREE's max_extend; 11: max_extend in defaults; 13: max_keep
	// without keep (all three channels, one note); 14: state_file.
	if want := []int{9, 11, 13, 14}; !slices.Equal(lines, want) {
		t.Errorf("note lines = %v, want %v:\n%v", lines, want, Errors(c.Notes))
	}
}

func TestNotesLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(valid)
	for i := range maxErrors + 10 {
		fmt.Fprintf(&b, "  C%d: {users: [U0A], notebooks: [x], max_extend: 30m}\n", i)
	}
	c := mustParse(t, b.String())
	if len(c.Notes) != maxErrors+1 || !strings.Contains(c.Notes[maxErrors].Msg, "10 more notes not shown") {
		t.Errorf("%d notes, last %v", len(c.Notes), c.Notes[len(c.Notes)-1])
	}
}

func TestNewKeysSecretNeverEchoed(t *testing.T) {
	const secret = "Sup3rS3cretValue0xDEADbeefCAFE"
	srcs := map[string]string{
		"people value":         valid + "people:\n  alice: " + secret + "\n",
		"people key":           valid + "people:\n  " + secret + ": bob\n",
		"people secret key":    valid + "people:\n  password: hunter2-" + secret + "\n",
		"people secret plain":  valid + "people:\n  password: hunter2\n",
		"group id":             valid + "    groups: [" + secret + "]\n",
		"approver":             valid + "    approvers: {users: [" + secret + "]}\n",
		"store url":            valid + "store:\n  url: postgres://u:" + secret + "@db/x\n",
		"store path url":       valid + "store:\n  path: postgres://u:" + secret + "@db/x\n",
		"store scalar url":     valid + "store: postgres://u:" + secret + "@db/x\n",
		"store path other url": valid + "store:\n  path: https://u:" + secret + "@db/x\n",
		"action":               valid + "    actions: [" + secret + "]\n",
		"max_keep":             valid + "    max_keep: " + secret + "\n",
		"approval_ttl":         valid + "    approval_ttl: xoxb-" + secret + "\n",
		"history_days":         valid + "defaults:\n  history_days: " + secret + "\n",
		"start_duration":       valid + "defaults:\n  start_duration: " + secret + "\n",
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			es := parseErrs(t, src)
			s := es.Error()
			if strings.Contains(s, secret) || strings.Contains(strings.ToUpper(s), strings.ToUpper(secret[:12])) {
				t.Errorf("secret echoed:\n%s", s)
			}
			if strings.Contains(s, "hunter2") {
				t.Errorf("value under a secret-named key echoed:\n%s", s)
			}
		})
	}
}

// IAM user names are data, not config keys: one that sounds like a secret
// is accepted under people (and only there).
func TestPeopleKeysAreNotSecretNames(t *testing.T) {
	c := mustParse(t, valid+"people:\n  token-rotator: U0A\n  domain: U0B\n  password: U0C\n")
	if len(c.People) != 3 || c.People["password"] != "U0C" {
		t.Errorf("People = %v", c.People)
	}
}

func TestNewHintsAndSuggestions(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"actoins", "actions"}, {"max-keep", "max_keep"}, {"MaxKeep", "max_keep"}, {"approver", "approvers"},
		{"approval_tll", "approval_ttl"}, {"aproval_max", "approval_max"},
	} {
		if got := suggest(tt.in, channelKeys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"historydays", "history_days"}, {"notify_owners", "notify_owner"}, {"owner_action", "owner_actions"},
		{"start_durations", "start_duration"}, {"owner_max_keeps", "owner_max_keep"},
	} {
		if got := suggest(tt.in, defaultsKeys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every hint names its own key, so a message never points elsewhere.
	for _, hints := range []map[string]string{topHints, storeHints, defaultsHints, channelHints, approversHints} {
		for k, h := range hints {
			if h == "" || isSecretKey(k) {
				t.Errorf("hint %q: %q", k, h)
			}
		}
	}
}

// The work budget covers approvers and people: aliases that expand a long
// list many times over are cut short.
func TestNewKeysLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "    users: [U0A]\n    notebooks: [x]\n    approvers: {users: &many [")
	for range 4000 {
		b.WriteString("U0A, ")
	}
	b.WriteString("U0B]}\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  C%d: {users: [U0A], notebooks: [x], approvers: {users: *many}}\n", i)
	}
	es := parseErrs(t, b.String())
	if len(es) != 1 || !strings.Contains(es[0].Msg, "aliases expand too far") {
		t.Errorf("alias bomb in approvers: %d errors, first %v", len(es), es[0])
	}

	b.Reset()
	b.WriteString(valid + "people: &p\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "  iam%d: U0A\n", i)
	}
	b.WriteString("defaults: {x: *p, y: *p}\n")
	c, err := ParseWith([]byte(b.String()), "leasebot.yml", slack)
	if err == nil || c != nil || !strings.Contains(err.Error(), `unknown key "x" in defaults`) {
		t.Errorf("people aliased into defaults: %v", err)
	}
}

func TestDescribeNewSettings(t *testing.T) {
	src := `modelarts:
  endpoint: https://modelarts.example.com
  project_id: 0123456789abcdef0123456789abcdef
admins: [U0ADMIN]
people:
  bob: U0BOB
  alice: U0ALICE
  9f8e7d6c5b4a39281706f5e4d3c2b1a0: U0ALICE
store:
  path: /data/leasebot.db
defaults:
  state_file: state.json
  history_days: 30
  notify_owner: true
  owner_actions: [extend, keep, stop]
  owner_max_keep: 3d
  start_duration: 2h
  max_keep: 7d
  approval_ttl: 2h
channels:
  C0A:
    users: [U0ALICE]
    notebooks: ["*"]
    max_extend: 4h
    approvers:
      users: [U0CAROL]
      groups: [S0LEADS]
    approval_max: 24h
  C0B:
    groups: [S0OPS]
    notebooks: ["*"]
    actions: []
    max_keep: 0
    warn: false
`
	got := mustParse(t, src).Describe()
	want := `config leasebot.yml
modelarts:
  endpoint:      https://modelarts.example.com
  project_id:    0123456789abcdef0123456789abcdef
  iam_endpoint:  (none: AK/SK auth only)
  list_all:      false (watching the credentials' own notebooks)
admins:          U0ADMIN
store:
  path:          /data/leasebot.db (SQLite; LEASEBOT_DATABASE_URL, when set, overrides it with PostgreSQL)
defaults:
  max_extend:    8h
  warn_before:   30m, 10m
  extend_buttons: +1h, +4h, Let it stop
  poll_interval: 1m
  state_file:    state.json (deprecated: imported into the store once, then renamed state.json.imported)
  history_days:  30
  start_duration: 2h (a start without a duration; at most a channel's max_extend)
  actions:       extend, keep
  max_keep:      7d (a keep may end at most this far ahead)
  approval_max:  72h
  approval_ttl:  2h
owners (their own notebooks, from a direct message or the app's home):
  notify_owner:  true (warnings also go to the owner by direct message)
  max_extend:    8h
  actions:       extend, keep, stop
  max_keep:      3d (a keep may end at most this far ahead)
people: 3 (IAM user name or ID -> user)
  9f8e7d6c5b4a39281706f5e4d3c2b1a0 -> U0ALICE
  alice -> U0ALICE
  bob -> U0BOB
channels: 2 (every other channel and every direct message is refused)

channel C0A (line 21)
  users:         U0ALICE
  groups:        (none)
  admins:        U0ADMIN
  notebooks:     * (every notebook)
  actions:       extend, keep (admins may do all)
  max_extend:    4h
  max_keep:      7d (a keep may end at most this far ahead)
  approvers:     users U0CAROL; groups S0LEADS (and admins)
  approval_max:  24h (extensions over 4h and up to 24h may be asked for)
  approval_ttl:  2h (an undecided request expires then)
  warn:          on, 30m, 10m before the stop time
  buttons:       +1h, +4h, Let it stop

channel C0B (line 29)
  users:         (none)
  groups:        S0OPS
  admins:        U0ADMIN
  notebooks:     * (every notebook)
  actions:       none: members may only read (admins may do all)
  max_extend:    8h
  max_keep:      0 (keep off)
  approvals:     none (an extension over max_extend is refused)
  warn:          off

notes: 1
  leasebot.yml:12: state_file is deprecated: its warnings are imported into the store once and the file is renamed "state.json.imported"; remove the key
`
	if got != want {
		t.Errorf("Describe() =\n%s\nwant\n%s", got, want)
	}
}
