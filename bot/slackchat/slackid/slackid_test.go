package slackid

import (
	"slices"
	"strings"
	"testing"
)

func TestProblem(t *testing.T) {
	for _, tt := range []struct {
		kind, id string
		want     string // "" for a valid ID; else a phrase of the answer
	}{
		{Channel, "C0ML", ""},
		{Channel, "G0PRIVATE", ""},
		{User, "U0ALICE", ""},
		{User, "W0ENTERPRISE", ""},
		{Group, "S0DATASCI", ""},

		{Channel, "", "is empty: write a Slack channel ID (C… or G… followed by upper-case letters and digits)"},
		{User, "", "is empty: write a Slack user ID (U… or W…"},
		{Group, "", "is empty: write a Slack user-group ID (S… followed by"},
		{Channel, "general", "is not a Slack channel ID (C… or G… followed by upper-case letters and digits): use the ID shown at the bottom of the channel's details, not its name"},
		{Channel, "#ml", "not its name"},
		{Channel, "c0ml", `Slack IDs are upper case; write "C0ML"`},
		{User, "u0bob", `write "U0BOB"`},
		{User, "alice", "is not a Slack user ID (U… or W… followed by upper-case letters and digits): copy the member ID from the user's Slack profile"},
		{User, "@alice", "is not a Slack user ID"},
		{Group, "datasci", "is not a Slack user-group ID (S… followed by upper-case letters and digits): find it in the user group's URL or with usergroups.list"},
		{Channel, "U0ML", "is a user ID, not a channel ID: put it under users (or admins)"},
		{Channel, "D0ML", "is a direct-message ID, not a channel ID: leasebot refuses direct messages; only channels (C… or G…) can be configured"},
		{User, "S0DATA", "is a user-group ID, not a user ID: put it under groups"},
		{User, "C0ADMIN", "is a channel ID, not a user ID: channels are the keys under channels"},
		{Group, "W0X", "is a user ID, not a user-group ID: put it under users"},
		{User, "B0BOT", "is a bot ID, not a user ID"},
		{User, "T0WORK", "is a workspace ID, not a user ID"},
		{User, "E0ENT", "is an enterprise ID, not a user ID"},
		{User, "A0APP", "is an app ID, not a user ID"},
		{User, "X0WHAT", "is not a Slack user ID (U… or W…"},
		{Channel, "C", "is too short for a Slack channel ID"},
		{"person", "U0A", `leasebot knows no Slack ID of kind "person"`},
	} {
		got := Rules{}.Problem(tt.kind, tt.id)
		switch {
		case tt.want == "" && got != "":
			t.Errorf("Problem(%s, %q) = %q, want none", tt.kind, tt.id, got)
		case tt.want != "" && !strings.Contains(got, tt.want):
			t.Errorf("Problem(%s, %q) = %q, want …%s…", tt.kind, tt.id, got, tt.want)
		}
	}
}

// A long value in lower case is not repeated in upper case: it may be a key.
func TestProblemDoesNotEchoLongValues(t *testing.T) {
	const long = "u0abcdefghijklmnopqrstuvwxyz0123456789"
	got := Rules{}.Problem(User, long)
	if got == "" || strings.Contains(strings.ToLower(got), long[:12]) {
		t.Errorf("Problem(long) = %q", got)
	}
}

func TestExamplesAreValid(t *testing.T) {
	for _, k := range []string{Channel, User, Group} {
		ex := Rules{}.Examples(k)
		if len(ex) == 0 {
			t.Errorf("no examples of %s", k)
		}
		for _, id := range ex {
			if why := (Rules{}).Problem(k, id); why != "" {
				t.Errorf("example %s %q: %s", k, id, why)
			}
		}
		// The caller's copy is its own.
		ex[0] = "changed"
		if slices.Contains(Rules{}.Examples(k), "changed") {
			t.Errorf("Examples(%s) shares its slice", k)
		}
	}
	if ex := (Rules{}).Examples("person"); len(ex) != 0 {
		t.Errorf("Examples(unknown) = %v", ex)
	}
}
