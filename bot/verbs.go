package bot

import (
	"context"
	"strings"

	"github.com/leasebot/leasebot/bot/command"
	"github.com/leasebot/leasebot/bot/config"
)

// verb is one row of the command table: its grammar (the words, how its
// arguments read, its help), what it changes, and the function that
// carries it out. Parsing, help, "did you mean" and dispatch all come from
// this one table: adding a verb is one row, its handler and its test.
type verb struct {
	command.Spec
	// change is the action the verb takes, checked against the channel's
	// (or the owner rule's) actions; "" for a read, open to every member.
	change config.Action
	handle func(b *Bot, ctx context.Context, r *request) result
}

// verbs is the command table, in the order help shows it.
var verbs = []verb{
	{
		Spec: command.Spec{
			Name:     "extend",
			Synonyms: []string{"renew", "prolong", "lengthen", "add", "bump", "snooze", "postpone", "delay", "more"},
			Topics:   []string{"until", "time", "times", "duration", "durations"},
			Args:     command.ExtendArgs,
			Usage: "`/notebook extend NOTEBOOK DURATION` pushes the stop time later by DURATION.\n" +
				"`/notebook extend NOTEBOOK until TIME` sets the stop time to TIME, in your Slack time zone.\n" +
				"  DURATION: 90m, 2h, 1h30m, 1.5h, 1d, PT2H (a unit after every number: 2h, not 2; 2h30m, not 2 30m). \"by 2h\" and \"for 2h\" work too.\n" +
				"  TIME: 18:30, 9:00, 6:30pm, 9am, today 18:00, tomorrow 09:00, fri 18:00, 2026-12-01 09:00, 2026-12-01T09:00.\n" +
				"  A clock time already past today means tomorrow. Stop times only ever move later,\n" +
				"  to at most 72h from now; a channel may set a lower limit per extension.\n" +
				"  Examples: `/notebook extend my-notebook 2h`, `/notebook extend my-notebook until tomorrow 09:00`\n",
			Example: func(nb string) string { return command.Prefix + " extend " + nb + " 2h" },
		},
		change: config.ActionExtend,
		handle: (*Bot).extend,
	},
	{
		Spec: command.Spec{
			Name:     "status",
			Synonyms: []string{"show", "info", "get", "state", "check", "stat"},
			Args:     command.NotebookArg,
			Usage: "`/notebook status NOTEBOOK` shows its status, stop time and time left.\n" +
				"  Example: `/notebook status my-notebook`\n",
			Example: func(nb string) string { return command.Prefix + " status " + nb },
		},
		handle: (*Bot).status,
	},
	{
		Spec: command.Spec{
			Name:     "list",
			Synonyms: []string{"ls", "all", "notebooks"},
			Args:     command.NoArgs,
			Usage:    "`/notebook list` lists the notebooks this channel may manage, running ones first.\n",
		},
		handle: (*Bot).list,
	},
	{
		Spec: command.Spec{
			Name:     "history",
			Synonyms: []string{"log", "audit", "changes", "past", "hist"},
			Args:     command.OptionalNotebookAndCount,
			Usage: "`/notebook history [NOTEBOOK] [N]` shows the last N changes (default 10, at most 50): of one notebook, or of every notebook this channel manages.\n" +
				"  Examples: `/notebook history`, `/notebook history my-notebook 20`\n",
			Example: func(nb string) string { return command.Prefix + " history " + nb },
		},
		handle: (*Bot).history,
	},
	{
		Spec: command.Spec{
			Name:     "keep",
			Synonyms: []string{"pin", "hold", "reserve"},
			Args:     command.KeepArgs,
			Usage: "`/notebook keep NOTEBOOK until TIME` keeps it running until TIME, past ModelArts' 72h limit: leasebot renews its lease as it runs out.\n" +
				"`/notebook keep NOTEBOOK off` ends a keep; the current lease stays.\n" +
				"  TIME as for extend, or a weekday: fri 18:00, monday 09:00. A channel's max_keep bounds how far ahead.\n" +
				"  Example: `/notebook keep my-notebook until fri 18:00`\n",
			Example: func(nb string) string { return command.Prefix + " keep " + nb + " until fri 18:00" },
		},
		change: config.ActionKeep,
		handle: (*Bot).keep,
	},
	{
		Spec: command.Spec{
			Name:     "start",
			Synonyms: []string{"run", "launch", "boot", "resume", "up"},
			Args:     command.NotebookAndOptionalDuration,
			Usage: "`/notebook start NOTEBOOK [DURATION]` starts a stopped notebook to run for DURATION (default 4h) before its first stop.\n" +
				"  Example: `/notebook start my-notebook 2h`\n",
			Example: func(nb string) string { return command.Prefix + " start " + nb },
		},
		change: config.ActionStart,
		handle: (*Bot).start,
	},
	{
		Spec: command.Spec{
			Name:     "stop",
			Synonyms: []string{"halt", "kill", "shutdown", "down", "terminate", "end"},
			Args:     command.NotebookArg,
			Usage: "`/notebook stop NOTEBOOK` stops a running notebook, after you confirm.\n" +
				"  Example: `/notebook stop my-notebook`\n",
			Example: func(nb string) string { return command.Prefix + " stop " + nb },
		},
		change: config.ActionStop,
		handle: (*Bot).stop,
	},
	{
		Spec: command.Spec{
			Name:     "help",
			Aliases:  []string{"?", "-h", "--help"},
			Synonyms: []string{"usage", "h", "man"},
			Args:     command.HelpArgs,
			Usage:    "`/notebook help` shows this help; `/notebook help extend` shows one command.\n",
		},
		handle: (*Bot).help,
	},
}

const (
	usageIntro    = "`/notebook` sees and extends the auto-stop lease of ModelArts notebooks.\n"
	usageNotebook = "NOTEBOOK is a notebook ID or its exact name (letters, digits, - and _).\n"
)

// parser reads commands with the verb table; verbByName finds a row.
var (
	parser     *command.Parser
	verbByName map[string]*verb
)

func init() {
	specs := make([]command.Spec, len(verbs))
	verbByName = make(map[string]*verb, len(verbs))
	for i := range verbs {
		specs[i] = verbs[i].Spec
		verbByName[verbs[i].Name] = &verbs[i]
	}
	parser = command.NewParser(usageIntro, usageNotebook, specs...)
}

// Usage is the help text of /notebook, for adapters that show it on their own.
func Usage() string { return parser.Usage() }

// verbOf finds the verb a (possibly malformed) command text starts with,
// so that a refused change can still be audited under its verb.
func verbOf(text string) *verb {
	f := strings.Fields(strings.ToLower(text))
	if len(f) > 0 && f[0] == command.Prefix {
		f = f[1:]
	}
	if len(f) == 0 {
		return nil
	}
	return verbByName[f[0]]
}

// Verbs lists the verbs of /notebook, for adapters that suggest them.
func Verbs() []string { return parser.Verbs() }
