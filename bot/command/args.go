package command

import (
	"errors"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bot/duration"
)

// The argument readers a verb's Spec can use. Each reads the words after the
// verb; hints name the verb they were given, so one reader serves several verbs.

// NoArgs reads nothing: any word after the verb is an error ("list").
func NoArgs(_ *Parser, verb string, args []string) (Command, error) {
	if len(args) > 0 {
		return Command{}, extraWords(args, Prefix+" "+verb)
	}
	return Command{}, nil
}

// leadingNotebook reads the notebook that comes first in args, and returns
// the words after it. A missing notebook, or a first word that is one of
// the verb's keywords (reserved says which), is answered with example.
func leadingNotebook(verb string, args []string, example string, reserved func(string) bool) (string, []string, error) {
	if len(args) == 0 || reserved != nil && reserved(args[0]) {
		return "", nil, syntaxErr(example, "Which notebook? Put its name or ID after %s.", verb)
	}
	if err := checkName(args[0], example); err != nil {
		return "", nil, err
	}
	return args[0], args[1:], nil
}

// NotebookArg reads exactly one notebook ("status my-notebook").
func NotebookArg(_ *Parser, verb string, args []string) (Command, error) {
	nb, rest, err := leadingNotebook(verb, args, Prefix+" "+verb+" my-notebook", nil)
	if err != nil {
		return Command{}, err
	}
	c := Command{Verb: verb, Notebook: nb}
	if len(rest) > 0 {
		return Command{}, extraWords(rest, c.String())
	}
	return c, nil
}

// HelpArgs reads an optional topic: a verb, or a word one verb claims
// ("help until" is help on extend).
func HelpArgs(p *Parser, verb string, args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, nil
	}
	word := strings.ToLower(args[0])
	i, ok := p.topics[word]
	if !ok {
		if j, near := p.suggestVerb(args[0]); near {
			v := p.specs[j].Name
			return Command{}, syntaxErr(Prefix+" "+verb+" "+v,
				"There is no help on %s. Did you mean %s?", show(args[0]), v)
		}
		return Command{}, syntaxErr(Prefix+" "+verb,
			"There is no help on %s. Ask about %s, or just type %s.", show(args[0]), p.list("or"), verb)
	}
	c := Command{Verb: verb, Topic: p.specs[i].Name}
	if len(args) > 1 {
		return Command{}, extraWords(args[1:], c.String())
	}
	return c, nil
}

// ExtendArgs reads a notebook and how far to move its stop time: a duration
// ("2h", "by 2h", "for 90m", "1 hour 30 minutes") or a time ("until 18:30").
// The words until, till, til, by and for are keywords after the verb, so a
// notebook with such a name must be given by ID.
func ExtendArgs(_ *Parser, verb string, args []string) (Command, error) {
	pre := Prefix + " " + verb + " "
	example := pre + "my-notebook 2h"
	if len(args) == 0 || isExtendKeyword(args[0]) {
		hint := example
		if len(args) > 0 && isUntil(args[0]) {
			hint = pre + "my-notebook until 18:30"
		}
		return Command{}, syntaxErr(hint, "Which notebook? Put its name or ID after %s.", verb)
	}
	nb, rest := args[0], args[1:]
	// "extend 2h my-notebook": the duration came first.
	if _, err := duration.Parse(nb); err == nil {
		if len(rest) == 0 {
			return Command{}, syntaxErr(example,
				"Which notebook? Put its name or ID after %s, then the duration.", verb)
		}
		if ValidName(rest[0]) && !isExtendKeyword(rest[0]) && !isDuration(rest[0]) {
			return Command{}, syntaxErr(pre+rest[0]+" "+strings.ToLower(nb),
				"Put the notebook first, then the duration.")
		}
	}
	if err := checkName(nb, example); err != nil {
		return Command{}, err
	}
	c := Command{Verb: verb, Notebook: nb}
	if len(rest) == 0 {
		return Command{}, syntaxErr(pre+nb+" 2h",
			"How long? Add a duration (2h) or a time (until 18:30) after %s.", show(nb))
	}
	var n int
	switch kw := strings.ToLower(rest[0]); {
	case isUntil(kw):
		w, used, err := untilArg(verb, nb, kw, rest[1:])
		if err != nil {
			return Command{}, err
		}
		c.Until, n = &w, 1+used
	case kw == "by" || kw == "for":
		if len(rest) == 1 {
			return Command{}, syntaxErr(pre+nb+" "+kw+" 2h",
				"By how much? Add a duration after %q, like 2h or 90m.", kw)
		}
		d, used, err := parseDuration(rest[1:], pre+nb)
		if err != nil {
			return Command{}, err
		}
		c.By, n = d, 1+used
	default:
		d, used, err := parseDuration(rest, pre+nb)
		if err != nil {
			// "extend nb 18:30": a time without "until".
			if w, _, werr := parseWhen(rest, pre+nb+" until"); werr == nil {
				return Command{}, syntaxErr(pre+nb+" until "+w.String(),
					"To extend until a time, say \"until\" before it.")
			}
			return Command{}, err
		}
		c.By, n = d, used
	}
	if n < len(rest) {
		return Command{}, extraWords(rest[n:], c.String())
	}
	return c, nil
}

// untilArg reads the time after an until keyword kw.
func untilArg(verb, nb, kw string, words []string) (When, int, error) {
	pre := Prefix + " " + verb + " " + nb
	if len(words) == 0 {
		return When{}, 0, syntaxErr(pre+" until 18:30",
			"Until when? Add a time after %q, like 18:30 or tomorrow 09:00.", kw)
	}
	if d, err := duration.Parse(words[0]); err == nil {
		if verb == "extend" {
			return When{}, 0, syntaxErr(pre+" "+compactDuration(d),
				"%s is a duration, not a time: leave out %q to extend by %s.", show(words[0]), kw, compactDuration(d))
		}
		return When{}, 0, syntaxErr(pre+" until fri 18:00",
			"%s is a duration, not a time: say until when, like fri 18:00 or 2026-12-01 09:00.", show(words[0]))
	}
	return parseWhen(words, pre+" until")
}

func isUntil(w string) bool {
	switch strings.ToLower(w) {
	case "until", "till", "til":
		return true
	}
	return false
}

func isExtendKeyword(w string) bool {
	switch strings.ToLower(w) {
	case "by", "for":
		return true
	}
	return isUntil(w)
}

func isDuration(w string) bool {
	_, err := duration.Parse(w)
	return err == nil
}

// maxDurationWords bounds how many words one duration may span
// ("1 day 2 hours 30 minutes").
const maxDurationWords = 6

// parseDuration reads the longest run of words (at most maxDurationWords)
// that forms a duration, so "2h", "2 h", "2 hours" and "1h 30m" all work.
// It returns the duration and the number of words used. pre is the command
// so far, for hints ("/notebook extend nb").
func parseDuration(words []string, pre string) (time.Duration, int, error) {
	hint := pre + " 2h"
	first := words[0]
	if strings.HasPrefix(first, "-") || strings.HasPrefix(first, "−") {
		return 0, 0, syntaxErr(hint,
			"%s is negative: leasebot only moves stop times later.", show(first))
	}
	var joined strings.Builder
	best, bestN := time.Duration(0), 0
	for i := 0; i < len(words) && i < maxDurationWords; i++ {
		w := strings.ToLower(words[i])
		if i == 0 {
			w = strings.TrimPrefix(w, "+")
		}
		if gluesNumbers(joined.String(), w) {
			break // "2 30m" is not 230m, nor "1 2h" 12h
		}
		joined.WriteString(w)
		if d, err := duration.Parse(unitWords(joined.String())); err == nil {
			best, bestN = d, i+1
		}
	}
	if bestN > 0 {
		return best, bestN, nil
	}
	_, err := duration.Parse(unitWords(strings.TrimPrefix(strings.ToLower(first), "+")))
	if errors.Is(err, duration.ErrBareNumber) && len(words) > 1 && gluesNumbers(first, words[1]) {
		// "extend nb 2 30m": two numbers, read as neither 230m nor 2h30m.
		return 0, 0, syntaxErr(hint, "%s are two numbers: give one duration, with a unit after each number, like 2h or 2h30m.",
			show(first+" "+words[1]))
	}
	if errors.Is(err, duration.ErrBareNumber) {
		if isSmallInt(first) && atoi(first) > 0 {
			hint = pre + " " + first + "h"
		}
		return 0, 0, syntaxErr(hint, "%s needs a unit: add one, like 2h or 2m.", show(first))
	}
	if t := strings.ToLower(first); strings.Count(t, "h") == 1 && !strings.HasSuffix(t, "h") {
		// "2h30": the minutes lack their unit.
		if h, m, _ := strings.Cut(t, "h"); allDigits(h) && allDigits(m) && len(m) <= 2 && isDuration(h+"h"+m+"m") {
			return 0, 0, syntaxErr(pre+" "+h+"h"+m+"m",
				"%s is not a duration: the minutes need a unit too, like %sh%sm.", show(first), h, m)
		}
	}
	reason := "use a number and a unit, like 2h, 90m or 1h30m"
	var de *duration.Error
	if errors.As(err, &de) && de.Reason != "" && len(de.Reason) <= 80 {
		reason = clean(de.Reason)
	}
	return 0, 0, syntaxErr(hint, "%s is not a duration: %s.", show(first), reason)
}

// gluesNumbers reports whether writing next straight after prev would run
// two numbers together: prev ends in a digit or '.' and next starts with
// one. Words of a duration are joined without a space ("1 hour 30 minutes"
// reads as 1hour30minutes), so such words must not be joined: "2 30m" would
// read as 230m.
func gluesNumbers(prev, next string) bool {
	if prev == "" || next == "" {
		return false
	}
	numeric := func(c byte) bool { return c >= '0' && c <= '9' || c == '.' }
	return numeric(prev[len(prev)-1]) && numeric(next[0])
}

// unitWords shortens unit words in a lower-case duration: "2hours" → "2h",
// "90minutes" → "90m". Other letters stay as they are.
func unitWords(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] < 'a' || s[i] > 'z' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
			j++
		}
		word := s[i:j]
		switch word {
		case "day", "days":
			word = "d"
		case "hour", "hours", "hr", "hrs":
			word = "h"
		case "min", "mins", "minute", "minutes":
			word = "m"
		case "sec", "secs", "second", "seconds":
			word = "s"
		}
		b.WriteString(word)
		i = j
	}
	return b.String()
}

func isSmallInt(s string) bool {
	if len(s) == 0 || len(s) > 3 {
		return false
	}
	return allDigits(s)
}

// NotebookAndOptionalDuration reads a notebook and, optionally, a duration
// ("start my-notebook", "start my-notebook 4h", "start my-notebook for 4h").
func NotebookAndOptionalDuration(_ *Parser, verb string, args []string) (Command, error) {
	pre := Prefix + " " + verb + " "
	nb, rest, err := leadingNotebook(verb, args, pre+"my-notebook", isExtendKeyword)
	if err != nil {
		return Command{}, err
	}
	c := Command{Verb: verb, Notebook: nb}
	if len(rest) == 0 {
		return c, nil
	}
	if kw := strings.ToLower(rest[0]); kw == "by" || kw == "for" {
		rest = rest[1:]
		if len(rest) == 0 {
			return Command{}, syntaxErr(pre+nb+" "+kw+" 4h", "For how long? Add a duration after %q, like 4h.", kw)
		}
	}
	if isUntil(rest[0]) {
		return Command{}, syntaxErr(pre+nb+" 4h", "Give %s a duration, like 4h, not a time.", verb)
	}
	d, n, err := parseDuration(rest, pre+nb)
	if err != nil {
		return Command{}, err
	}
	c.By = d
	if n < len(rest) {
		return Command{}, extraWords(rest[n:], c.String())
	}
	return c, nil
}

// MaxCount is the most entries a command may ask for ("history nb 50").
const MaxCount = 50

// OptionalNotebookAndCount reads an optional notebook and an optional
// count, in that order ("history", "history 20", "history my-notebook 5").
// A word of digits alone is a count.
func OptionalNotebookAndCount(_ *Parser, verb string, args []string) (Command, error) {
	pre := Prefix + " " + verb
	c := Command{Verb: verb}
	if len(args) > 0 && !allDigits(args[0]) {
		if err := checkName(args[0], pre+" my-notebook"); err != nil {
			return Command{}, err
		}
		c.Notebook, args = args[0], args[1:]
	}
	if len(args) > 0 {
		w := args[0]
		hint := pre + " 10"
		if c.Notebook != "" {
			hint = pre + " " + c.Notebook + " 10"
		}
		if !allDigits(w) || len(w) > 6 {
			return Command{}, syntaxErr(hint, "%s is not a number of entries: give a number from 1 to %d, like 10.", show(w), MaxCount)
		}
		n := atoi(w)
		if n < 1 || n > MaxCount {
			return Command{}, syntaxErr(hint, "%s entries: give a number from 1 to %d.", w, MaxCount)
		}
		c.Count, args = n, args[1:]
	}
	if len(args) > 0 {
		return Command{}, extraWords(args, c.String())
	}
	return c, nil
}

// KeepArgs reads a notebook and either "until TIME" (the time grammar of
// extend, weekdays included) or "off".
func KeepArgs(_ *Parser, verb string, args []string) (Command, error) {
	pre := Prefix + " " + verb + " "
	nb, rest, err := leadingNotebook(verb, args, pre+"my-notebook until fri 18:00",
		func(w string) bool { return isUntil(w) || strings.EqualFold(w, "off") })
	if err != nil {
		return Command{}, err
	}
	c := Command{Verb: verb, Notebook: nb}
	if len(rest) == 0 {
		return Command{}, syntaxErr(pre+nb+" until fri 18:00",
			"Until when? Add until and a time, like until fri 18:00, or off to end a keep.")
	}
	var n int
	switch kw := strings.ToLower(rest[0]); {
	case kw == "off" || kw == "stop" || kw == "end":
		if kw != "off" {
			return Command{}, syntaxErr(pre+nb+" off", "To end a keep, say off.")
		}
		c.Off, n = true, 1
	case kw == "for" || kw == "by":
		return Command{}, syntaxErr(pre+nb+" until fri 18:00",
			"A keep runs until a time, not for a while: say until when, like until fri 18:00.")
	case isUntil(kw):
		w, used, err := untilArg(verb, nb, kw, rest[1:])
		if err != nil {
			return Command{}, err
		}
		c.Until, n = &w, 1+used
	default:
		if w, _, err := parseWhen(rest, pre+nb+" until"); err == nil {
			return Command{}, syntaxErr(pre+nb+" until "+w.String(), "Say \"until\" before the time.")
		}
		if d, _, err := parseDuration(rest, pre+nb); err == nil {
			return Command{}, syntaxErr(pre+nb+" until fri 18:00",
				"A keep runs until a time, not for %s: say until when, like until fri 18:00.", compactDuration(d))
		}
		return Command{}, syntaxErr(pre+nb+" until fri 18:00", "%s is not a time: say until when, like until fri 18:00, or off.", show(rest[0]))
	}
	if n < len(rest) {
		return Command{}, extraWords(rest[n:], c.String())
	}
	return c, nil
}
