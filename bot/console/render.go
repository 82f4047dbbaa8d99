package console

import (
	"strconv"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot"
)

// TimeLayout is how a stop time is shown: in the reader's local time zone,
// like "Thu 26 Nov 18:30 CET".
const TimeLayout = "Mon 2 Jan 15:04 MST"

// ANSI escapes for bold text, used only when the output is a terminal.
const (
	boldOn  = "\x1b[1m"
	boldOff = "\x1b[22m"
)

// stripControl drops control characters (an escape sequence from a notebook
// name must not reach the terminal) except newlines and tabs.
func stripControl(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0)
}

// render writes core text for the terminal: times in the console's time zone,
// users by their demo name, Strong in bold (only with colour on), Code and
// Plain as plain text. The backticks the usage text puts around commands are
// dropped: in a terminal they are noise.
func (c *Console) render(t bot.Text) string {
	var b strings.Builder
	for _, s := range t {
		switch s.Kind {
		case bot.Strong:
			if c.color {
				b.WriteString(boldOn + stripControl(s.Text) + boldOff)
			} else {
				b.WriteString(stripControl(s.Text))
			}
		case bot.Code:
			b.WriteString(stripControl(s.Text))
		case bot.Time:
			b.WriteString(FormatTime(s.Time, c.loc))
		case bot.User:
			b.WriteString("@" + c.nameOf(s.Text))
		default:
			b.WriteString(strings.ReplaceAll(stripControl(s.Text), "`", ""))
		}
	}
	return b.String()
}

// nameOf is a user's demo name, or the ID for a user the console does not know.
func (c *Console) nameOf(id string) string {
	for _, u := range c.users {
		if u.ID == id {
			return u.Name
		}
	}
	return id
}

// indent prefixes every non-empty line of s with two spaces.
func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}

// buttonRow renders numbered buttons: "[1] Extend 1h  [2] Extend 4h  [3] Let it stop".
func buttonRow(numbers []int, buttons []bot.Button) string {
	var b strings.Builder
	for i, bt := range buttons {
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString("[" + strconv.Itoa(numbers[i]) + "] " + stripControl(bt.Label))
	}
	return b.String()
}

// FormatTime renders t the way the console shows times, in loc.
func FormatTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(TimeLayout)
}
