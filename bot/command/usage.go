package command

import "strings"

// The usage text, one part per verb. It is plain text with `code` spans and
// UPPER-CASE placeholders (no angle brackets, which Slack would eat);
// adapters may render or strip the backticks.
const (
	usageIntro = "`/notebook` sees and extends the auto-stop lease of ModelArts notebooks.\n"

	usageExtend = "`/notebook extend NOTEBOOK DURATION` pushes the stop time later by DURATION.\n" +
		"`/notebook extend NOTEBOOK until TIME` sets the stop time to TIME, in your Slack time zone.\n" +
		"  DURATION: 90m, 2h, 1h30m, 1.5h, 1d, PT2H (always with a unit: 2h, not 2). \"by 2h\" and \"for 2h\" work too.\n" +
		"  TIME: 18:30, 9:00, 6:30pm, 9am, today 18:00, tomorrow 09:00, 2026-12-01 09:00, 2026-12-01T09:00.\n" +
		"  A clock time already past today means tomorrow. Stop times only ever move later,\n" +
		"  to at most 72h from now; a channel may set a lower limit per extension.\n" +
		"  Examples: `/notebook extend my-notebook 2h`, `/notebook extend my-notebook until tomorrow 09:00`\n"

	usageStatus = "`/notebook status NOTEBOOK` shows its status, stop time and time left.\n" +
		"  Example: `/notebook status my-notebook`\n"

	usageList = "`/notebook list` lists the notebooks this channel may manage, running ones first.\n"

	usageHelp = "`/notebook help` shows this help; `/notebook help extend` shows one command.\n"

	usageNotebook = "NOTEBOOK is a notebook ID or its exact name (letters, digits, - and _).\n"
)

// Usage is the help text: every verb, the duration forms and the until
// forms, with examples. It is plain text with `code` spans, one line per
// item; adapters render it.
func Usage() string {
	return usageIntro + "\n" + usageExtend + usageStatus + usageList + usageHelp + "\n" + usageNotebook
}

// TopicUsage is the help on one verb (a Command's Topic); for "" or an
// unknown topic it is Usage().
func TopicUsage(topic string) string {
	switch Verb(strings.ToLower(topic)) {
	case Extend:
		return usageExtend + usageNotebook
	case Status:
		return usageStatus + usageNotebook
	case List:
		return usageList
	case Help:
		return usageHelp
	}
	return Usage()
}
