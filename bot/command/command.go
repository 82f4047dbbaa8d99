// Package command reads the text people type after /notebook: the verbs,
// notebook names, durations and "until" times of SPEC §4. It knows nothing
// of Slack or HTTP: adapters pass it the command text and render what it
// returns.
//
// Every error Parse returns is a *SyntaxError whose Msg says what is wrong in
// plain words and whose Hint, when set, is one complete command the user can
// type instead. Msg and Hint are plain text: they never contain control
// characters and quote at most about 40 characters of the input, but they may
// contain &, < and >, so a Slack adapter must escape them like any other text.
package command

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leasebot/leasebot/bot/duration"
	"github.com/leasebot/leasebot/bot/suggest"
)

// Verb is what a command does.
type Verb string

// The verbs of /notebook.
const (
	Help   Verb = "help"
	Extend Verb = "extend"
	Status Verb = "status"
	List   Verb = "list"
)

// verbs lists every verb, in the order Usage shows them.
var verbs = []Verb{Extend, Status, List, Help}

// Limits on what Parse reads.
const (
	// MaxInput is the longest command text Parse reads, in bytes.
	MaxInput = 2000
	// MaxNameLen is the longest notebook name or ID (ModelArts rule).
	MaxNameLen = 128
)

// Command is one parsed /notebook command.
type Command struct {
	Verb     Verb
	Notebook string        // ID or exact name as typed (extend, status)
	By       time.Duration // extend <nb> <duration>: > 0; zero otherwise
	Until    *When         // extend <nb> until <time>; nil otherwise
	Topic    string        // help <verb>: the verb asked about, lower case; "" for the whole usage
}

// String writes the command in its canonical form, such as
// "/notebook extend my-notebook 1h30m" or
// "/notebook extend my-notebook until tomorrow 09:00". Parse reads it back
// (after the leading "/notebook") to the same Command.
func (c Command) String() string {
	switch c.Verb {
	case Extend:
		if c.Until != nil {
			return "/notebook extend " + c.Notebook + " until " + c.Until.String()
		}
		return "/notebook extend " + c.Notebook + " " + compactDuration(c.By)
	case Status:
		return "/notebook status " + c.Notebook
	case List:
		return "/notebook list"
	case Help:
		if c.Topic != "" {
			return "/notebook help " + c.Topic
		}
		return "/notebook help"
	}
	return "/notebook " + string(c.Verb)
}

// SyntaxError is a command that could not be read.
type SyntaxError struct {
	Msg  string // what is wrong, in plain words
	Hint string // a correct command to type instead, e.g. "/notebook extend my-notebook 2h"; may be empty

	err error // what Unwrap returns, e.g. ErrTimePassed
}

func (e *SyntaxError) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + " Try: " + e.Hint
}

// Unwrap returns the sentinel behind the error, if any (ErrTimePassed).
func (e *SyntaxError) Unwrap() error { return e.err }

func syntaxErr(hint, format string, args ...any) *SyntaxError {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// unescape undoes Slack's escaping of &, < and > in command text. One pass,
// so "&amp;lt;" becomes "&lt;", not "<".
var unescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// Parse reads the text after /notebook. Verbs and keywords are
// case-insensitive; notebook names keep their case. Any Unicode space
// separates words; zero-width spaces and joiners are dropped; quotes,
// backticks and angle brackets around a word are ignored (people paste
// `my-notebook`). A leading "/notebook" is skipped, for consoles where people
// type the whole command. After extend, the words until, till, til, by and
// for are keywords, so a notebook with such a name must be given by ID.
// Errors are *SyntaxError.
func Parse(text string) (Command, error) {
	if len(text) > MaxInput {
		return Command{}, syntaxErr("/notebook help",
			"That command is too long: keep it under %d characters.", MaxInput)
	}
	words := tokenize(unescape.Replace(text))
	if len(words) > 0 && strings.EqualFold(words[0], "/notebook") {
		words = words[1:]
	}
	if len(words) == 0 {
		return Command{Verb: Help}, nil
	}
	verb, args := strings.ToLower(words[0]), words[1:]
	switch verb {
	case "help", "?", "-h", "--help":
		return parseHelp(args)
	case "list":
		if len(args) > 0 {
			return Command{}, extraWords(args, "/notebook list")
		}
		return Command{Verb: List}, nil
	case "status":
		return parseStatus(args)
	case "extend":
		return parseExtend(args)
	}
	return Command{}, unknownVerb(words[0], args)
}

// tokenize splits s at any Unicode space, after dropping zero-width
// characters, and trims quotes and brackets around each word.
func tokenize(s string) []string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
			return -1
		}
		return r
	}, s)
	fields := strings.FieldsFunc(s, unicode.IsSpace)
	words := fields[:0]
	for _, f := range fields {
		f = strings.Trim(f, "`'\"“”‘’„«»<>")
		if f != "" {
			words = append(words, f)
		}
	}
	return words
}

func parseHelp(args []string) (Command, error) {
	if len(args) == 0 {
		return Command{Verb: Help}, nil
	}
	topic := strings.ToLower(args[0])
	switch topic {
	case "until", "time", "times", "duration", "durations":
		topic = string(Extend)
	}
	if !isVerb(topic) {
		if v, ok := suggestVerb(args[0]); ok {
			return Command{}, syntaxErr("/notebook help "+string(v),
				"There is no help on %s. Did you mean %s?", show(args[0]), v)
		}
		return Command{}, syntaxErr("/notebook help",
			"There is no help on %s. Ask about extend, status, list, or just type help.", show(args[0]))
	}
	c := Command{Verb: Help, Topic: topic}
	if len(args) > 1 {
		return Command{}, extraWords(args[1:], c.String())
	}
	return c, nil
}

func parseStatus(args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, syntaxErr("/notebook status my-notebook",
			"Which notebook? Put its name or ID after status.")
	}
	if err := checkName(args[0], "/notebook status my-notebook"); err != nil {
		return Command{}, err
	}
	c := Command{Verb: Status, Notebook: args[0]}
	if len(args) > 1 {
		return Command{}, extraWords(args[1:], c.String())
	}
	return c, nil
}

func parseExtend(args []string) (Command, error) {
	const example = "/notebook extend my-notebook 2h"
	if len(args) == 0 || isExtendKeyword(args[0]) {
		hint := example
		if len(args) > 0 && isUntil(args[0]) {
			hint = "/notebook extend my-notebook until 18:30"
		}
		return Command{}, syntaxErr(hint, "Which notebook? Put its name or ID after extend.")
	}
	nb, rest := args[0], args[1:]
	// "extend 2h my-notebook": the duration came first.
	if _, err := duration.Parse(nb); err == nil {
		if len(rest) == 0 {
			return Command{}, syntaxErr(example,
				"Which notebook? Put its name or ID after extend, then the duration.")
		}
		if validName(rest[0]) && !isExtendKeyword(rest[0]) && !isDuration(rest[0]) {
			return Command{}, syntaxErr("/notebook extend "+rest[0]+" "+strings.ToLower(nb),
				"Put the notebook first, then the duration.")
		}
	}
	if err := checkName(nb, example); err != nil {
		return Command{}, err
	}
	c := Command{Verb: Extend, Notebook: nb}
	if len(rest) == 0 {
		return Command{}, syntaxErr("/notebook extend "+nb+" 2h",
			"How long? Add a duration (2h) or a time (until 18:30) after %s.", show(nb))
	}
	var n int
	switch kw := strings.ToLower(rest[0]); {
	case isUntil(kw):
		if len(rest) == 1 {
			return Command{}, syntaxErr("/notebook extend "+nb+" until 18:30",
				"Until when? Add a time after %q, like 18:30 or tomorrow 09:00.", kw)
		}
		if d, err := duration.Parse(rest[1]); err == nil {
			return Command{}, syntaxErr("/notebook extend "+nb+" "+compactDuration(d),
				"%s is a duration, not a time: leave out %q to extend by %s.", show(rest[1]), kw, compactDuration(d))
		}
		w, used, err := parseWhen(rest[1:], nb)
		if err != nil {
			return Command{}, err
		}
		c.Until, n = &w, 1+used
	case kw == "by" || kw == "for":
		if len(rest) == 1 {
			return Command{}, syntaxErr("/notebook extend "+nb+" "+kw+" 2h",
				"By how much? Add a duration after %q, like 2h or 90m.", kw)
		}
		d, used, err := parseDuration(rest[1:], nb)
		if err != nil {
			return Command{}, err
		}
		c.By, n = d, 1+used
	default:
		d, used, err := parseDuration(rest, nb)
		if err != nil {
			// "extend nb 18:30": a time without "until".
			if w, _, werr := parseWhen(rest, nb); werr == nil {
				return Command{}, syntaxErr("/notebook extend "+nb+" until "+w.String(),
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
// It returns the duration and the number of words used.
func parseDuration(words []string, nb string) (time.Duration, int, error) {
	hint := "/notebook extend " + nb + " 2h"
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
		joined.WriteString(w)
		if d, err := duration.Parse(unitWords(joined.String())); err == nil {
			best, bestN = d, i+1
		}
	}
	if bestN > 0 {
		return best, bestN, nil
	}
	_, err := duration.Parse(unitWords(strings.TrimPrefix(strings.ToLower(first), "+")))
	if errors.Is(err, duration.ErrBareNumber) {
		if isSmallInt(first) && atoi(first) > 0 {
			hint = "/notebook extend " + nb + " " + first + "h"
		}
		return 0, 0, syntaxErr(hint, "%s needs a unit: add one, like 2h or 2m.", show(first))
	}
	if t := strings.ToLower(first); strings.Count(t, "h") == 1 && !strings.HasSuffix(t, "h") {
		// "2h30": the minutes lack their unit.
		if h, m, _ := strings.Cut(t, "h"); allDigits(h) && allDigits(m) && len(m) <= 2 && isDuration(h+"h"+m+"m") {
			return 0, 0, syntaxErr("/notebook extend "+nb+" "+h+"h"+m+"m",
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
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validName reports whether s can be a ModelArts notebook name or ID:
// ASCII letters, digits, '-' and '_', at most MaxNameLen of them.
func validName(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func checkName(s, hint string) error {
	if validName(s) {
		return nil
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLen {
		return syntaxErr(hint, "That notebook name is %d characters long; names have at most %d.", n, MaxNameLen)
	}
	return syntaxErr(hint,
		"%s doesn't look like a notebook name or ID: use only letters, digits, - and _.", show(s))
}

func extraWords(extra []string, hint string) error {
	word := "word"
	if len(extra) > 1 {
		word = "words"
	}
	return syntaxErr(hint, "I don't understand the extra %s at the end: %s.", word, show(strings.Join(extra, " ")))
}

func isVerb(s string) bool {
	for _, v := range verbs {
		if string(v) == s {
			return true
		}
	}
	return false
}

func unknownVerb(word string, args []string) error {
	v, near := suggestVerb(word)
	// "/notebook my-notebook 2h": the verb is missing.
	if !near && validName(word) && len(args) > 0 && (isExtendKeyword(args[0]) || isDuration(args[0])) {
		return syntaxErr(exampleFor(Extend, append([]string{word}, args...)),
			"Start with a command: extend, status, list or help.")
	}
	if near {
		return syntaxErr(exampleFor(v, args), "There is no command %s. Did you mean %s?", show(word), v)
	}
	return syntaxErr("/notebook help",
		"There is no command %s. The commands are extend, status, list and help.", show(word))
}

// exampleFor is a correct command for v: the user's own words after the
// verb when they make one, otherwise an example using the notebook they typed
// (when it is a valid name).
func exampleFor(v Verb, args []string) string {
	if len(args) > 0 && len(args) <= 8 {
		if c, err := Parse(string(v) + " " + strings.Join(args, " ")); err == nil {
			return c.String()
		}
	}
	nb := "my-notebook"
	if len(args) > 0 && validName(args[0]) && !isExtendKeyword(args[0]) {
		nb = args[0]
	}
	switch v {
	case Extend:
		return "/notebook extend " + nb + " 2h"
	case Status:
		return "/notebook status " + nb
	case List:
		return "/notebook list"
	}
	return "/notebook help"
}

// synonyms are words people try for a verb; they are suggested, not accepted.
var synonyms = map[string]Verb{
	"renew": Extend, "prolong": Extend, "lengthen": Extend, "add": Extend, "bump": Extend,
	"snooze": Extend, "keep": Extend, "postpone": Extend, "delay": Extend, "more": Extend,
	"ls": List, "all": List, "notebooks": List,
	"show": Status, "info": Status, "get": Status, "state": Status, "check": Status, "stat": Status,
	"usage": Help, "h": Help, "man": Help,
}

// suggestVerb finds the verb closest to a mistyped word.
func suggestVerb(word string) (Verb, bool) {
	w := strings.ToLower(word)
	if v, ok := synonyms[w]; ok {
		return v, true
	}
	if utf8.RuneCountInString(w) > 20 {
		return "", false
	}
	best, bestD := Verb(""), 3
	for _, v := range verbs {
		d := suggest.Distance(w, string(v))
		if len(w) >= 3 && strings.HasPrefix(string(v), w) {
			d = 1
		}
		if d < bestD {
			best, bestD = v, d
		}
	}
	// A one- or two-letter word is a wild guess unless it is a prefix.
	if best == "" || utf8.RuneCountInString(w) <= 2 && !strings.HasPrefix(string(best), w) {
		return "", false
	}
	return best, true
}

// maxShown is how many characters of the input a message quotes.
const maxShown = 40

// show quotes a piece of input for a message: at most maxShown characters,
// with control, format and invalid characters replaced by '?'.
func show(s string) string {
	return `"` + clip(clean(s), maxShown) + `"`
}

// clean replaces everything that is not a printable character with '?'.
func clean(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := 0; k < n; k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}

// compactDuration writes d, rounded to the second, the way Parse reads it
// back: no spaces, units largest first and only when non-zero ("2h",
// "1h30m", "45m", "1h30s"). Days are written as hours: 1d is "24h".
func compactDuration(d time.Duration) string {
	if d <= 0 {
		return "0m"
	}
	d = d.Round(time.Second)
	if d == 0 {
		d = time.Second
	}
	h := d / time.Hour
	m := d % time.Hour / time.Minute
	s := d % time.Minute / time.Second
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}
