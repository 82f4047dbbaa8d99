// Package slackid knows what Slack's IDs look like, so that the config
// loader can tell an operator exactly what is wrong with an ID they wrote
// (a channel name instead of its ID, a user-group ID under users, a
// direct-message ID) without the bot's core knowing Slack's wire format.
//
// Rules satisfies the config package's IDRules. This package imports nothing
// of leasebot's: the kinds are plain strings equal to the config's, so the
// config's own tests can use these rules without an import cycle.
package slackid

import (
	"fmt"
	"strings"
)

// The kinds of ID a config names. They equal the config package's
// ChannelID, UserID and GroupID.
const (
	Channel = "channel" // a conversation: the keys under channels
	User    = "user"    // a person: admins, users, people, approvers' users
	Group   = "group"   // a user group: groups, approvers' groups
)

// kind is what Slack allows for one kind of ID and what to say when an ID
// does not fit.
type kind struct {
	name     string   // in messages: "channel", "user", "user-group"
	prefixes string   // allowed first letters
	examples []string // sample IDs for messages
	hint     string   // where to find one
}

var kinds = map[string]kind{
	Channel: {"channel", "CG", []string{"C0123ABCD"}, "use the ID shown at the bottom of the channel's details, not its name"},
	User:    {"user", "UW", []string{"U0ALICE", "U0BOB"}, "copy the member ID from the user's Slack profile (⋮ > Copy member ID)"},
	Group:   {"user-group", "S", []string{"S0DATASCI"}, "find it in the user group's URL or with usergroups.list"},
}

// names says what an ID with a given first letter is.
var names = map[byte]string{
	'C': "a channel ID", 'G': "a channel ID", 'U': "a user ID", 'W': "a user ID",
	'S': "a user-group ID", 'D': "a direct-message ID", 'B': "a bot ID", 'T': "a workspace ID", 'E': "an enterprise ID",
	'A': "an app ID",
}

// where says where an ID of another kind belongs in the config.
var where = map[byte]string{
	'C': "channels are the keys under channels", 'G': "channels are the keys under channels",
	'U': "put it under users (or admins)", 'W': "put it under users (or admins)",
	'S': "put it under groups",
	'D': "leasebot refuses direct messages; only channels (C… or G…) can be configured",
}

// maxEchoed is the longest value a message repeats in upper case. Slack IDs
// are about a dozen characters; anything much longer may be a secret.
const maxEchoed = 24

// Rules are Slack's ID rules, for the config loader.
type Rules struct{}

// Problem says why id is not a Slack ID of the given kind, as a phrase that
// follows the quoted ID ("is a user-group ID, not a user ID: put it under
// groups"), or "" if it is one. It repeats id only as the upper-case
// spelling of a short ID written in lower case.
func (Rules) Problem(kindName, id string) string {
	k, ok := kinds[kindName]
	if !ok {
		return fmt.Sprintf("cannot be checked: leasebot knows no Slack ID of kind %q", kindName)
	}
	form := fmt.Sprintf("(%s… followed by upper-case letters and digits)", strings.Join(strings.Split(k.prefixes, ""), "… or "))
	switch {
	case id == "":
		return fmt.Sprintf("is empty: write a Slack %s ID %s", k.name, form)
	case !isIDChars(id):
		if up := strings.ToUpper(id); isIDChars(up) && len(up) > 1 && len(up) <= maxEchoed &&
			strings.ContainsAny(id, "0123456789") && strings.IndexByte(k.prefixes, up[0]) >= 0 {
			return fmt.Sprintf("is not a Slack %s ID: Slack IDs are upper case; write %q", k.name, up)
		}
		return fmt.Sprintf("is not a Slack %s ID %s: %s", k.name, form, k.hint)
	case strings.IndexByte(k.prefixes, id[0]) < 0:
		if name, ok := names[id[0]]; ok {
			msg := fmt.Sprintf("is %s, not a %s ID", name, k.name)
			if w := where[id[0]]; w != "" {
				msg += ": " + w
			}
			return msg
		}
		return fmt.Sprintf("is not a Slack %s ID %s: %s", k.name, form, k.hint)
	case len(id) < 2:
		return fmt.Sprintf("is too short for a Slack %s ID %s", k.name, form)
	}
	return ""
}

// Examples returns sample Slack IDs of the given kind, for messages that
// show how to write one.
func (Rules) Examples(kindName string) []string {
	return append([]string(nil), kinds[kindName].examples...)
}

func isIDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}
