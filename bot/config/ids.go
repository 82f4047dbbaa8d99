package config

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IDKind is a kind of chat ID the config names. It is a plain string, not a
// type of its own, so that a chat adapter can implement IDRules without
// importing this package.
type IDKind = string

// The kinds of chat ID a config names.
const (
	ChannelID IDKind = "channel" // the keys under channels
	UserID    IDKind = "user"    // admins, users, the values of people, approvers' users
	GroupID   IDKind = "group"   // groups, approvers' groups
)

// IDRules are a chat's rules for its IDs. The config loader checks every ID
// against them, so that a wrong ID is reported with its line at start-up
// instead of silently matching nobody, while the loader itself knows no
// chat's wire format.
type IDRules interface {
	// Problem says why id is not an ID of the given kind, as a phrase that
	// follows the quoted ID in a message ("is not a Slack user ID …"), or
	// "" if it is one.
	Problem(kind IDKind, id string) string
	// Examples returns one or more sample IDs of the kind, for messages that
	// show how to write one.
	Examples(kind IDKind) []string
}

// Options change how a config is read.
type Options struct {
	// IDs checks channel, user and group IDs. Nil means plainIDs: any
	// non-empty value without spaces or control characters, at most 64
	// characters. Pass the chat's own rules to catch names and misplaced IDs.
	IDs IDRules
}

// maxIDLen is the longest ID the plain rules accept.
const maxIDLen = 64

// plainIDs is the rule when no chat's rules are given: an ID is one short
// word. It catches blanks and pasted sentences, nothing chat-specific.
type plainIDs struct{}

func (plainIDs) Problem(kind IDKind, id string) string {
	switch {
	case id == "":
		return fmt.Sprintf("is empty: write a %s ID", kindName(kind))
	case strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Sprintf("is not a %s ID: an ID has no spaces or control characters", kindName(kind))
	case utf8.RuneCountInString(id) > maxIDLen:
		return fmt.Sprintf("is not a %s ID: it is longer than %d characters", kindName(kind), maxIDLen)
	}
	return ""
}

func (plainIDs) Examples(kind IDKind) []string {
	switch kind {
	case ChannelID:
		return []string{"CHANNEL-ID"}
	case GroupID:
		return []string{"GROUP-ID"}
	}
	return []string{"USER-ID", "OTHER-USER-ID"}
}

// kindName names a kind in messages.
func kindName(kind IDKind) string {
	if kind == GroupID {
		return "user-group"
	}
	return kind
}

// kindPlural names a list of IDs of a kind in messages.
func kindPlural(kind IDKind) string { return kindName(kind) + " IDs" }

// idProblem asks the rules about id. A value that looks like a secret gets a
// fixed answer, whatever the rules would say, so that no part of it is ever
// repeated; and the answer is kept to one line.
func (p *parser) idProblem(kind IDKind, id string) string {
	why := p.ids.Problem(kind, id)
	if why == "" {
		return ""
	}
	if looksSecret(id) {
		return fmt.Sprintf("is not a %s ID: it looks like a secret (a token or key), which never belongs in the config file", kindName(kind))
	}
	return strings.Join(strings.Fields(why), " ")
}

// example writes the rules' sample IDs as a YAML list: [U0ALICE, U0BOB].
func (p *parser) example(kind IDKind) string {
	return "[" + strings.Join(p.ids.Examples(kind), ", ") + "]"
}

// oneExample returns one sample ID of the kind.
func (p *parser) oneExample(kind IDKind) string {
	if ex := p.ids.Examples(kind); len(ex) > 0 {
		return ex[0]
	}
	return kindName(kind) + " ID"
}
