package bot

import (
	"github.com/leasebot/leasebot/bot/command"

	"reflect"
	"strings"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "help", "help extend", "help foo", "?", "list", "list all", "status", "status nb",
		"status `my-notebook`", "status &lt;nb&gt;", "status &amp;lt;nb&amp;gt;",
		"extend", "extend nb", "extend nb 2h", "extend nb 90m", "extend nb 1h30m", "extend nb 1.5h",
		"extend nb 1d", "extend nb PT2H", "extend nb P1DT2H", "extend nb 2", "extend nb -2h", "extend nb 0h",
		"extend nb 2 hours", "extend nb 1 hour 30 minutes", "extend nb by 2h", "extend nb for 2h",
		"extend nb 2 30m", "extend nb 1 2h", "extend nb by 1 1h", "extend nb 1 .5h", "extend nb 1. 5h", "extend nb 1h 30m",
		"extend nb 1 hour 2 30 minutes", "start nb 1 5h", "start nb 1 hour 30 minutes", "keep nb 1 5h",
		"extend nb +2h", "extend nb 2h30", "extend nb 1e3", "extend nb inf", "extend nb NaN", "extend nb 1e400h",
		"extend nb 99999999999999999999h", "extend nb .h", "extend nb 1..5h", "extend nb 0.0000000001s",
		"extend nb until 18:30", "extend nb until 9:00", "extend nb until 6:30pm", "extend nb until 9am",
		"extend nb until 9 am", "extend nb until 12am", "extend nb until noon", "extend nb until midnight",
		"extend nb until tomorrow 09:00", "extend nb until today 18:00", "extend nb until 9am tomorrow",
		"extend nb until tomorrow at 9", "extend nb until 2026-12-01 09:00", "extend nb until 2026-12-01T09:00",
		"extend nb until 2026-12-01T", "extend nb until 2026-02-30 09:00", "extend nb until 12/01/2026",
		"extend nb until 18:30 UTC", "extend nb until 09:00+02:00", "extend nb until 25:00", "extend nb until 9",
		"extend nb until 2h", "extend nb 18:30", "extend 2h nb", "extend until 18:00", "extnd nb 2h",
		"renew nb 2h", "nb 2h", "/notebook extend nb 2h", "extend\u00a0nb\u3000 2h", "extend nb\u200b 2h",
		"extend nb\x00 2h", "extend \xff\xfe 2h", "extend nb\u202e 2h", "extend " + strings.Repeat("a", 129) + " 2h",
		strings.Repeat("x", command.MaxInput+1), "extend nb 2h " + strings.Repeat("zz ", 100), "his 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parser.Parse(in)
		if err != nil {
			se := checkSyntaxError(t, in, err)
			// A hint is a command that works.
			if se != nil && se.Hint != "" {
				if _, err := parser.Parse(strings.TrimPrefix(se.Hint, "/notebook ")); err != nil || !strings.HasPrefix(se.Hint, "/notebook ") {
					t.Fatalf("parser.Parse(%q): Hint %q: %v", in, se.Hint, err)
				}
			}
			return
		}
		switch c.Verb {
		case "help", "list":
			if c.Notebook != "" || c.By != 0 || c.Until != nil {
				t.Fatalf("parser.Parse(%q) = %#v: stray fields", in, c)
			}
			if c.Topic != "" && verbByName[c.Topic] == nil {
				t.Fatalf("parser.Parse(%q) = %#v: bad topic", in, c)
			}
		case "status":
			if !command.ValidName(c.Notebook) || c.By != 0 || c.Until != nil {
				t.Fatalf("parser.Parse(%q) = %#v", in, c)
			}
		case "extend":
			if !command.ValidName(c.Notebook) {
				t.Fatalf("parser.Parse(%q) = %#v: bad notebook", in, c)
			}
			if (c.By > 0) == (c.Until != nil) || c.By < 0 {
				t.Fatalf("parser.Parse(%q) = %#v: want By > 0 xor Until", in, c)
			}
			if c.Until != nil {
				if err := c.Until.Validate(); err != nil {
					t.Fatalf("parser.Parse(%q) = %#v: %v", in, c.Until, err)
				}
				now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
				if c.Until.Day == command.AnyDay || c.Until.Day == command.Tomorrow || c.Until.Day == command.OnWeekday {
					if got, err := c.Until.Resolve(now, time.UTC); err != nil || !got.After(now) {
						t.Fatalf("parser.Parse(%q): Resolve = %v, %v", in, got, err)
					}
				}
			}
		case "start":
			if !command.ValidName(c.Notebook) || c.By < 0 || c.Until != nil || c.Off || c.Count != 0 {
				t.Fatalf("parser.Parse(%q) = %#v", in, c)
			}
		case "stop":
			if !command.ValidName(c.Notebook) || c.By != 0 || c.Until != nil || c.Off || c.Count != 0 {
				t.Fatalf("parser.Parse(%q) = %#v", in, c)
			}
		case "keep":
			if !command.ValidName(c.Notebook) || c.By != 0 || (c.Until != nil) == c.Off {
				t.Fatalf("parser.Parse(%q) = %#v: want Until xor Off", in, c)
			}
		case "history":
			if c.Notebook != "" && !command.ValidName(c.Notebook) || c.Count < 0 || c.Count > command.MaxCount || c.By != 0 || c.Until != nil {
				t.Fatalf("parser.Parse(%q) = %#v", in, c)
			}
		default:
			t.Fatalf("parser.Parse(%q) = %#v: unknown verb", in, c)
		}
		// The canonical form reads back to the same command (By to the second).
		again, err := parser.Parse(c.String())
		if err != nil {
			t.Fatalf("parser.Parse(%q) = %#v; its String %q does not parse: %v", in, c, c.String(), err)
		}
		if c.By != 0 {
			c.By = c.By.Round(time.Second)
			if c.By == 0 {
				c.By = time.Second
			}
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("parser.Parse(%q) = %#v; parser.Parse(%q) = %#v", in, c, c.String(), again)
		}
	})
}
