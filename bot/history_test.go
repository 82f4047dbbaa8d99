package bot

import (
	"strings"
	"testing"

	"github.com/leasebot/leasebot/bot/command"
)

func TestHistoryGrammar(t *testing.T) {
	valid := []struct {
		in   string
		want command.Command
	}{
		{"history", command.Command{Verb: "history"}},
		{"HISTORY 20", command.Command{Verb: "history", Count: 20}},
		{"history my-nb", command.Command{Verb: "history", Notebook: "my-nb"}},
		{"history my-nb 50", command.Command{Verb: "history", Notebook: "my-nb", Count: 50}},
		{"history 3e2a6c1b-7f0d-4c55-9a5e-1b2c3d4e5f60 1", command.Command{Verb: "history", Notebook: "3e2a6c1b-7f0d-4c55-9a5e-1b2c3d4e5f60", Count: 1}},
	}
	for _, tt := range valid {
		got, err := parser.Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			continue
		}
		if again, err := parser.Parse(strings.TrimPrefix(got.String(), "/notebook ")); err != nil || again != got {
			t.Errorf("%q does not read back: %#v, %v", got.String(), again, err)
		}
	}
	errs := []struct{ in, msg, hint string }{
		{"history 0", "from 1 to 50", "/notebook history 10"},
		{"history 51", "from 1 to 50", "/notebook history 10"},
		{"history my-nb lots", `"lots" is not a number of entries`, "/notebook history my-nb 10"},
		{"history my-nb 5 more", `extra word at the end: "more"`, "/notebook history my-nb 5"},
		{"history my.nb", "doesn't look like a notebook name", ""},
		{"hsitory", "Did you mean history?", "/notebook history"},
		{"log", "Did you mean history?", "/notebook history"},
	}
	for _, tt := range errs {
		_, err := parser.Parse(tt.in)
		se, ok := err.(*command.SyntaxError)
		if !ok || !strings.Contains(se.Msg, tt.msg) || tt.hint != "" && se.Hint != tt.hint {
			t.Errorf("Parse(%q) = %v; want a message with %q and hint %q", tt.in, err, tt.msg, tt.hint)
		}
	}
	if u := parser.TopicUsage("history"); !strings.Contains(u, "/notebook history") || !strings.Contains(Usage(), "history") {
		t.Error("history is missing from the help")
	}
}
