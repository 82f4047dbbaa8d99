package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/leasebot/leasebot/bot/slackchat/slackid"
)

// Parse without a chat's rules accepts any short word as an ID, and still
// refuses blanks, spaces, control characters and long values.
func TestPlainIDRules(t *testing.T) {
	src := strings.Replace(valid, "C0ML:", "general:", 1) + "    groups: [data-science]\n    approvers: {users: [carol]}\npeople:\n  alice: alice.smith\n"
	for _, c := range []func() (*Config, error){
		func() (*Config, error) { return Parse([]byte(src), "leasebot.yml") },
		func() (*Config, error) { return ParseWith([]byte(src), "leasebot.yml", Options{}) },
	} {
		cfg, err := c()
		if err != nil {
			t.Fatalf("plain rules: %v", err)
		}
		if ch, ok := cfg.Channels["general"]; !ok || ch.Users[0] != "U0ALICE" || cfg.People["alice"] != "alice.smith" {
			t.Errorf("config = %+v", cfg)
		}
	}
	long := strings.Repeat("x", maxIDLen+1)
	for _, tt := range []struct {
		src    string
		line   int
		phrase string
	}{
		{head + "    users: ['']\n    notebooks: [x]\n", 6, `users in channel C0ML: "" is empty: write a user ID`},
		{head + "    users: ['alice smith']\n    notebooks: [x]\n", 6, `"alice smith" is not a user ID: an ID has no spaces or control characters`},
		{head + "    users: [\"a\\tb\"]\n    notebooks: [x]\n", 6, "an ID has no spaces or control characters"},
		{head + "    groups: [" + long + "]\n    notebooks: [x]\n", 6, "is not a user-group ID: it is longer than 64 characters"},
		{head + "    users: \"U0A\"\n    notebooks: [x]\n", 6, "must be a list of user IDs, e.g. [USER-ID, OTHER-USER-ID]; got a string"},
		{strings.Replace(valid, "C0ML:", "'my channel':", 1), 5, `"my channel" under channels is not a channel ID`},
		{valid + "people:\n  alice:\n", 9, "write the chat user ID of that owner, e.g. USER-ID"},
	} {
		_, err := Parse([]byte(tt.src), "leasebot.yml")
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || es[0].Line != tt.line || !strings.Contains(es[0].Msg, tt.phrase) {
			t.Errorf("Parse(%q) = %v\nwant line %d: …%s…", tt.src, err, tt.line, tt.phrase)
		}
	}
}

// echoRules repeat the ID they are given and break lines, as careless
// rules might.
type echoRules struct{}

func (echoRules) Problem(kind IDKind, id string) string {
	if strings.HasPrefix(id, "ok") {
		return ""
	}
	return "is wrong:\n" + id + " is no " + kind
}
func (echoRules) Examples(IDKind) []string { return nil }

func TestIDRulesAnswersAreSanitised(t *testing.T) {
	const secret = "Sup3rS3cretValue0xDEADbeefCAFE"
	src := strings.Replace(valid, "C0ML:", "okC:", 1)
	src = strings.Replace(src, "[U0ALICE]", "[okA, bad, "+secret+"]", 1) + "    groups: ok\npeople:\n  alice:\n"
	_, err := ParseWith([]byte(src), "leasebot.yml", Options{IDs: echoRules{}})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	s := es.Error()
	for _, want := range []string{
		`users in channel okC: "bad" is wrong: bad is no user`,
		"is not a user ID: it looks like a secret (a token or key), which never belongs in the config file",
		"groups in channel okC must be a list of user-group IDs, e.g. []; got a string",
		`people "alice" has no value: write the chat user ID of that owner, e.g. user ID`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("errors lack %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, secret) {
		t.Errorf("secret echoed:\n%s", s)
	}
	for _, e := range es {
		if strings.Contains(e.Msg, "\n") {
			t.Errorf("multi-line message %q", e.Msg)
		}
	}
}

// Slack's rules plug into the config without either package importing the
// other's kinds.
func TestSlackRulesFit(t *testing.T) {
	var _ IDRules = slackid.Rules{}
	if slackid.Channel != ChannelID || slackid.User != UserID || slackid.Group != GroupID {
		t.Error("slackid's kinds differ from the config's")
	}
	// With Slack's rules, a channel name is refused; with the plain ones it is not.
	src := strings.Replace(valid, "C0ML:", "general:", 1)
	if _, err := ParseWith([]byte(src), "x.yml", slack); err == nil || !strings.Contains(err.Error(), "not a Slack channel ID") {
		t.Errorf("Slack rules: %v", err)
	}
	if _, err := Parse([]byte(src), "x.yml"); err != nil {
		t.Errorf("plain rules: %v", err)
	}
}
