package bot

import (
	"github.com/leasebot/leasebot/bot/command"

	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func when(day command.DayKind, h, m int) *command.When {
	return &command.When{Day: day, Hour: h, Minute: m}
}

func date(y int, mo time.Month, d, h, m int) *command.When {
	return &command.When{Day: command.OnDate, Year: y, Month: mo, Date: d, Hour: h, Minute: m}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want command.Command
	}{
		// help
		{"", command.Command{Verb: "help"}},
		{"   \t\n ", command.Command{Verb: "help"}},
		{"help", command.Command{Verb: "help"}},
		{"HELP", command.Command{Verb: "help"}},
		{"?", command.Command{Verb: "help"}},
		{"--help", command.Command{Verb: "help"}},
		{"help extend", command.Command{Verb: "help", Topic: "extend"}},
		{"Help STATUS", command.Command{Verb: "help", Topic: "status"}},
		{"help list", command.Command{Verb: "help", Topic: "list"}},
		{"help help", command.Command{Verb: "help", Topic: "help"}},
		{"help until", command.Command{Verb: "help", Topic: "extend"}},
		{"/notebook", command.Command{Verb: "help"}},

		// list and status
		{"list", command.Command{Verb: "list"}},
		{"LiSt", command.Command{Verb: "list"}},
		{"status my-notebook", command.Command{Verb: "status", Notebook: "my-notebook"}},
		{"status My_Notebook_2", command.Command{Verb: "status", Notebook: "My_Notebook_2"}},
		{"status 3e2a6c1b-7f0d-4c55-9a5e-1b2c3d4e5f60", command.Command{Verb: "status", Notebook: "3e2a6c1b-7f0d-4c55-9a5e-1b2c3d4e5f60"}},
		{"status `my-notebook`", command.Command{Verb: "status", Notebook: "my-notebook"}},
		{"status \"my-notebook\"", command.Command{Verb: "status", Notebook: "my-notebook"}},
		{"status 'my-notebook'", command.Command{Verb: "status", Notebook: "my-notebook"}},
		{"status “my-notebook”", command.Command{Verb: "status", Notebook: "my-notebook"}},
		{"status ```my-notebook```", command.Command{Verb: "status", Notebook: "my-notebook"}},
		{"status <my-notebook>", command.Command{Verb: "status", Notebook: "my-notebook"}}, // as the Slack adapter hands it over, unescaped
		{"status " + strings.Repeat("a", 128), command.Command{Verb: "status", Notebook: strings.Repeat("a", 128)}},

		// extend by a duration
		{"extend nb 2h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"EXTEND nb 2H", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend nb 90m", command.Command{Verb: "extend", Notebook: "nb", By: 90 * time.Minute}},
		{"extend nb 1h30m", command.Command{Verb: "extend", Notebook: "nb", By: 90 * time.Minute}},
		{"extend nb 1.5h", command.Command{Verb: "extend", Notebook: "nb", By: 90 * time.Minute}},
		{"extend nb 1d", command.Command{Verb: "extend", Notebook: "nb", By: 24 * time.Hour}},
		{"extend nb PT2H", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend nb 60s", command.Command{Verb: "extend", Notebook: "nb", By: time.Minute}},
		{"extend nb +2h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend nb by 2h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend nb BY 2h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend nb for 45m", command.Command{Verb: "extend", Notebook: "nb", By: 45 * time.Minute}},
		{"extend nb 2 h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend nb 2 hours", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend nb 1h 30m", command.Command{Verb: "extend", Notebook: "nb", By: 90 * time.Minute}},
		{"extend nb 1 hour 30 minutes", command.Command{Verb: "extend", Notebook: "nb", By: 90 * time.Minute}},
		{"extend nb 1 day 2 hours 30 minutes", command.Command{Verb: "extend", Notebook: "nb", By: 26*time.Hour + 30*time.Minute}},
		{"extend nb 1.5 hours", command.Command{Verb: "extend", Notebook: "nb", By: 90 * time.Minute}},
		{"extend nb by 1h 30m", command.Command{Verb: "extend", Notebook: "nb", By: 90 * time.Minute}},
		{"start nb 1 hour 30 minutes", command.Command{Verb: "start", Notebook: "nb", By: 90 * time.Minute}},
		{"start nb 2h 30m", command.Command{Verb: "start", Notebook: "nb", By: 150 * time.Minute}},
		{"extend nb for 3hrs", command.Command{Verb: "extend", Notebook: "nb", By: 3 * time.Hour}},
		{"extend nb `2h`", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"/notebook extend nb 2h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend 2h 3h", command.Command{Verb: "extend", Notebook: "2h", By: 3 * time.Hour}}, // a notebook may be called 2h

		// separators: any Unicode space; zero-width characters dropped
		{"extend\u00a0nb\u2003 2h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend\u3000nb\u202f2h\n", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"extend nb\u200b 2h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},
		{"\ufeffextend nb 2h", command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}},

		// extend until a time
		{"extend nb until 18:30", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
		{"extend nb until 9:00", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 9, 0)}},
		{"extend nb until 09:05", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 9, 5)}},
		{"extend nb until 00:00", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 0, 0)}},
		{"extend nb until 6:30pm", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
		{"extend nb until 6:30PM", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
		{"extend nb until 6:30 p.m.", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
		{"extend nb until 9am", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 9, 0)}},
		{"extend nb until 9 am", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 9, 0)}},
		{"extend nb until 12am", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 0, 0)}},
		{"extend nb until 12pm", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 12, 0)}},
		{"extend nb until 12:30am", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 0, 30)}},
		{"extend nb until noon", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 12, 0)}},
		{"extend nb until midnight", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 0, 0)}},
		{"extend nb until 18:30:00", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
		{"extend nb until at 18:30", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
		{"extend nb until at tomorrow 9am", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.Tomorrow, 9, 0)}},
		{"extend nb till 18:30", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
		{"extend nb UNTIL 18:30", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
		{"extend nb until tomorrow 09:00", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.Tomorrow, 9, 0)}},
		{"extend nb until Tomorrow 9am", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.Tomorrow, 9, 0)}},
		{"extend nb until tomorrow at 9:15", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.Tomorrow, 9, 15)}},
		{"extend nb until 9am tomorrow", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.Tomorrow, 9, 0)}},
		{"extend nb until today 18:00", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.Today, 18, 0)}},
		{"extend nb until 18:00 today", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.Today, 18, 0)}},
		{"extend nb until 2026-12-01 09:00", command.Command{Verb: "extend", Notebook: "nb", Until: date(2026, 12, 1, 9, 0)}},
		{"extend nb until 2026-12-01T09:00", command.Command{Verb: "extend", Notebook: "nb", Until: date(2026, 12, 1, 9, 0)}},
		{"extend nb until 2026-12-01t09:00:00", command.Command{Verb: "extend", Notebook: "nb", Until: date(2026, 12, 1, 9, 0)}},
		{"extend nb until 2026-12-1 9am", command.Command{Verb: "extend", Notebook: "nb", Until: date(2026, 12, 1, 9, 0)}},
		{"extend nb until 2028-02-29 23:59", command.Command{Verb: "extend", Notebook: "nb", Until: date(2028, 2, 29, 23, 59)}},
		{"extend `nb` until `18:30`", command.Command{Verb: "extend", Notebook: "nb", Until: when(command.AnyDay, 18, 30)}},
	}
	for _, tt := range tests {
		got, err := parser.Parse(tt.in)
		if err != nil {
			t.Errorf("parser.Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parser.Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		// The canonical form reads back to the same command.
		again, err := parser.Parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("parser.Parse(%q) = %#v, %v; want %#v", got.String(), again, err, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in       string
		msg      string // a substring of Msg
		hint     string // the Hint, exactly; "" means no check
		noEchoOf string // must not appear in Msg or Hint
	}{
		// verbs
		{in: "foo", msg: `no command "foo"`, hint: "/notebook help"},
		{in: "extnd nb 2h", msg: "Did you mean extend?", hint: "/notebook extend nb 2h"},
		{in: "exend nb 2h", msg: "Did you mean extend?", hint: "/notebook extend nb 2h"},
		{in: "ext nb 2h", msg: "Did you mean extend?"},
		{in: "renew nb 2h", msg: "Did you mean extend?", hint: "/notebook extend nb 2h"},
		{in: "stauts nb", msg: "Did you mean status?", hint: "/notebook status nb"},
		{in: "lsit", msg: "Did you mean list?", hint: "/notebook list"},
		{in: "ls", msg: "Did you mean list?", hint: "/notebook list"},
		{in: "hlep", msg: "Did you mean help?", hint: "/notebook help"},
		{in: "nb 2h", msg: "Start with a command", hint: "/notebook extend nb 2h"},
		{in: "nb until 18:30", msg: "Start with a command", hint: "/notebook extend nb until 18:30"},
		{in: "help foo", msg: `no help on "foo"`, hint: "/notebook help"},
		{in: "help extnd", msg: "Did you mean extend?", hint: "/notebook help extend"},
		{in: "help extend now", msg: `"now"`, hint: "/notebook help extend"},

		// list and status
		{in: "list all", msg: `extra word at the end: "all"`, hint: "/notebook list"},
		{in: "status", msg: "Which notebook?", hint: "/notebook status my-notebook"},
		{in: "status nb please now", msg: `extra words at the end: "please now"`, hint: "/notebook status nb"},
		{in: "status my.notebook", msg: "doesn't look like a notebook name", hint: "/notebook status my-notebook"},
		{in: "status my/notebook", msg: "doesn't look like a notebook name"},
		{in: "status nötebook", msg: "doesn't look like a notebook name"},
		{in: "status " + strings.Repeat("a", 129), msg: "129 characters long; names have at most 128"},

		// extend: notebook
		{in: "extend", msg: "Which notebook?", hint: "/notebook extend my-notebook 2h"},
		{in: "extend 2h", msg: "Which notebook?", hint: "/notebook extend my-notebook 2h"},
		{in: "extend until 18:30", msg: "Which notebook?", hint: "/notebook extend my-notebook until 18:30"},
		{in: "extend by 2h", msg: "Which notebook?"},
		{in: "extend 2h nb", msg: "Put the notebook first", hint: "/notebook extend nb 2h"},
		{in: "extend @alice 2h", msg: `"@alice" doesn't look like a notebook name`},
		{in: "extend nb", msg: "How long?", hint: "/notebook extend nb 2h"},

		// extend: durations
		{in: "extend nb 2", msg: `"2" needs a unit: add one, like 2h or 2m`, hint: "/notebook extend nb 2h"},
		{in: "extend nb by 90", msg: "needs a unit", hint: "/notebook extend nb 90h"},
		{in: "extend nb 1.5", msg: "needs a unit"},
		{in: "extend nb -2h", msg: "negative", hint: "/notebook extend nb 2h"},
		{in: "extend nb −2h", msg: "negative"},
		{in: "extend nb 0h", msg: "longer than zero"},
		{in: "extend nb 0", msg: "needs a unit"},
		{in: "extend nb 2x", msg: `"2x" is not a duration`},
		{in: "extend nb two", msg: `"two" is not a duration`},
		{in: "extend nb 2h30", msg: "the minutes need a unit", hint: "/notebook extend nb 2h30m"},
		{in: "extend nb 30m2h", msg: "largest to smallest"},
		{in: "extend nb by", msg: "By how much?", hint: "/notebook extend nb by 2h"},
		{in: "extend nb for", msg: "By how much?"},
		{in: "extend nb 2h please", msg: `extra word at the end: "please"`, hint: "/notebook extend nb 2h"},
		{in: "extend nb 2h 30", msg: `"30"`},
		// two numbers are never run together into one ("2 30m" is not 230m)
		{in: "extend nb 2 30m", msg: `"2 30m" are two numbers`, hint: "/notebook extend nb 2h"},
		{in: "extend nb 1 2h", msg: `"1 2h" are two numbers`},
		{in: "extend nb by 1 1h", msg: `"1 1h" are two numbers`},
		{in: "extend nb for 2 30 minutes", msg: `"2 30" are two numbers`},
		{in: "extend nb 1 .5h", msg: `"1 .5h" are two numbers`},
		{in: "extend nb 1. 5h", msg: `"1. 5h" are two numbers`},
		{in: "extend nb 1 hour 2 30 minutes", msg: `extra words at the end: "2 30 minutes"`},
		{in: "extend nb 1h 2 30m", msg: `extra words at the end: "2 30m"`},
		{in: "start nb 1 5h", msg: `"1 5h" are two numbers`, hint: "/notebook start nb 2h"},
		{in: "start nb for 1 5h", msg: `"1 5h" are two numbers`},
		{in: "keep nb 1 5h", msg: "is not a time"},
		{in: "extend nb 2h until 18:00", msg: `extra words at the end: "until 18:00"`},
		{in: "extend nb 18:30", msg: `say "until"`, hint: "/notebook extend nb until 18:30"},
		{in: "extend nb tomorrow 9am", msg: `say "until"`, hint: "/notebook extend nb until tomorrow 09:00"},

		// extend: until
		{in: "extend nb until", msg: "Until when?", hint: "/notebook extend nb until 18:30"},
		{in: "extend nb until 2h", msg: "is a duration, not a time", hint: "/notebook extend nb 2h"},
		{in: "extend nb until tomorrow", msg: "Add a time of day", hint: "/notebook extend nb until tomorrow 09:00"},
		{in: "extend nb until today at", msg: "Add a time of day"},
		{in: "extend nb until 2026-12-01", msg: "Add a time of day", hint: "/notebook extend nb until 2026-12-01 09:00"},
		{in: "extend nb until 2026-12-01T", msg: "after the T"},
		{in: "extend nb until 2026-02-30 09:00", msg: `"2026-02-30" is not a date`},
		{in: "extend nb until 2026-13-01 09:00", msg: "is not a date"},
		{in: "extend nb until 12/01/2026 09:00", msg: "YYYY-MM-DD"},
		{in: "extend nb until 1.12.2026 09:00", msg: "YYYY-MM-DD"},
		{in: "extend nb until 25:00", msg: "hours go from 0 to 23"},
		{in: "extend nb until 24:00", msg: "hours go from 0 to 23"},
		{in: "extend nb until 18:60", msg: "minutes go from 00 to 59"},
		{in: "extend nb until 9:5", msg: "two digits"},
		{in: "extend nb until 9", msg: "write 9:00, 9am or 9pm"},
		{in: "extend nb until 13pm", msg: "from 1 to 12"},
		{in: "extend nb until 0am", msg: "from 1 to 12"},
		{in: "extend nb until 18.30", msg: "with a colon, like 18:30"},
		{in: "extend nb until 18:30:15", msg: "leave out the seconds"},
		{in: "extend nb until soon", msg: `"soon" is not a time`},
		{in: "extend nb until 18:30 UTC", msg: `Leave out "UTC"`, hint: "/notebook extend nb until 18:30"},
		{in: "extend nb until 18:30 +02:00", msg: "Leave out"},
		{in: "extend nb until 2026-12-01T09:00Z", msg: "time zone"},
		{in: "extend nb until 2026-12-01T09:00+01:00", msg: "time zone"},
		{in: "extend nb until 18:30 sharp", msg: `"sharp"`, hint: "/notebook extend nb until 18:30"},

		// input hygiene
		{in: strings.Repeat("x", command.MaxInput+1), msg: "too long"},
		{in: "extend " + strings.Repeat("n", 1900) + " 2h", msg: "1900 characters long", noEchoOf: strings.Repeat("n", 50)},
		{in: "extend nb\x1b[31m 2h", msg: "doesn't look like a notebook name", noEchoOf: "\x1b"},
		{in: "extend nb \x07\x00 2h", msg: "not a duration", noEchoOf: "\x07"},
		{in: "extend nb\u202eevil 2h", msg: "doesn't look like a notebook name", noEchoOf: "\u202e"},
		{in: "extend \xff\xfe 2h", msg: "doesn't look like a notebook name"},
		{in: "extend " + strings.Repeat("\U0001F600", 100) + " 2h", msg: "doesn't look like a notebook name"},
		{in: "extend nb " + strings.Repeat("\U0001F600", 200), msg: "not a duration"},
		{in: "frobnicate" + strings.Repeat("z", 500), msg: "There is no command", noEchoOf: strings.Repeat("z", 50)},
		{in: "list " + strings.Repeat("word ", 300), msg: "extra words", noEchoOf: strings.Repeat("word ", 10)},
	}
	for _, tt := range tests {
		_, err := parser.Parse(tt.in)
		se := checkSyntaxError(t, tt.in, err)
		if se == nil {
			continue
		}
		if !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("parser.Parse(%.60q): Msg = %q, want it to contain %q", tt.in, se.Msg, tt.msg)
		}
		if tt.hint != "" && se.Hint != tt.hint {
			t.Errorf("parser.Parse(%.60q): Hint = %q, want %q", tt.in, se.Hint, tt.hint)
		}
		if tt.noEchoOf != "" && (strings.Contains(se.Msg, tt.noEchoOf) || strings.Contains(se.Hint, tt.noEchoOf)) {
			t.Errorf("parser.Parse(%.60q): error echoes %q: %v", tt.in, tt.noEchoOf, se)
		}
		// A hint is a command that parses.
		if strings.HasPrefix(se.Hint, "/notebook ") {
			if _, err := parser.Parse(se.Hint); err != nil {
				t.Errorf("parser.Parse(%.60q): Hint %q does not parse: %v", tt.in, se.Hint, err)
			}
		}
	}
}

// checkSyntaxError checks what every error of Parse must be: a *command.SyntaxError
// with a short, printable, non-empty Msg.
func checkSyntaxError(t testing.TB, in string, err error) *command.SyntaxError {
	t.Helper()
	var se *command.SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("parser.Parse(%.60q) error = %#v, want *command.SyntaxError", in, err)
		return nil
	}
	if se.Msg == "" {
		t.Errorf("parser.Parse(%.60q): empty Msg", in)
	}
	for _, s := range []string{se.Msg, se.Hint} {
		if !utf8.ValidString(s) {
			t.Errorf("parser.Parse(%.60q): invalid UTF-8 in %q", in, s)
		}
		for _, r := range s {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Errorf("parser.Parse(%.60q): control character %U in %q", in, r, s)
			}
		}
	}
	if utf8.RuneCountInString(se.Msg) > 200 || utf8.RuneCountInString(se.Hint) > 200 {
		t.Errorf("parser.Parse(%.60q): message too long (%d, %d bytes): %v", in, len(se.Msg), len(se.Hint), se)
	}
	return se
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		c    command.Command
		want string
	}{
		{command.Command{Verb: "help"}, "/notebook help"},
		{command.Command{Verb: "help", Topic: "extend"}, "/notebook help extend"},
		{command.Command{Verb: "list"}, "/notebook list"},
		{command.Command{Verb: "status", Notebook: "nb"}, "/notebook status nb"},
		{command.Command{Verb: "extend", Notebook: "nb", By: 2 * time.Hour}, "/notebook extend nb 2h"},
		{command.Command{Verb: "extend", Notebook: "nb", By: 26*time.Hour + 5*time.Minute}, "/notebook extend nb 26h5m"},
		{command.Command{Verb: "extend", Notebook: "nb", By: 90 * time.Second}, "/notebook extend nb 1m30s"},
		{command.Command{Verb: "extend", Notebook: "nb", Until: when(command.Tomorrow, 9, 0)}, "/notebook extend nb until tomorrow 09:00"},
		{command.Command{Verb: "extend", Notebook: "nb", Until: date(2026, 12, 1, 9, 0)}, "/notebook extend nb until 2026-12-01 09:00"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestUsage(t *testing.T) {
	u := parser.Usage()
	for _, want := range []string{
		"extend", "status", "list", "help", "until",
		"90m", "2h", "1h30m", "1.5h", "1d", "PT2H",
		"18:30", "9:00", "6:30pm", "9am", "today 18:00", "tomorrow 09:00", "2026-12-01 09:00", "2026-12-01T09:00",
		"/notebook extend my-notebook 2h",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("Usage() lacks %q", want)
		}
	}
	if strings.ContainsAny(u, "<>") {
		t.Error("Usage() has angle brackets, which Slack would read as links")
	}
	// Every example in the usage parses.
	for _, line := range strings.Split(u, "`") {
		if strings.HasPrefix(line, "/notebook ") && !strings.ContainsAny(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			if _, err := parser.Parse(line); err != nil {
				t.Errorf("usage example %q: %v", line, err)
			}
		}
	}
	for _, v := range verbs {
		if s := parser.TopicUsage(v.Name); !strings.Contains(s, v.Name) {
			t.Errorf("TopicUsage(%q) = %q", v.Name, s)
		}
	}
	if parser.TopicUsage("") != u || parser.TopicUsage("nonsense") != u {
		t.Error("TopicUsage of no topic is not Usage()")
	}
}

func TestSuggestVerb(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for no suggestion
	}{
		{"extnd", "extend"}, {"exten", "extend"}, {"etxend", "extend"}, {"EXTEN", "extend"}, {"prolong", "extend"},
		{"statsu", "status"}, {"stat", "status"}, {"info", "status"},
		{"lst", "list"}, {"lis", "list"}, {"ls", "list"},
		{"halp", "help"}, {"he", "help"},
		{"x", ""}, {"zz", ""}, {"frobnicate", ""}, {"delete", ""}, {strings.Repeat("e", 100), ""},
	}
	for _, tt := range tests {
		got, ok := parser.Suggest(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("suggestVerb(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}
