package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackid"
)

// slack reads configs with Slack's ID rules, as the bot does.
var slack = Options{IDs: slackid.Rules{}}

// head is a valid config up to the first channel's body; the channel key
// C0ML is on line 5, so a channel body starts on line 6.
const head = `modelarts:
  endpoint: https://modelarts.example.com
  project_id: 0123456789abcdef0123456789abcdef
channels:
  C0ML:
`

// valid is head plus a minimal channel body (lines 6-7).
const valid = head + `    users: [U0ALICE]
    notebooks: ["*"]
`

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := ParseWith([]byte(src), "leasebot.yml", slack)
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	if c == nil {
		t.Fatal("Parse: nil config without error")
	}
	return c
}

func parseErrs(t *testing.T, src string) Errors {
	t.Helper()
	c, err := ParseWith([]byte(src), "leasebot.yml", slack)
	if err == nil {
		t.Fatalf("Parse: no error for\n%s", src)
	}
	if c != nil {
		t.Errorf("Parse: config returned with an error")
	}
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("Parse: error is %T %v, want non-empty Errors", err, err)
	}
	return es
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		line   int
		phrase string
		only   bool // the problem must be the only one
	}{
		// Unknown keys, with suggestions and hints.
		{"unknown channel key", valid + "    usrs: [U0BOB]\n", 8, `unknown key "usrs" in channel C0ML (did you mean "users"?)`, true},
		{"unknown top key", "chanels: {}\n" + valid, 1, `unknown key "chanels" at the top level (did you mean "channels"?)`, true},
		{"unknown modelarts key", strings.Replace(valid, "  project_id:", "  projectid: x\n  project_id:", 1), 3, `unknown key "projectid" in modelarts (did you mean "project_id"?)`, true},
		{"unknown defaults key", valid + "defaults:\n  max-extend: 2h\n", 9, `unknown key "max-extend" in defaults (did you mean "max_extend"?)`, true},
		{"unknown key, case", valid + "    Notebooks: [x]\n", 8, `(did you mean "notebooks"?)`, true},
		{"unknown key, transposed", valid + "    wran: true\n", 8, `(did you mean "warn"?)`, true},
		{"unknown key, far", valid + "    colour: blue\n", 8, `unknown key "colour" in channel C0ML; known keys: users, groups, notebooks`, true},
		{"misplaced at top", "max_extend: 2h\n" + valid, 1, "max_extend belongs under defaults", true},
		{"misplaced in channel", valid + "    admins: [U0X]\n", 8, "admins is a top-level list", true},
		{"misplaced in defaults", valid + "defaults:\n  warn: false\n", 9, "warn is set per channel", true},
		{"merge key", valid + "    <<: {warn: false}\n", 8, "merge keys (<<) are not supported", true},

		// Wrong YAML types.
		{"users string", head + "    users: U0ALICE\n    notebooks: [\"*\"]\n", 6, "users in channel C0ML must be a list of user IDs, e.g. [U0ALICE, U0BOB]; got a string", true},
		{"notebooks mapping", head + "    users: [U0A]\n    notebooks: {a: b}\n", 7, "notebooks in channel C0ML must be a list of notebook selectors", true},
		{"admins string", "admins: U0ADMIN\n" + valid, 1, "admins at the top level must be a list of user IDs", true},
		{"list entry mapping", head + "    users: [U0A, {x: y}]\n    notebooks: [\"*\"]\n", 6, "each entry must be one of user IDs; got a mapping", true},
		{"warn yes", valid + "    warn: yes\n", 8, `warn in channel C0ML must be true or false; got "yes"`, true},
		{"list_all number", strings.Replace(valid, "channels:", "  list_all: 1\nchannels:", 1), 4, "list_all in modelarts must be true or false", true},
		{"defaults list", valid + "defaults: [8h]\n", 8, "defaults must be a mapping; got a list", true},
		{"channels list", strings.Replace(head, "  C0ML:\n", "  - C0ML\n", 1), 5, "channels must be a mapping; got a list", true},
		{"channel body string", head[:len(head)-1] + " everyone\n", 5, "channel C0ML must be a mapping; got a string", true},
		{"max_extend list", valid + "    max_extend: [2h]\n", 8, "max_extend in channel C0ML must be a duration such as 8h; got a list", true},
		{"max_extend null", valid + "    max_extend:\n", 8, "max_extend in channel C0ML has no value", true},

		// Durations.
		{"bad unit", valid + "    max_extend: 4x\n", 8, `max_extend in channel C0ML: "4x" is not a duration: unknown unit "x"`, true},
		{"bare number", valid + "    max_extend: 2\n", 8, `"2" is not a duration: add a unit`, true},
		{"zero", valid + "defaults:\n  max_extend: 0h\n", 9, "it must be longer than zero", true},
		{"max_extend over 72h", valid + "defaults:\n  max_extend: 73h\n", 9, "max_extend in defaults: 73h is longer than 72h", true},
		{"max_extend 4d", valid + "    max_extend: 4d\n", 8, "96h is longer than 72h", true},
		{"warn_before entry", valid + "    warn_before:\n      - 30m\n      - 1x\n", 10, `warn_before in channel C0ML: "1x" is not a duration`, true},
		{"warn_before over 72h", valid + "defaults:\n  warn_before: [30m, 80h]\n", 9, "warn_before in defaults: 80h is longer than 72h", true},
		{"warn_before empty", valid + "    warn_before: []\n", 8, "warn_before in channel C0ML is empty", true},
		{"extend_buttons over 72h", valid + "defaults:\n  max_extend: 72h\n  extend_buttons:\n    - 1h\n    - 73h\n", 12, "extend_buttons in defaults: 73h is longer than 72h", true},
		{"extend_buttons too many", valid + "    extend_buttons: [1h, 2h, 3h, 4h, 5h]\n", 8, "extend_buttons in channel C0ML has 5 entries; at most 4", true},
		{"poll_interval short", valid + "defaults:\n  poll_interval: 0.5s\n", 9, "poll_interval in defaults is 500ms; the shortest allowed is 1s", true},
		{"poll_interval bad", valid + "defaults:\n  poll_interval: soon\n", 9, `"soon" is not a duration`, true},
		{"button over channel max", valid + "    max_extend: 2h\n    extend_buttons: [1h, 3h]\n", 9, "extend button 3h in channel C0ML is longer than its max_extend 2h", true},
		{"default button line", valid + "defaults:\n  extend_buttons:\n    - 1h\n    - 9h\n", 11, "extend button 9h in defaults is longer than max_extend 8h", true},

		// Channel IDs.
		{"channel name", strings.Replace(valid, "C0ML:", "general:", 1), 5, `"general" under channels is not a Slack channel ID`, true},
		{"channel hash name", strings.Replace(valid, "C0ML:", "'#ml':", 1), 5, "not its name", true},
		{"channel lower case", strings.Replace(valid, "C0ML:", "c0ml:", 1), 5, `Slack IDs are upper case; write "C0ML"`, true},
		{"channel is user", strings.Replace(valid, "C0ML:", "U0ML:", 1), 5, `"U0ML" under channels is a user ID, not a channel ID`, true},
		{"channel is DM", strings.Replace(valid, "C0ML:", "D0ML:", 1), 5, "leasebot refuses direct messages", true},
		{"private channel ok", strings.Replace(valid, "C0ML:", "G0ML:", 1) + "  C0X: {users: [U0A], notebooks: [x], warn: lots}\n", 8, "warn in channel C0X must be true or false", true},
		{"channel key too short", strings.Replace(valid, "C0ML:", "C:", 1), 5, "too short", true},

		// User and group IDs.
		{"user name", head + "    users: [U0A, alice]\n    notebooks: [\"*\"]\n", 6, `users in channel C0ML: "alice" is not a Slack user ID (U… or W…`, true},
		{"user at-name", head + "    users: ['@alice']\n    notebooks: [\"*\"]\n", 6, `"@alice" is not a Slack user ID`, false},
		{"user is group", head + "    users: [S0DATA]\n    notebooks: [\"*\"]\n", 6, `"S0DATA" is a user-group ID, not a user ID: put it under groups`, true},
		{"user lower case", head + "    users: [u0bob]\n    notebooks: [\"*\"]\n", 6, `write "U0BOB"`, true},
		{"user empty string", head + "    users: ['']\n    notebooks: [\"*\"]\n", 6, "is empty: write a Slack user ID", true},
		{"enterprise user ok", head + "    users: [W0BOB]\n    groups: [W0X]\n    notebooks: [\"*\"]\n", 7, `groups in channel C0ML: "W0X" is a user ID, not a user-group ID: put it under users`, true},
		{"group bad", head + "    groups: [datasci]\n    notebooks: [\"*\"]\n", 6, `"datasci" is not a Slack user-group ID (S…`, true},
		{"admin bad", "admins: [U0ADMIN, boss]\n" + valid, 1, `admins at the top level: "boss" is not a Slack user ID`, true},
		{"admin is channel", "admins: [C0ADMIN]\n" + valid, 1, `"C0ADMIN" is a channel ID, not a user ID`, true},

		// Empty ACL and notebooks.
		{"empty ACL", head + "    notebooks: [\"*\"]\n", 5, "channel C0ML has an empty ACL", true},
		{"empty ACL lists", head + "    users: []\n    groups: []\n    notebooks: [\"*\"]\n", 5, "channel C0ML has an empty ACL", true},
		{"empty ACL with admins", "admins: [U0ADMIN]\n" + head + "    notebooks: [\"*\"]\n", 6, "has an empty ACL", true},
		{"groups only ok, no notebooks", head + "    groups: [S0X]\n", 5, "channel C0ML has no notebooks selectors", true},
		{"notebooks empty list", head + "    users: [U0A]\n    notebooks: []\n", 5, "has no notebooks selectors", true},
		{"channel null", head + "  C0X: {users: [U0A], notebooks: [x]}\n", 5, "channel C0ML is empty", true},

		// Selectors.
		{"empty selector", head + "    users: [U0A]\n    notebooks: [\"*\", \"\"]\n", 7, "an empty selector matches nothing", true},
		{"bad glob", head + "    users: [U0A]\n    notebooks: [\"team-[a\"]\n", 7, `"team-[a" is not a valid name glob`, true},
		{"bad glob escape", head + "    users: [U0A]\n    notebooks: ['x\\']\n", 7, "is not a valid name glob", true},
		{"tag without value", head + "    users: [U0A]\n    notebooks: [\"tag:team\"]\n", 7, `"tag:team": a tag selector needs key=value`, true},
		{"tag empty key", head + "    users: [U0A]\n    notebooks: [\"tag:=ml\"]\n", 7, "a tag selector needs key=value", true},
		{"tag upper case", head + "    users: [U0A]\n    notebooks: [\"Tag:team=ml\"]\n", 7, "write the tag: prefix in lower case", true},
		{"selector spaces", head + "    users: [U0A]\n    notebooks: [\" nb1\"]\n", 7, "has spaces around it", true},

		// ModelArts section.
		{"missing modelarts", "channels:\n  C0ML: {users: [U0A], notebooks: [x]}\n", 1, "missing modelarts section: endpoint and project_id are required", true},
		{"modelarts null", "modelarts:\nchannels:\n  C0ML: {users: [U0A], notebooks: [x]}\n", 1, "modelarts is empty: endpoint and project_id are required", true},
		{"missing endpoint", strings.Replace(valid, "  endpoint: https://modelarts.example.com\n", "", 1), 1, "endpoint is missing in modelarts", true},
		{"missing project_id", strings.Replace(valid, "  project_id: 0123456789abcdef0123456789abcdef\n", "", 1), 1, "project_id is missing in modelarts", true},
		{"http endpoint", strings.Replace(valid, "https://modelarts.example.com", "http://modelarts.example.com", 1), 2, "endpoint in modelarts must use https://", true},
		{"no scheme", strings.Replace(valid, "https://modelarts.example.com", "modelarts.example.com", 1), 2, "endpoint in modelarts must start with https://", true},
		{"ftp", strings.Replace(valid, "https://modelarts.example.com", "ftp://modelarts.example.com", 1), 2, "must start with https://", true},
		{"no host", strings.Replace(valid, "https://modelarts.example.com", "https:///v1", 1), 2, "has no host name", true},
		{"query", strings.Replace(valid, "https://modelarts.example.com", "https://modelarts.example.com/?a=b", 1), 2, "must not have a query", true},
		{"empty endpoint", strings.Replace(valid, "https://modelarts.example.com", `""`, 1), 2, "endpoint in modelarts is empty", true},
		{"iam http", strings.Replace(valid, "channels:", "  iam_endpoint: http://iam.example.com\nchannels:", 1), 4, "iam_endpoint in modelarts must use https://", true},
		{"endpoint with a path", strings.Replace(valid, "https://modelarts.example.com", "https://modelarts.example.com/v1/0123456789abcdef0123456789abcdef", 1), 2,
			`endpoint in modelarts must have no path (got "/v1/0123456789abcdef0123456789abcdef"): write the address alone, like https://modelarts.eu-de.otc.t-systems.com; leasebot adds /v1/{project_id}/notebooks itself`, true},
		{"endpoint with /v1", strings.Replace(valid, "https://modelarts.example.com", "https://modelarts.example.com/v1/", 1), 2, `must have no path (got "/v1/")`, true},
		{"iam endpoint with a path", strings.Replace(valid, "channels:", "  iam_endpoint: https://iam.example.com/v3/auth/tokens\nchannels:", 1), 4,
			`iam_endpoint in modelarts must have no path but /v3 (got "/v3/auth/tokens"): write the address alone, like https://iam.eu-de.otc.t-systems.com; leasebot adds /v3/auth/tokens itself`, true},
		{"iam endpoint with another path", strings.Replace(valid, "channels:", "  iam_endpoint: https://iam.example.com/iam\nchannels:", 1), 4, `must have no path but /v3 (got "/iam")`, true},
		{"project upper", strings.Replace(valid, "0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789ABCDEF", 1), 3, `project_id in modelarts must be in lower case: write "0123456789abcdef0123456789abcdef"`, true},
		{"project short", strings.Replace(valid, "0123456789abcdef0123456789abcdef", "0123456789abcdef", 1), 3, "must be 32 hexadecimal characters (digits and lower-case a-f); it has 16", true},
		{"project not hex", strings.Replace(valid, "0123456789abcdef0123456789abcdef", "my-project", 1), 3, `must be 32 hexadecimal characters (digits and lower-case a-f), as listed under My Credentials > Projects; "my-project" is not`, true},
		{"project number", strings.Replace(valid, "0123456789abcdef0123456789abcdef", "12345", 1), 3, "it has 5", true},

		// Duplicates.
		{"duplicate channel key", valid + "    users: [U0BOB]\n", 8, `duplicate key "users" in channel C0ML (first on line 6)`, true},
		{"duplicate channel", valid + "  C0ML: {users: [U0A], notebooks: [x]}\n", 8, `duplicate key "C0ML" under channels (first on line 5)`, true},
		{"duplicate top", valid + "admins: []\nadmins: [U0A]\n", 9, `duplicate key "admins" at the top level (first on line 8)`, true},
		{"duplicate modelarts key", strings.Replace(valid, "channels:", "  endpoint: https://b.example.com\nchannels:", 1), 4, `duplicate key "endpoint" in modelarts (first on line 2)`, true},

		// Empty files and no channels.
		{"empty file", "", 1, "no channels configured: leasebot denies everything", true},
		{"comments only", "# nothing here\n", 1, "no channels configured: leasebot denies everything", true},
		{"no channels key", "modelarts:\n  endpoint: https://m.example.com\n  project_id: 0123456789abcdef0123456789abcdef\n", 1, "no channels configured: leasebot denies everything", true},
		{"channels empty map", "modelarts:\n  endpoint: https://m.example.com\n  project_id: 0123456789abcdef0123456789abcdef\nchannels: {}\n", 4, "no channels configured", true},
		{"channels null", "modelarts:\n  endpoint: https://m.example.com\n  project_id: 0123456789abcdef0123456789abcdef\nchannels:\n", 4, "no channels configured", true},
		{"channels only secret", "modelarts:\n  endpoint: https://m.example.com\n  project_id: 0123456789abcdef0123456789abcdef\nchannels:\n  token: x\n", 5, "names a secret", true},
		{"not a mapping", "- a\n- b\n", 1, "the file must be a mapping", true},

		// Secrets: the value is never repeated.
		{"secret ak", strings.Replace(valid, "channels:", "  ak: AKIAEXAMPLE\nchannels:", 1), 4, `key "ak" in modelarts names a secret: secrets come only from the environment`, true},
		{"secret token top", "token: xoxb-1\n" + valid, 1, "SLACK_BOT_TOKEN", true},
		{"secret password", strings.Replace(valid, "channels:", "  password: hunter2\nchannels:", 1), 4, "MODELARTS_USERNAME/MODELARTS_PASSWORD/MODELARTS_DOMAIN", true},
		{"secret in channel", valid + "    bot_token: xoxb-1\n", 8, `key "bot_token" in channel C0ML names a secret`, true},
		{"secret in defaults", valid + "defaults:\n  app_token: xapp-1\n", 9, `key "app_token" in defaults names a secret`, true},
		{"secret under channels", valid + "  slack_token: xoxb-1\n", 8, `key "slack_token" under channels names a secret`, true},
		{"endpoint with password", strings.Replace(valid, "https://modelarts.example.com", "https://bob:hunter2@modelarts.example.com", 1), 2, "must not contain a user name or password", true},

		// YAML itself.
		{"syntax error", valid + "    warn: [true\n", 8, "not valid YAML", true},
		{"tab indent", "modelarts:\n\tendpoint: x\n", 2, "not valid YAML", true},
		{"unknown anchor", valid + "admins: *nobody\n", 8, "unknown anchor 'nobody' referenced", true},
		{"two documents", valid + "---\nadmins: []\n", 8, "only one YAML document is allowed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := parseErrs(t, tt.src)
			found := false
			for _, e := range es {
				if e.Line == tt.line && strings.Contains(e.Msg, tt.phrase) {
					found = true
				}
				if e.Path != "leasebot.yml" {
					t.Errorf("Path = %q", e.Path)
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

func TestErrorFormat(t *testing.T) {
	es := parseErrs(t, valid+"    usrs: [U0BOB]\n")
	want := `leasebot.yml:8: unknown key "usrs" in channel C0ML (did you mean "users"?)`
	if got := es.Error(); got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
	if got := (Error{Path: "x.yml", Msg: "m"}).Error(); got != "x.yml: m" {
		t.Errorf("line-less Error() = %q", got)
	}
}

func TestManyErrorsTogether(t *testing.T) {
	src := `modelarts:
  endpoint: http://modelarts.example.com
  project_id: nope
admins: [boss]
defaults:
  max_extend: 100h
  warn_before: [30m, 1x]
channels:
  general:
    users: [U0A]
    notebooks: ["*"]
  C0ML:
    usrs: [U0ALICE]
    notebooks: ["tag:x"]
    sk: do-not-print-me
`
	es := parseErrs(t, src)
	want := []struct {
		line   int
		phrase string
	}{
		{2, "must use https://"},
		{3, "project_id in modelarts must be 32 hexadecimal characters"},
		{4, `"boss" is not a Slack user ID`},
		{6, "100h is longer than 72h"},
		{7, `"1x" is not a duration`},
		{9, `"general" under channels is not a Slack channel ID`},
		{12, "channel C0ML has an empty ACL"},
		{13, `unknown key "usrs" in channel C0ML (did you mean "users"?)`},
		{14, "a tag selector needs key=value"},
		{15, `key "sk" in channel C0ML names a secret`},
	}
	if len(es) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i, w := range want {
		if i >= len(es) {
			break
		}
		if es[i].Line != w.line || !strings.Contains(es[i].Msg, w.phrase) {
			t.Errorf("error %d = %v; want line %d: …%s…", i, es[i], w.line, w.phrase)
		}
	}
	lines := strings.Split(es.Error(), "\n")
	if len(lines) != len(es) {
		t.Errorf("Error() has %d lines for %d errors", len(lines), len(es))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "leasebot.yml:") {
			t.Errorf("line %q lacks the file:line prefix", l)
		}
	}
	if strings.Contains(es.Error(), "do-not-print-me") {
		t.Error("secret value echoed")
	}
}

func TestSecretNeverEchoed(t *testing.T) {
	const secret = "Sup3rS3cretValue0xDEADbeefCAFE"
	srcs := map[string]string{
		"sk":                  strings.Replace(valid, "channels:", "  sk: "+secret+"\nchannels:", 1),
		"password":            strings.Replace(valid, "channels:", "  password: "+secret+"\nchannels:", 1),
		"token top":           "token: " + secret + "\n" + valid,
		"app_token":           "app_token: " + secret + "\n" + valid,
		"bot_token channel":   valid + "    bot_token: " + secret + "\n",
		"MODELARTS_SK":        valid + "defaults:\n  MODELARTS_SK: " + secret + "\n",
		"secret list":         valid + "    secret_key: [" + secret + "]\n",
		"secret dup":          "ak: " + secret + "\nak: " + secret + "\n" + valid,
		"endpoint userinfo":   strings.Replace(valid, "https://modelarts.example.com", "https://user:"+secret+"@modelarts.example.com", 1),
		"endpoint query":      strings.Replace(valid, "https://modelarts.example.com", "https://modelarts.example.com/?token="+secret, 1),
		"endpoint bad url":    strings.Replace(valid, "https://modelarts.example.com", "'https://u:"+secret+"@[::1'", 1),
		"token as user":       head + "    users: [xoxb-12345-" + secret + "]\n    notebooks: [\"*\"]\n",
		"token as channel":    valid + "  xoxb-" + secret + ": {users: [U0A], notebooks: [x]}\n",
		"token as duration":   valid + "    max_extend: xoxp-" + secret + "\n",
		"secret as project":   strings.Replace(valid, "0123456789abcdef0123456789abcdef", secret, 1),
		"secret as selector":  head + "    users: [U0A]\n    notebooks: [\"" + secret + "[\"]\n",
		"secret as unknown":   valid + "    " + secret + ": 1\n",
		"secret as warn":      valid + "    warn: " + secret + "\n",
		"secret as state":     valid + "defaults:\n  state_file: [" + secret + "]\n",
		"secret in yaml text": "modelarts: {endpoint: " + secret + ", [\n",
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			es := parseErrs(t, src)
			if s := es.Error(); strings.Contains(s, secret) || strings.Contains(s, secret[:12]) {
				t.Errorf("secret echoed:\n%s", s)
			}
		})
	}
	// The secret-key message names the environment variables.
	es := parseErrs(t, srcs["sk"])
	for _, v := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "MODELARTS_AK/MODELARTS_SK", "MODELARTS_USERNAME/MODELARTS_PASSWORD/MODELARTS_DOMAIN", "environment"} {
		if !strings.Contains(es.Error(), v) {
			t.Errorf("secret message lacks %s: %v", v, es)
		}
	}
}

func TestSecretKeyNames(t *testing.T) {
	for _, k := range []string{"ak", "sk", "AK", "password", "token", "app_token", "bot_token", "slack-bot-token", "access_key", "secret_key",
		"security_token", "modelarts_password", "MODELARTS_SK", "username", "domain", "api_key", "signing_secret", "credentials"} {
		if !isSecretKey(k) {
			t.Errorf("isSecretKey(%q) = false", k)
		}
	}
	for _, k := range append(append(append(append(append(slices.Clone(topKeys), modelArtsKeys...), storeKeys...), defaultsKeys...), channelKeys...), approversKeys...) {
		if isSecretKey(k) {
			t.Errorf("isSecretKey(%q) = true for a known key", k)
		}
	}
	for _, k := range []string{"user", "usrs", "tags", "warn_at"} {
		if isSecretKey(k) {
			t.Errorf("isSecretKey(%q) = true", k)
		}
	}
}

func TestDefaultsApplied(t *testing.T) {
	c := mustParse(t, valid)
	d := c.Defaults
	if d.MaxExtend != 8*time.Hour || d.PollInterval != 60*time.Second || d.StateFile != "" {
		t.Errorf("defaults = %+v", d)
	}
	if !slices.Equal(d.WarnBefore, []time.Duration{30 * time.Minute, 10 * time.Minute}) {
		t.Errorf("WarnBefore = %v", d.WarnBefore)
	}
	if !slices.Equal(d.ExtendButtons, []time.Duration{time.Hour, 4 * time.Hour}) {
		t.Errorf("ExtendButtons = %v", d.ExtendButtons)
	}
	if c.ModelArts.ListAll || c.ModelArts.IAMEndpoint != "" || len(c.Admins) != 0 {
		t.Errorf("ModelArts = %+v, Admins = %v", c.ModelArts, c.Admins)
	}
	ch, ok := c.Channels["C0ML"]
	if !ok {
		t.Fatal("Channels[C0ML] missing")
	}
	if !ch.Warn || ch.MaxExtend != d.MaxExtend || !slices.Equal(ch.WarnBefore, d.WarnBefore) || !slices.Equal(ch.ExtendButtons, d.ExtendButtons) {
		t.Errorf("channel = %+v", ch)
	}
	if ch.ID != "C0ML" || ch.Line != 5 || !slices.Equal(ch.Users, []string{"U0ALICE"}) || ch.Groups != nil || !slices.Equal(ch.Notebooks, []string{"*"}) {
		t.Errorf("channel = %+v", ch)
	}
	// The channel's slices are its own.
	ch.WarnBefore[0] = time.Second
	ch.ExtendButtons[0] = time.Second
	if c.Defaults.WarnBefore[0] != 30*time.Minute || c.Defaults.ExtendButtons[0] != time.Hour {
		t.Error("channel slices alias the defaults")
	}
	if _, ok := c.Channels["C0OTHER"]; ok {
		t.Error("Channels[C0OTHER] found")
	}
	if c.Path != "leasebot.yml" {
		t.Errorf("Path = %q", c.Path)
	}
}

func TestOverrides(t *testing.T) {
	src := `modelarts:
  endpoint: http://127.0.0.1:8080/
  project_id: "0123456789abcdef0123456789abcdef"
  iam_endpoint: http://localhost:9000
  list_all: true
admins: [U0ADMIN, W0ADMIN, U0ADMIN]
defaults:
  max_extend: PT12H
  warn_before: [1h]
  extend_buttons: [2h, 90m]
  poll_interval: 30s
  state_file: state.json
channels:
  C0ML:
    users: [U0ALICE, U0ALICE]
    groups: [S0DATASCI]
    notebooks: ["*", "team-a-*", "tag:team=ml", "tag:empty=", 2ed6c5b4-8a7d-4c3e-9f1a-0b2c3d4e5f60]
    max_extend: 4h
    warn_before: [10m, 1d, 10m, 1.5h]
    extend_buttons: [30m, 1h30m]
    warn: false
  G0OTHER:
    groups: [S0OPS]
    notebooks: [nb]
`
	c := mustParse(t, src)
	if c.ModelArts.Endpoint != "http://127.0.0.1:8080" || c.ModelArts.IAMEndpoint != "http://localhost:9000" || !c.ModelArts.ListAll {
		t.Errorf("ModelArts = %+v", c.ModelArts)
	}
	if !slices.Equal(c.Admins, []string{"U0ADMIN", "W0ADMIN"}) {
		t.Errorf("Admins = %v", c.Admins)
	}
	d := c.Defaults
	if d.MaxExtend != 12*time.Hour || d.PollInterval != 30*time.Second || d.StateFile != "state.json" ||
		!slices.Equal(d.WarnBefore, []time.Duration{time.Hour}) ||
		!slices.Equal(d.ExtendButtons, []time.Duration{2 * time.Hour, 90 * time.Minute}) {
		t.Errorf("Defaults = %+v", d)
	}
	ml := c.Channels["C0ML"]
	if ml.MaxExtend != 4*time.Hour || ml.Warn {
		t.Errorf("C0ML = %+v", ml)
	}
	if want := []time.Duration{24 * time.Hour, 90 * time.Minute, 10 * time.Minute}; !slices.Equal(ml.WarnBefore, want) {
		t.Errorf("C0ML.WarnBefore = %v, want %v (sorted descending, deduplicated)", ml.WarnBefore, want)
	}
	if want := []time.Duration{30 * time.Minute, 90 * time.Minute}; !slices.Equal(ml.ExtendButtons, want) {
		t.Errorf("C0ML.ExtendButtons = %v, want %v", ml.ExtendButtons, want)
	}
	if !slices.Equal(ml.Users, []string{"U0ALICE"}) || !slices.Equal(ml.Groups, []string{"S0DATASCI"}) || len(ml.Notebooks) != 5 {
		t.Errorf("C0ML = %+v", ml)
	}
	other := c.Channels["G0OTHER"]
	if other.MaxExtend != 12*time.Hour || !other.Warn || !slices.Equal(other.WarnBefore, d.WarnBefore) ||
		!slices.Equal(other.ExtendButtons, d.ExtendButtons) || other.Line != 22 || other.Users != nil {
		t.Errorf("G0OTHER = %+v", other)
	}
}

func TestButtonsIgnoredWithoutWarnings(t *testing.T) {
	c := mustParse(t, valid+"    max_extend: 2h\n    warn: false\n")
	if ch := c.Channels["C0ML"]; ch.MaxExtend != 2*time.Hour || ch.Warn {
		t.Errorf("C0ML = %+v", ch)
	}
}

func TestWarnBeforeOrder(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []time.Duration
	}{
		{"[10m, 30m]", []time.Duration{30 * time.Minute, 10 * time.Minute}},
		{"[5m, 1h, 5m, 300s, 2h]", []time.Duration{2 * time.Hour, time.Hour, 5 * time.Minute}},
		{"[PT1H, 60m, 1h]", []time.Duration{time.Hour}},
		{"[72h, 1s]", []time.Duration{72 * time.Hour, time.Second}},
	} {
		c := mustParse(t, valid+"defaults:\n  warn_before: "+tt.in+"\n")
		if !slices.Equal(c.Defaults.WarnBefore, tt.want) || !slices.Equal(c.Channels["C0ML"].WarnBefore, tt.want) {
			t.Errorf("warn_before %s = %v / %v, want %v", tt.in, c.Defaults.WarnBefore, c.Channels["C0ML"].WarnBefore, tt.want)
		}
	}
}

func TestLoopbackEndpoints(t *testing.T) {
	for _, ep := range []string{"http://127.0.0.1", "http://127.0.0.1:8443/", "http://localhost:1", "http://LOCALHOST", "http://[::1]:9000", "https://modelarts.example.com:443/", "HTTPS://modelarts.example.com"} {
		c := mustParse(t, strings.Replace(valid, "https://modelarts.example.com", ep, 1))
		if strings.HasSuffix(c.ModelArts.Endpoint, "/") {
			t.Errorf("%s: trailing slash kept: %q", ep, c.ModelArts.Endpoint)
		}
	}
	// A path is refused on loopback hosts too: leasebot adds the whole path.
	for _, ep := range []string{"http://10.0.0.1", "http://localhost.example.com", "http://[::2]", "http://127.0.0.1:8443/base"} {
		parseErrs(t, strings.Replace(valid, "https://modelarts.example.com", ep, 1))
	}
}

func TestAliases(t *testing.T) {
	src := valid + `  C0TWO:
    users: &team [U0A, U0B]
    notebooks: &nbs ["team-*"]
  C0THREE:
    users: *team
    notebooks: *nbs
`
	c := mustParse(t, src)
	if !slices.Equal(c.Channels["C0THREE"].Users, []string{"U0A", "U0B"}) || !slices.Equal(c.Channels["C0THREE"].Notebooks, []string{"team-*"}) {
		t.Errorf("C0THREE = %+v", c.Channels["C0THREE"])
	}
}

// A value that is wrong where an alias uses it is reported at the alias,
// not at the anchor, where it may be right; what an aliased list holds is
// reported where it is written.
func TestAliasLines(t *testing.T) {
	src := valid + `    approval_ttl: &long 5d
  C0TWO:
    users: &team [U0A, bob]
    notebooks: ["*"]
    max_extend: *long
    max_keep: *long
  C0THREE:
    users: *team
    notebooks: ["*"]
    warn_before: [*long]
    max_extend: *team
`
	es := parseErrs(t, src)
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%d: %s", e.Line, e.Msg))
	}
	for _, want := range []string{
		"12: max_extend in channel C0TWO: 120h is longer than 72h",
		"17: warn_before in channel C0THREE: 120h is longer than 72h",
		"18: max_extend in channel C0THREE must be a duration such as 8h; got a list",
		`10: users in channel C0TWO: "bob"`,
	} {
		line, msg, _ := strings.Cut(want, ": ")
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, line+": ") && strings.Contains(g, msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, g := range got {
		if strings.HasPrefix(g, "8: ") {
			t.Errorf("a problem reported at the anchor, where the value is fine: %s", g)
		}
	}
}

func TestExample(t *testing.T) {
	c, err := LoadWith(filepath.Join("testdata", "example.yml"), slack)
	if err != nil {
		t.Fatalf("example.yml: %v", err)
	}
	if len(c.Channels) != 3 || c.Defaults.StateFile == "" || c.ModelArts.IAMEndpoint == "" || len(c.Admins) != 1 {
		t.Errorf("example config = %+v", c)
	}
	ml := c.Channels["C0ML"]
	if ml.MaxExtend != 4*time.Hour || len(ml.Groups) != 1 || !slices.Equal(ml.WarnBefore, []time.Duration{time.Hour, 15 * time.Minute}) {
		t.Errorf("C0ML = %+v", ml)
	}
	if c.Channels["C0OPS"].Warn {
		t.Error("C0OPS warn should be false")
	}
	if !slices.Equal(ml.Actions, Actions()) || ml.MaxKeep != 7*24*time.Hour || ml.Approvers.Empty() || ml.ApprovalMax != 24*time.Hour {
		t.Errorf("C0ML = %+v", ml)
	}
	if len(c.People) == 0 || c.Store.Path == DefaultStorePath || c.Defaults.HistoryDays != DefaultHistoryDays {
		t.Errorf("example config = %+v", c)
	}
	// The only note is the deprecated state_file, kept in the example to document it.
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0].Msg, "state_file is deprecated") {
		t.Errorf("example notes = %v", c.Notes)
	}
	// Every documented key appears in the example.
	data, err := fs.ReadFile(osDirFS("testdata"), "example.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range append(append(append(append(append(slices.Clone(topKeys), modelArtsKeys...), storeKeys...), defaultsKeys...), channelKeys...), approversKeys...) {
		if !strings.Contains(string(data), "\n  "+k+":") && !strings.Contains(string(data), "\n      "+k+":") && !strings.Contains(string(data), "\n    "+k+":") && !strings.Contains(string(data), "\n"+k+":") {
			t.Errorf("example.yml lacks key %s", k)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestDescribe(t *testing.T) {
	src := `modelarts:
  endpoint: https://modelarts.example.com
  project_id: 0123456789abcdef0123456789abcdef
admins: [U0ADMIN]
defaults:
  warn_before: [10m, 30m]
channels:
  G0B:
    users: [U0BOB]
    notebooks: ["team-b-*", "tag:team=b"]
    warn: false
  C0A:
    users: [U0ALICE]
    groups: [S0DATASCI]
    notebooks: ["*"]
    max_extend: 4h
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
  path:          leasebot.db (SQLite; LEASEBOT_DATABASE_URL, when set, overrides it with PostgreSQL)
defaults:
  max_extend:    8h
  warn_before:   30m, 10m
  extend_buttons: +1h, +4h, Let it stop
  poll_interval: 1m
  history_days:  90
  start_duration: 4h (a start without a duration; at most a channel's max_extend)
  actions:       extend
  max_keep:      0 (keep off)
  approval_max:  72h
  approval_ttl:  1h
owners (their own notebooks, from a direct message or the app's home):
  notify_owner:  false (warnings go to channels only)
  max_extend:    8h
  actions:       extend
  max_keep:      0 (keep off)
people: (none: no notebook owner is reached directly)
channels: 2 (every other channel and every direct message is refused)

channel C0A (line 12)
  users:         U0ALICE
  groups:        S0DATASCI
  admins:        U0ADMIN
  notebooks:     * (every notebook)
  actions:       extend (admins may do all)
  max_extend:    4h
  max_keep:      0 (keep off)
  approvals:     none (an extension over max_extend is refused)
  warn:          on, 30m, 10m before the stop time
  buttons:       +1h, +4h, Let it stop

channel G0B (line 8)
  users:         U0BOB
  groups:        (none)
  admins:        U0ADMIN
  notebooks:     team-b-* (name glob), tag:team=b (tag)
  actions:       extend (admins may do all)
  max_extend:    8h
  max_keep:      0 (keep off)
  approvals:     none (an extension over max_extend is refused)
  warn:          off
`
	if got != want {
		t.Errorf("Describe() =\n%s\nwant\n%s", got, want)
	}
	var nilCfg *Config
	if nilCfg.Describe() == "" {
		t.Error("nil Describe is empty")
	}
}

func TestSuggest(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"usrs", "users"}, {"user", "users"}, {"grops", "groups"}, {"notebook", "notebooks"},
		{"warnbefore", "warn_before"}, {"WarnBefore", "warn_before"}, {"extend_button", "extend_buttons"},
		{"max_extent", "max_extend"}, {"wran", "warn"}, {"x", ""}, {"colour", ""}, {"", ""},
	} {
		if got := suggest(tt.in, channelKeys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(valid)
	for i := range 300 {
		fmt.Fprintf(&b, "  chan%d: {users: [U0A], notebooks: [x]}\n", i)
	}
	es := parseErrs(t, b.String())
	if len(es) != maxErrors+1 || !strings.Contains(es[len(es)-1].Msg, "100 more problems not shown") {
		t.Errorf("got %d errors, last %v", len(es), es[len(es)-1])
	}

	// Aliases that expand a long list many times are cut short.
	b.Reset()
	b.WriteString(head + "    notebooks: [x]\n    users: &many [")
	for range 4000 {
		b.WriteString("U0A, ")
	}
	b.WriteString("U0B]\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  C%d: {users: *many, notebooks: [x]}\n", i)
	}
	start := time.Now()
	es = parseErrs(t, b.String())
	if len(es) != 1 || !strings.Contains(es[0].Msg, "aliases expand too far") {
		t.Errorf("alias bomb: %d errors, first %v", len(es), es[0])
	}
	if d := time.Since(start); d > 30*time.Second { // a guard against blow-up, not a benchmark
		t.Errorf("alias bomb took %v", d)
	}
}

func TestInheritedButtonsOverChannelMaxAreDropped(t *testing.T) {
	src := "modelarts:\n  endpoint: https://m.example.com\n  project_id: 0123456789abcdef0123456789abcdef\n" +
		"channels:\n  C0ML:\n    users: [U0A]\n    notebooks: [\"*\"]\n    max_extend: 2h\n"
	c, err := ParseWith([]byte(src), "leasebot.yml", slack)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Channels["C0ML"].ExtendButtons; len(got) != 1 || got[0] != time.Hour {
		t.Errorf("buttons %v, want [1h]: the inherited 4h button exceeds the channel's max_extend", got)
	}
}

// Endpoints are addresses alone: a trailing slash is fine, and an IAM
// endpoint may end in /v3, as it is often written.
func TestEndpointForms(t *testing.T) {
	for _, tc := range []struct{ endpoint, iam, wantEndpoint, wantIAM string }{
		{"https://modelarts.example.com/", "https://iam.example.com/v3", "https://modelarts.example.com", "https://iam.example.com/v3"},
		{"https://modelarts.example.com", "https://iam.example.com/v3/", "https://modelarts.example.com", "https://iam.example.com/v3"},
		{"https://modelarts.example.com:8443", "https://iam.example.com/", "https://modelarts.example.com:8443", "https://iam.example.com"},
	} {
		src := strings.Replace(valid, "https://modelarts.example.com", tc.endpoint, 1)
		src = strings.Replace(src, "channels:", "  iam_endpoint: "+tc.iam+"\nchannels:", 1)
		c := mustParse(t, src)
		if c.ModelArts.Endpoint != tc.wantEndpoint || c.ModelArts.IAMEndpoint != tc.wantIAM {
			t.Errorf("endpoints %q, %q read as %q, %q", tc.endpoint, tc.iam, c.ModelArts.Endpoint, c.ModelArts.IAMEndpoint)
		}
	}
}
