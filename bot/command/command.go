// Package command reads the text people type after /notebook: verbs,
// notebook names, durations and times. It is a small grammar engine: the
// core hands it a table of verbs (Spec: the words that name a verb, how its
// arguments read, its help text), and Parse, the help text and the "did you
// mean" suggestions all come from that one table. It knows nothing of any
// chat's wire format: adapters pass it plain text.
//
// Every error Parse returns is a *SyntaxError whose Msg says what is wrong in
// plain words and whose Hint, when set, is one complete command the user can
// type instead. Msg and Hint are plain text: they never contain control
// characters and quote at most about 40 characters of the input, but they may
// contain &, < and >, so an adapter must escape them like any other text.
package command

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leasebot/leasebot/bot/suggest"
	"github.com/leasebot/leasebot/lease"
)

// Limits on what Parse reads.
const (
	// MaxInput is the longest command text Parse reads, in bytes.
	MaxInput = 2000
	// MaxNameLen is the longest notebook name or ID (ModelArts' rule).
	MaxNameLen = lease.MaxNameLen
	// Prefix is the slash command every hint and example starts with.
	Prefix = "/notebook"
)

// Command is one parsed /notebook command. Which fields are set depends on
// the verb's grammar; the rest stay zero.
type Command struct {
	Verb     string        // the verb's name, lower case
	Notebook string        // ID or exact name as typed
	By       time.Duration // a duration ("extend nb 2h", "start nb 4h"); > 0 when set
	Until    *When         // a time ("extend nb until 18:30", "keep nb until fri 18:00")
	Off      bool          // "keep nb off"
	Count    int           // how many ("history nb 20"); > 0 when set
	Topic    string        // "help extend": the verb asked about; "" for the whole usage
}

// String writes the command in its canonical form, such as
// "/notebook extend my-notebook 1h30m" or
// "/notebook keep my-notebook until fri 18:00". Parse reads it back (with
// the grammar that produced it) to the same Command.
func (c Command) String() string {
	var b strings.Builder
	b.WriteString(Prefix + " " + c.Verb)
	if c.Topic != "" {
		b.WriteString(" " + c.Topic)
	}
	if c.Notebook != "" {
		b.WriteString(" " + c.Notebook)
	}
	switch {
	case c.Until != nil:
		b.WriteString(" until " + c.Until.String())
	case c.By > 0:
		b.WriteString(" " + compactDuration(c.By))
	}
	if c.Off {
		b.WriteString(" off")
	}
	if c.Count > 0 {
		fmt.Fprintf(&b, " %d", c.Count)
	}
	return b.String()
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

// Args reads the words after a verb into a Command (whose Verb the parser
// sets). p gives access to the rest of the grammar, for hints.
type Args func(p *Parser, verb string, args []string) (Command, error)

// Spec is one verb's grammar.
type Spec struct {
	Name     string   // the verb, lower case
	Aliases  []string // other words accepted as this verb ("?", "--help")
	Synonyms []string // words people try for it: suggested ("Did you mean …?"), never accepted
	Topics   []string // words "help WORD" takes to mean this verb ("until", "durations")
	Args     Args
	Usage    string // help text: plain text with `code` spans and UPPER-CASE placeholders, one item a line
	// Example is a correct command naming notebook, for hints ("" when the
	// verb takes no notebook).
	Example func(notebook string) string
}

// Parser reads commands with one table of verbs. It is safe for concurrent use.
type Parser struct {
	specs  []Spec
	byWord map[string]int // name or alias -> index
	syn    map[string]int // synonym -> index
	topics map[string]int // help topic -> index
	intro  string
	footer string
}

// NewParser builds a parser for specs, in the order help shows them. intro
// and footer frame the full usage text.
func NewParser(intro, footer string, specs ...Spec) *Parser {
	p := &Parser{specs: specs, byWord: map[string]int{}, syn: map[string]int{}, topics: map[string]int{}, intro: intro, footer: footer}
	for i, s := range specs {
		p.byWord[s.Name] = i
		p.topics[s.Name] = i
		for _, a := range s.Aliases {
			p.byWord[a] = i
		}
		for _, w := range s.Synonyms {
			p.syn[w] = i
		}
		for _, w := range s.Topics {
			p.topics[w] = i
		}
	}
	return p
}

// Verbs lists the verb names, in the order help shows them.
func (p *Parser) Verbs() []string {
	out := make([]string, len(p.specs))
	for i, s := range p.specs {
		out[i] = s.Name
	}
	return out
}

// Spec returns the grammar of verb.
func (p *Parser) Spec(verb string) (Spec, bool) {
	i, ok := p.byWord[verb]
	if !ok {
		return Spec{}, false
	}
	return p.specs[i], true
}

// Usage is the help text: every verb with its forms and examples.
func (p *Parser) Usage() string {
	var b strings.Builder
	b.WriteString(p.intro)
	b.WriteString("\n")
	for _, s := range p.specs {
		b.WriteString(s.Usage)
	}
	if p.footer != "" {
		b.WriteString("\n" + p.footer)
	}
	return b.String()
}

// TopicUsage is the help on one verb (a Command's Topic); for "" or an
// unknown topic it is Usage().
func (p *Parser) TopicUsage(topic string) string {
	i, ok := p.topics[strings.ToLower(topic)]
	if !ok || topic == "" {
		return p.Usage()
	}
	s := p.specs[i]
	if s.Example != nil && p.footer != "" {
		return s.Usage + p.footer
	}
	return s.Usage
}

// Parse reads the text after /notebook. Verbs and keywords are
// case-insensitive; notebook names keep their case. Any Unicode space
// separates words; zero-width spaces and joiners are dropped; quotes,
// backticks and angle brackets around a word are ignored (people paste
// `my-notebook`). A leading "/notebook" is skipped, for consoles where people
// type the whole command. Errors are *SyntaxError.
func (p *Parser) Parse(text string) (Command, error) {
	if len(text) > MaxInput {
		return Command{}, syntaxErr(Prefix+" help",
			"That command is too long: keep it under %d characters.", MaxInput)
	}
	words := tokenize(text)
	if len(words) > 0 && strings.EqualFold(words[0], Prefix) {
		words = words[1:]
	}
	if len(words) == 0 {
		return p.parseVerb(p.specs[p.helpIndex()], nil)
	}
	if i, ok := p.byWord[strings.ToLower(words[0])]; ok {
		return p.parseVerb(p.specs[i], words[1:])
	}
	return Command{}, p.unknownVerb(words[0], words[1:])
}

func (p *Parser) parseVerb(s Spec, args []string) (Command, error) {
	c, err := s.Args(p, s.Name, args)
	if err != nil {
		return Command{}, err
	}
	c.Verb = s.Name
	return c, nil
}

// helpIndex is the verb a bare command means: the one named help, else the first.
func (p *Parser) helpIndex() int {
	if i, ok := p.byWord["help"]; ok {
		return i
	}
	return 0
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

// list writes the verbs as "a, b, c or d".
func (p *Parser) list(conj string) string {
	names := p.Verbs()
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + conj + " " + names[len(names)-1]
}

func (p *Parser) unknownVerb(word string, args []string) error {
	i, near := p.suggestVerb(word)
	// "/notebook my-notebook 2h": the verb is missing.
	if _, hasExtend := p.byWord["extend"]; !near && hasExtend && ValidName(word) && len(args) > 0 && (isExtendKeyword(args[0]) || isDuration(args[0])) {
		return syntaxErr(p.exampleFor("extend", append([]string{word}, args...)),
			"Start with a command: %s.", p.list("or"))
	}
	if near {
		v := p.specs[i].Name
		return syntaxErr(p.exampleFor(v, args), "There is no command %s. Did you mean %s?", show(word), v)
	}
	return syntaxErr(Prefix+" help",
		"There is no command %s. The commands are %s.", show(word), p.list("and"))
}

// exampleFor is a correct command for verb: the user's own words after the
// verb when they make one, otherwise an example using the notebook they typed
// (when it is a valid name).
func (p *Parser) exampleFor(verb string, args []string) string {
	if len(args) <= 8 {
		if c, err := p.Parse(strings.TrimSpace(verb + " " + strings.Join(args, " "))); err == nil {
			return c.String()
		}
	}
	s, ok := p.Spec(verb)
	if !ok {
		return Prefix + " help"
	}
	if s.Example == nil {
		return Prefix + " " + verb
	}
	if len(args) > 0 && ValidName(args[0]) && !isExtendKeyword(args[0]) {
		// The person's own notebook, unless the example then reads
		// otherwise ("history 0" is a count, and not one that works).
		if ex := s.Example(args[0]); p.works(ex) {
			return ex
		}
	}
	return s.Example("my-notebook")
}

// works reports whether example, a full command, parses.
func (p *Parser) works(example string) bool {
	_, err := p.Parse(strings.TrimPrefix(example, Prefix+" "))
	return err == nil
}

// suggestVerb finds the verb closest to a mistyped word.
func (p *Parser) suggestVerb(word string) (int, bool) {
	w := strings.ToLower(word)
	if i, ok := p.syn[w]; ok {
		return i, true
	}
	if utf8.RuneCountInString(w) > 20 {
		return 0, false
	}
	best, d := suggest.Closest(w, p.Verbs(), func(w, name string) int {
		if len(w) >= 3 && strings.HasPrefix(name, w) {
			return 1 // "ext" is extend
		}
		return suggest.Distance(w, name)
	})
	// Three edits is another word; a one- or two-letter word is a wild
	// guess unless it is a prefix.
	if best < 0 || d >= 3 || utf8.RuneCountInString(w) <= 2 && !strings.HasPrefix(p.specs[best].Name, w) {
		return 0, false
	}
	return best, true
}

// ValidName reports whether s can be a ModelArts notebook name or ID.
func ValidName(s string) bool { return lease.ValidName(s) }

func checkName(s, hint string) error {
	if ValidName(s) {
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

// maxShown is how many characters of the input a message quotes.
const maxShown = 40

// show quotes a piece of input for a message: at most maxShown characters,
// with control, format and invalid characters replaced by '?'.
func show(s string) string {
	return `"` + Clip(clean(s), maxShown) + `"`
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

// Clip shortens s to at most n characters, never inside a UTF-8 sequence,
// marking a cut with "…": for quoting what people typed in messages and logs.
func Clip(s string, n int) string {
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

// Suggest returns the verb closest to a mistyped word, and whether there is
// one close enough to suggest.
func (p *Parser) Suggest(word string) (string, bool) {
	i, ok := p.suggestVerb(word)
	if !ok {
		return "", false
	}
	return p.specs[i].Name, true
}
