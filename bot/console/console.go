// Package console is the chat adapter for the terminal, the sibling of
// slackchat: it implements the same bot.Adapter contract and drives the same
// core, but the "channel" is the terminal. A person types `/notebook …`
// lines as a demo user in a demo channel, presses buttons by number
// (`press 2`) and switches the acting user (`as bob`) to see the access list
// refuse.
//
// Messages the core posts are printed, and a replaced message is printed
// again, marked as updated; every user is in the local time zone; user
// groups come from a map. All output goes through one lock, so the
// watcher's warnings and the replies to typed lines never interleave.
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leasebot/leasebot/bot"
)

// User is a demo user.
type User struct {
	ID   string // chat user ID, as the config's ACL names it
	Name string // what `as NAME` takes and what mentions show
	Note string // shown by `users`, e.g. "on the access list"
}

// Options configure a Console.
type Options struct {
	In  io.Reader // lines typed by the person
	Out io.Writer // everything the console shows

	Channel     string // the channel ID commands are typed in
	ChannelName string // shown as #name; default the channel ID
	Users       []User // demo users; the first one acts first
	Groups      map[string][]string

	// Location is every user's time zone, used to show times and read
	// "until 18:30"; default time.Local.
	Location *time.Location
	// Color turns on ANSI bold for emphasised text; set it only when Out is a terminal.
	Color bool
	// Interactive shows a prompt before each line. Without it, each line read
	// is echoed after the prompt, so that a piped session reads like a transcript.
	Interactive bool
}

// Console is a terminal chat. Post, Update, TimeZone and GroupMembers are
// safe for concurrent use; Run is called once.
type Console struct {
	in          *bufio.Reader
	channel     string
	channelName string
	users       []User
	groups      map[string][]string
	loc         *time.Location
	color       bool
	interactive bool

	mu         sync.Mutex // serialises output and guards what follows
	out        io.Writer
	acting     int  // index into users
	prompting  bool // a prompt is showing and waits for input
	printed    int  // blocks printed so far
	nextRef    int
	nextButton int
	buttons    map[int]pressable // button number → what it presses
	onRef      map[string][]int  // message ref → its button numbers
	retired    map[int]string    // number of a button no longer shown → its message ref
	refs       map[string]bool   // refs of messages posted
	homeRef    map[string]string // user → the ref of their home view shown last
}

type pressable struct {
	channel, ref string
	button       bot.Button
}

// New builds a Console. With no Users, a single user "demo" (U0DEMO) acts.
func New(o Options) *Console {
	if o.In == nil {
		o.In = strings.NewReader("")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.ChannelName == "" {
		o.ChannelName = o.Channel
	}
	if len(o.Users) == 0 {
		o.Users = []User{{ID: "U0DEMO", Name: "demo"}}
	}
	groups := make(map[string][]string, len(o.Groups))
	for g, members := range o.Groups {
		groups[g] = slices.Clone(members)
	}
	return &Console{
		in:          bufio.NewReader(o.In),
		channel:     o.Channel,
		channelName: o.ChannelName,
		users:       slices.Clone(o.Users),
		groups:      groups,
		loc:         o.Location,
		color:       o.Color,
		interactive: o.Interactive,
		out:         o.Out,
		buttons:     map[int]pressable{},
		onRef:       map[string][]int{},
		retired:     map[int]string{},
		refs:        map[string]bool{},
		homeRef:     map[string]string{},
	}
}

// Acting is the user whose commands and presses the console sends now.
func (c *Console) Acting() User {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.users[c.acting]
}

var _ interface {
	bot.Adapter
	bot.HomePublisher
} = (*Console)(nil)

// --- showing messages -----------------------------------------------------

// Post shows a message the core posts (a warning) and numbers its buttons.
func (c *Console) Post(_ context.Context, to bot.Target, m bot.Message) (bot.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextRef++
	ref := "m" + strconv.Itoa(c.nextRef)
	c.refs[ref] = true
	conv := to.Channel
	if to.User != "" {
		conv = directPrefix + to.User
	}
	nums := c.number(conv, ref, m.Buttons)
	c.emitLocked(c.block(fmt.Sprintf("leasebot %s (message %s)", c.placeLabel(conv), ref), m, nums))
	return bot.MessageRef{Conversation: conv, ID: ref}, nil
}

// Update shows the message that replaces message ref, marked as updated. The
// buttons of the replaced message can no longer be pressed.
func (c *Console) Update(_ context.Context, ref bot.MessageRef, m bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replaceLocked(ref, m)
}

func (c *Console) replaceLocked(r bot.MessageRef, m bot.Message) error {
	ref := r.ID
	if !c.refs[ref] {
		return fmt.Errorf("console: no message %q to update", ref)
	}
	for _, n := range c.onRef[ref] {
		delete(c.buttons, n)
		c.retired[n] = ref
	}
	delete(c.onRef, ref)
	nums := c.number(r.Conversation, ref, m.Buttons)
	c.emitLocked(c.block(fmt.Sprintf("leasebot %s (message %s, updated)", c.placeLabel(r.Conversation), ref), m, nums))
	return nil
}

// directPrefix marks the console's conversation with one person, the
// stand-in for a direct message from the app.
const directPrefix = "@"

// placeLabel says where a message is: "in #demo", or "to alice (direct message)".
func (c *Console) placeLabel(conv string) string {
	if user, ok := strings.CutPrefix(conv, directPrefix); ok {
		return "to " + c.nameOf(user) + " (direct message)"
	}
	return "in " + c.channelLabel(conv)
}

// number gives buttons the next free numbers; c.mu is held.
func (c *Console) number(channel, ref string, buttons []bot.Button) []int {
	nums := make([]int, len(buttons))
	for i, bt := range buttons {
		c.nextButton++
		nums[i] = c.nextButton
		c.buttons[c.nextButton] = pressable{channel: channel, ref: ref, button: bt}
		c.onRef[ref] = append(c.onRef[ref], c.nextButton)
	}
	return nums
}

func (c *Console) channelLabel(channel string) string {
	if channel == c.channel {
		return "#" + c.channelName
	}
	return channel
}

// --- directory ------------------------------------------------------------

// TimeZone is the console's time zone, for every user.
func (c *Console) TimeZone(context.Context, string) (*time.Location, error) { return c.loc, nil }

// GroupMembers lists a user group's members from Options.Groups; an unknown
// group has none.
func (c *Console) GroupMembers(_ context.Context, group string) ([]string, error) {
	return slices.Clone(c.groups[group]), nil
}

// --- output ---------------------------------------------------------------

// block renders a message: a header line, the text indented, and the
// buttons, if any, numbered on their own line.
func (c *Console) block(header string, m bot.Message, nums []int) string {
	var b strings.Builder
	b.WriteString(header + ":\n" + indent(c.render(m.Text)) + "\n")
	if len(m.Buttons) > 0 {
		b.WriteString(indent(buttonRow(nums, m.Buttons)) + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

func (c *Console) promptLocked() string { return c.users[c.acting].Name + "> " }

// emitLocked writes s; when a prompt is waiting for input (output from the
// watcher), s goes on a line of its own and the prompt is shown again.
// c.mu is held.
func (c *Console) emitLocked(s string) {
	if c.prompting {
		_, _ = io.WriteString(c.out, "\n")
	}
	_, _ = io.WriteString(c.out, s)
	c.printed++
	if c.prompting {
		_, _ = io.WriteString(c.out, c.promptLocked())
	}
}

func (c *Console) emit(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.emitLocked(s)
}

func (c *Console) emitf(format string, args ...any) { c.emit(fmt.Sprintf(format, args...)) }

// SyncWriter returns a writer to w that takes the console's output lock, so
// that log lines written to it (say, to stderr on the same terminal) never cut
// into a warning or a reply.
func (c *Console) SyncWriter(w io.Writer) io.Writer { return syncWriter{c: c, w: w} }

type syncWriter struct {
	c *Console
	w io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.prompting {
		_, _ = io.WriteString(s.c.out, "\n")
	}
	n, err := s.w.Write(p)
	if s.c.prompting {
		_, _ = io.WriteString(s.c.out, s.c.promptLocked())
	}
	return n, err
}

// reply shows the core's answer to the acting user; a reply that replaces
// the message a button was on (a confirmation) is shown as its update.
func (c *Console) reply(r bot.Reply, from bot.MessageRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := r.Message
	if r.Replace && from.ID != "" && c.replaceLocked(from, m) == nil {
		return
	}
	conv := c.channel
	if strings.HasPrefix(from.Conversation, directPrefix) {
		conv = from.Conversation
	}
	header := "leasebot (only you see this)"
	switch {
	case m.InChannel && conv != c.channel:
		header = "leasebot " + c.placeLabel(conv)
	case m.InChannel:
		header = fmt.Sprintf("leasebot in %s (visible to the channel)", c.channelLabel(c.channel))
	}
	var nums []int
	if len(m.Buttons) > 0 {
		c.nextRef++
		ref := "m" + strconv.Itoa(c.nextRef)
		c.refs[ref] = true
		nums = c.number(conv, ref, m.Buttons)
	}
	c.emitLocked(c.block(header, m, nums))
}

// --- input ----------------------------------------------------------------

type readResult struct {
	line string
	err  error
}

// Run reads lines until end of input, `quit` or the end of ctx, and carries
// out each one before reading the next, so that its reply is printed first.
// It returns nil then, or the error reading the input failed with.
//
// The read itself runs on its own goroutine so that the end of ctx (Ctrl-C)
// stops Run even while it waits for a line; that goroutine may stay blocked in
// the read until the process exits.
func (c *Console) Run(ctx context.Context, h bot.Handler) error {
	want := make(chan struct{})
	got := make(chan readResult)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-want:
			case <-done:
				return
			}
			line, err := c.in.ReadString('\n')
			select {
			case got <- readResult{line, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	for {
		if ctx.Err() != nil {
			c.endPrompt()
			return nil
		}
		c.showPrompt()
		var r readResult
		select {
		case want <- struct{}{}:
			select {
			case r = <-got:
			case <-ctx.Done():
				c.endPrompt()
				return nil
			}
		case <-ctx.Done():
			c.endPrompt()
			return nil
		}
		c.mu.Lock()
		c.prompting = false
		c.mu.Unlock()
		if line := strings.TrimSpace(r.line); line != "" {
			if quit := c.handle(ctx, h, line); quit {
				return nil
			}
		}
		if r.err != nil {
			if errors.Is(r.err, io.EOF) {
				if c.interactive {
					c.emit("\n")
				}
				return nil
			}
			return fmt.Errorf("console: reading input: %w", r.err)
		}
	}
}

func (c *Console) showPrompt() {
	if !c.interactive {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = io.WriteString(c.out, c.promptLocked())
	c.prompting = true
}

func (c *Console) endPrompt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prompting {
		_, _ = io.WriteString(c.out, "\n")
		c.prompting = false
	}
}

// handle carries out one input line and reports whether it was quit.
func (c *Console) handle(ctx context.Context, h bot.Handler, line string) (quit bool) {
	line = strings.TrimSpace(stripControl(line))
	if line == "" {
		return false
	}
	if !c.interactive { // echo, so that a piped session reads like a transcript
		c.mu.Lock()
		_, _ = io.WriteString(c.out, c.promptLocked()+line+"\n")
		c.mu.Unlock()
	}
	fields := strings.Fields(line)
	word := strings.ToLower(fields[0])
	rest := strings.TrimSpace(line[len(fields[0]):])
	switch word {
	case "/notebook", "notebook":
		user := c.Acting()
		if r := h.Handle(ctx, bot.Event{Kind: bot.CommandEvent, User: user.ID, Channel: c.channel, Surface: bot.InChannel, Text: rest}); r != nil {
			c.reply(*r, bot.MessageRef{})
		}
	case "dm":
		c.direct(ctx, h, rest)
	case "home":
		user := c.Acting()
		h.Handle(ctx, bot.Event{Kind: bot.HomeOpenedEvent, User: user.ID, Surface: bot.InHome})
	case "press", "click":
		c.press(ctx, h, fields[1:])
	case "as":
		c.switchUser(fields[1:])
	case "users", "who":
		c.listUsers()
	case "help", "?":
		c.help()
	case "quit", "exit", "bye":
		return true
	default:
		switch {
		case strings.HasPrefix(word, "/"):
			c.emitf("Only /notebook is a command here. Type help for what this console understands.\n\n")
		case slices.Contains(bot.Verbs(), word):
			c.emitf("Did you mean: /notebook %s\n(Type help for what this console understands.)\n\n", line)
		default:
			c.emitf("I don't understand %q. Type help for what this console understands, or /notebook help.\n\n", line)
		}
	}
	return false
}

// direct sends a command typed in the acting user's direct message with the app.
func (c *Console) direct(ctx context.Context, h bot.Handler, rest string) {
	fields := strings.Fields(rest)
	if len(fields) == 0 || !strings.EqualFold(strings.TrimPrefix(fields[0], "/"), "notebook") {
		c.emitf("Say the command after dm, like: dm /notebook list\n\n")
		return
	}
	user := c.Acting()
	conv := directPrefix + user.ID
	text := strings.TrimSpace(rest[len(fields[0]):])
	if r := h.Handle(ctx, bot.Event{Kind: bot.CommandEvent, User: user.ID, Channel: conv, Surface: bot.InDirect, Text: text}); r != nil {
		c.reply(*r, bot.MessageRef{Conversation: conv})
	}
}

// PublishHome shows a person's home view, numbering its buttons; the
// buttons of their previous view can no longer be pressed.
func (c *Console) PublishHome(_ context.Context, user string, v bot.Home) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	conv := homePrefix + user
	if old, ok := c.homeRef[user]; ok {
		for _, n := range c.onRef[old] {
			delete(c.buttons, n)
			c.retired[n] = old
		}
		delete(c.onRef, old)
	}
	c.nextRef++
	ref := "m" + strconv.Itoa(c.nextRef)
	c.refs[ref] = true
	c.homeRef[user] = ref
	var b strings.Builder
	fmt.Fprintf(&b, "%s's App Home (message %s): %s\n", c.nameOf(user), ref, c.render(v.Title))
	if len(v.Intro) > 0 {
		b.WriteString(indent(c.render(v.Intro)) + "\n")
	}
	if len(v.Items) == 0 && len(v.Empty) > 0 {
		b.WriteString(indent(c.render(v.Empty)) + "\n")
	}
	for _, it := range v.Items {
		nums := c.number(conv, ref, it.Buttons)
		b.WriteString(indent("• "+c.render(it.Text)) + "\n")
		if len(it.Buttons) > 0 {
			b.WriteString(indent("  "+buttonRow(nums, it.Buttons)) + "\n")
		}
	}
	c.emitLocked(b.String() + "\n")
	return nil
}

// homePrefix marks the buttons of a home view.
const homePrefix = "home:"

// press presses button N.
func (c *Console) press(ctx context.Context, h bot.Handler, args []string) {
	if len(args) != 1 {
		c.emitf("Say which button: press N, with N the number in [brackets] under a warning.\n\n")
		return
	}
	n, err := strconv.Atoi(strings.Trim(args[0], "[]"))
	c.mu.Lock()
	p, ok := c.buttons[n]
	gone := c.retired[n]
	var shown []int
	for k := range c.buttons {
		shown = append(shown, k)
	}
	before := c.printed
	c.mu.Unlock()
	if err != nil || !ok {
		slices.Sort(shown)
		var b strings.Builder
		switch {
		case err != nil:
			fmt.Fprintf(&b, "%q is not a button number.", args[0])
		case gone != "":
			fmt.Fprintf(&b, "Button [%d] is gone: message %s was updated since it was shown.", n, gone)
		default:
			fmt.Fprintf(&b, "There is no button [%d].", n)
		}
		if len(shown) == 0 {
			b.WriteString(" No message shows buttons right now; warnings appear when a notebook is about to stop.")
		} else {
			b.WriteString(" Buttons you can press:")
			for _, k := range shown {
				fmt.Fprintf(&b, " [%d]", k)
			}
			b.WriteString(".")
		}
		c.emit(b.String() + "\n\n")
		return
	}
	user := c.Acting()
	e := bot.Event{Kind: bot.ClickEvent, User: user.ID, Channel: p.channel, Surface: bot.InChannel,
		Action: p.button.Action, Value: p.button.Value, Message: bot.MessageRef{Conversation: p.channel, ID: p.ref}}
	switch {
	case strings.HasPrefix(p.channel, directPrefix):
		e.Surface = bot.InDirect
	case strings.HasPrefix(p.channel, homePrefix):
		e.Surface, e.Channel, e.Message = bot.InHome, "", bot.MessageRef{}
	}
	if reply := h.Handle(ctx, e); reply != nil {
		c.reply(*reply, e.Message)
		return
	}
	c.mu.Lock()
	nothing := c.printed == before
	c.mu.Unlock()
	if nothing {
		c.emitf("(Pressing [%d] did nothing.)\n\n", n)
	}
}

// switchUser makes another demo user act.
func (c *Console) switchUser(args []string) {
	if len(args) != 1 {
		c.emitf("Say who: as NAME, with NAME one of %s.\n\n", c.userNames())
		return
	}
	for i, u := range c.users {
		if strings.EqualFold(u.Name, args[0]) || strings.EqualFold(u.ID, args[0]) {
			c.mu.Lock()
			c.acting = i
			c.mu.Unlock()
			msg := fmt.Sprintf("You are now %s (%s)", u.Name, u.ID)
			if u.Note != "" {
				msg += ", " + u.Note
			}
			c.emit(msg + ".\n\n")
			return
		}
	}
	c.emitf("There is no demo user %q; the demo users are %s.\n\n", args[0], c.userNames())
}

func (c *Console) userNames() string {
	names := make([]string, len(c.users))
	for i, u := range c.users {
		names[i] = u.Name
	}
	return strings.Join(names, ", ")
}

func (c *Console) listUsers() {
	acting := c.Acting()
	var b strings.Builder
	b.WriteString("Demo users (switch with as NAME):\n")
	for _, u := range c.users {
		mark := "  "
		if u.ID == acting.ID {
			mark = "* "
		}
		b.WriteString(strings.TrimRight(fmt.Sprintf("%s%-8s %-10s %s", mark, u.Name, u.ID, u.Note), " ") + "\n")
	}
	b.WriteString("(* is you)\n\n")
	c.emit(b.String())
}

func (c *Console) help() {
	label := c.channelLabel(c.channel)
	var b strings.Builder
	b.WriteString("This console stands in for a Slack channel, " + label + ". It understands:\n")
	b.WriteString("  /notebook …   a leasebot command, as the acting user in " + label + " (the / is optional)\n")
	b.WriteString("  press N       press button [N] under a message (a warning, the home view, a confirmation)\n")
	b.WriteString("  dm /notebook … the same command in your direct message with the app (owners manage their own notebooks there)\n")
	b.WriteString("  home          open your App Home: your notebooks, with buttons\n")
	b.WriteString("  as NAME       act as another demo user (" + c.userNames() + ")\n")
	b.WriteString("  users         list the demo users\n")
	b.WriteString("  help          this help\n")
	b.WriteString("  quit, exit    leave (end of input does too)\n")
	b.WriteString("\n/notebook help:\n")
	b.WriteString(indent(c.render(bot.Text{}.Plain(strings.TrimRight(bot.Usage(), "\n")))) + "\n\n")
	c.emit(b.String())
}
