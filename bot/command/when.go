package command

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTimePassed is behind the *SyntaxError Resolve returns for an explicit
// day ("today 08:00", "2026-12-01 09:00") whose time has already passed.
var ErrTimePassed = errors.New("that time has passed")

// DayKind says which day a When names.
type DayKind int

// The days a When can name.
const (
	AnyDay    DayKind = iota // a bare clock time ("18:30"): the next time the clock shows it
	Today                    // "today 18:00"
	Tomorrow                 // "tomorrow 09:00"
	OnDate                   // "2026-12-01 09:00": Year, Month and Date are set
	OnWeekday                // "fri 18:00": Weekday is set; the next such day, today included while the time is ahead
)

// When is an absolute time as typed: a wall-clock time on a day that is
// resolved later, in the caller's time zone, by Resolve.
type When struct {
	Day     DayKind
	Year    int          // OnDate only
	Month   time.Month   // OnDate only
	Date    int          // day of the month, OnDate only
	Weekday time.Weekday // OnWeekday only
	Hour    int          // 0–23
	Minute  int          // 0–59
}

// String writes w normalised: "18:30", "today 18:00", "tomorrow 09:00",
// "2026-12-01 09:00". Parse reads it back to the same When.
func (w When) String() string {
	clock := fmt.Sprintf("%02d:%02d", w.Hour, w.Minute)
	switch w.Day {
	case Today:
		return "today " + clock
	case Tomorrow:
		return "tomorrow " + clock
	case OnDate:
		return fmt.Sprintf("%04d-%02d-%02d %s", w.Year, int(w.Month), w.Date, clock)
	case OnWeekday:
		return strings.ToLower(w.Weekday.String()[:3]) + " " + clock
	}
	return clock
}

// weekdays maps the names people type to days.
var weekdays = map[string]time.Weekday{
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "weds": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
	"sun": time.Sunday, "sunday": time.Sunday,
}

func isWeekday(w string) bool {
	_, ok := weekdays[w]
	return ok
}

// Resolve turns w into an instant, reading the wall-clock time in loc (nil
// means UTC):
//
//   - a bare clock time is the next time after now that the clock in loc
//     shows it: today if that is still ahead, otherwise tomorrow;
//   - "today" and an explicit date must be after now, otherwise the error is
//     a *SyntaxError wrapping ErrTimePassed ("that time has passed"), with
//     no Hint;
//   - "tomorrow" is the day after now's date in loc.
//
// The result is in loc, and always after now when err is nil. An invalid
// When (hour 24, 30 February) is a *SyntaxError too.
//
// Daylight saving time: Resolve does not rely on time.Date's choice at a
// transition, which differs between zones; it decides itself. A wall time
// that does not exist (skipped when clocks go forward) moves forward by the
// gap: 02:30 on the day Berlin goes from 02:00 to 03:00 is 03:30 CEST. A wall
// time that occurs twice (clocks go back) is the first occurrence that is
// after now, so 02:30 on the day Berlin goes back is 02:30 CEST while that is
// ahead, then 02:30 CET.
func (w When) Resolve(now time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	if err := w.Validate(); err != nil {
		return time.Time{}, err
	}
	n := now.In(loc)
	y, m, d := n.Date()
	switch w.Day {
	case AnyDay:
		if t, ok := firstAfter(wallInstants(y, m, d, w.Hour, w.Minute, loc), now); ok {
			return t, nil
		}
		return wallInstants(y, m, d+1, w.Hour, w.Minute, loc)[0], nil
	case Tomorrow:
		return wallInstants(y, m, d+1, w.Hour, w.Minute, loc)[0], nil
	case OnWeekday:
		// The next such day whose wall time is still ahead: today counts.
		ahead := (int(w.Weekday) - int(n.Weekday()) + 7) % 7
		if t, ok := firstAfter(wallInstants(y, m, d+ahead, w.Hour, w.Minute, loc), now); ok {
			return t, nil
		}
		return wallInstants(y, m, d+ahead+7, w.Hour, w.Minute, loc)[0], nil
	case Today:
	case OnDate:
		y, m, d = w.Year, w.Month, w.Date
	}
	if t, ok := firstAfter(wallInstants(y, m, d, w.Hour, w.Minute, loc), now); ok {
		return t, nil
	}
	return time.Time{}, &SyntaxError{
		Msg: fmt.Sprintf("That time has passed: %s is before now. Pick a later time.", w),
		err: ErrTimePassed,
	}
}

// Validate reports an impossible When (hour 24, 30 February) as a *SyntaxError.
func (w When) Validate() error {
	bad := func(what string) error {
		return &SyntaxError{Msg: fmt.Sprintf("That is not a valid time: %s.", what)}
	}
	if w.Hour < 0 || w.Hour > 23 || w.Minute < 0 || w.Minute > 59 {
		return bad("the clock time is out of range")
	}
	switch w.Day {
	case AnyDay, Today, Tomorrow:
	case OnWeekday:
		if w.Weekday < time.Sunday || w.Weekday > time.Saturday {
			return bad("there is no such day of the week")
		}
	case OnDate:
		if !validDate(w.Year, w.Month, w.Date) {
			return bad("the date does not exist")
		}
	default:
		return bad("the day is unknown")
	}
	return nil
}

func validDate(y int, m time.Month, d int) bool {
	if y < 1000 || y > 9999 || m < time.January || m > time.December || d < 1 || d > 31 {
		return false
	}
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return t.Day() == d && t.Month() == m
}

func firstAfter(ts []time.Time, now time.Time) (time.Time, bool) {
	for _, t := range ts {
		if t.After(now) {
			return t, true
		}
	}
	return time.Time{}, false
}

// wallInstants returns, in order, the instants at which the clock in loc
// shows hh:mm on the given day (the day is normalised like time.Date's):
// one normally, two when clocks go back over that time, and when clocks go
// forward over it the one instant it would be had they not, which reads
// hh:mm plus the gap.
func wallInstants(y int, m time.Month, d, hh, mm int, loc *time.Location) []time.Time {
	wall := time.Date(y, m, d, hh, mm, 0, 0, time.UTC) // the wall time, as if it were UTC
	u := wall.Unix()
	guess := time.Date(y, m, d, hh, mm, 0, 0, loc)
	var offsets []int
	for _, t := range []time.Time{guess.Add(-26 * time.Hour), guess, guess.Add(26 * time.Hour)} {
		_, off := t.Zone()
		if !containsInt(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	var exact, later []time.Time
	for _, off := range offsets {
		t := time.Unix(u-int64(off), 0).In(loc)
		switch tw := wallOf(t); {
		case tw.Equal(wall):
			exact = insertSorted(exact, t)
		case tw.After(wall):
			later = insertSorted(later, t)
		}
	}
	switch {
	case len(exact) > 0:
		return exact
	case len(later) > 0:
		return later[:1]
	}
	return []time.Time{guess}
}

// wallOf is t's wall-clock reading, as a UTC time.
func wallOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func insertSorted(ts []time.Time, t time.Time) []time.Time {
	for i, v := range ts {
		if v.Equal(t) {
			return ts
		}
		if t.Before(v) {
			return append(ts[:i], append([]time.Time{t}, ts[i:]...)...)
		}
	}
	return append(ts, t)
}

// parseWhen reads a time from the words after "until" and returns it with
// the number of words used. Forms: 18:30, 9:00, 6:30pm, 9am, 9 am, noon,
// midnight, optionally preceded by "today", "tomorrow" or a YYYY-MM-DD date
// (and "at"), or followed by "today" or "tomorrow"; and 2026-12-01T09:00.
func parseWhen(words []string, pre string) (When, int, error) {
	hint := pre + " 18:30"
	var w When
	i := 0
	if len(words) > 1 && strings.EqualFold(words[0], "at") {
		i = 1 // "until at 18:00"
	}
	first := strings.ToLower(words[i])
	switch {
	case first == "today":
		w.Day, i = Today, i+1
	case first == "tomorrow" || first == "tmrw":
		w.Day, i = Tomorrow, i+1
	case isWeekday(first):
		w.Day, w.Weekday, i = OnWeekday, weekdays[first], i+1
	case looksLikeISODate(first):
		datePart, clockPart, hasT := strings.Cut(first, "t")
		y, m, d, ok := parseDate(datePart)
		if !ok {
			return When{}, 0, syntaxErr(pre+" 2026-12-01 09:00",
				"%s is not a date: write it as YYYY-MM-DD, like 2026-12-01.", show(words[i]))
		}
		w.Day, w.Year, w.Month, w.Date, i = OnDate, y, m, d, i+1
		if hasT {
			if clockPart == "" {
				return When{}, 0, syntaxErr(pre+" "+datePart+"T09:00",
					"Add a time of day after the T, like %sT09:00.", datePart)
			}
			h, mi, used, err := parseClock(clockPart, words[i:], hint)
			if err != nil {
				return When{}, 0, err
			}
			w.Hour, w.Minute = h, mi
			i += used
			return w, i, checkNoZone(words[i:], w, pre)
		}
	case looksLikeOtherDate(first):
		return When{}, 0, syntaxErr(pre+" 2026-12-01 09:00",
			"Write dates as YYYY-MM-DD, like 2026-12-01: %s could mean two different days.", show(words[i]))
	}
	if w.Day != AnyDay {
		if i < len(words) && strings.EqualFold(words[i], "at") {
			i++
		}
		if i >= len(words) {
			day := strings.SplitN(w.String(), " ", 2)[0]
			return When{}, 0, syntaxErr(pre+" "+day+" 09:00",
				"Add a time of day after %q, like %s 09:00.", day, day)
		}
	}
	h, mi, used, err := parseClock(strings.ToLower(words[i]), words[i+1:], hint)
	if err != nil {
		return When{}, 0, err
	}
	w.Hour, w.Minute = h, mi
	i += 1 + used
	if w.Day == AnyDay && i < len(words) {
		switch strings.ToLower(words[i]) {
		case "today":
			w.Day, i = Today, i+1
		case "tomorrow", "tmrw":
			w.Day, i = Tomorrow, i+1
		}
	}
	return w, i, checkNoZone(words[i:], w, pre)
}

func checkNoZone(rest []string, w When, pre string) error {
	if len(rest) > 0 && isZone(rest[0]) {
		return syntaxErr(pre+" "+w.String(),
			"Leave out %s: times are read in your own Slack time zone.", show(rest[0]))
	}
	return nil
}

var zones = map[string]bool{
	"utc": true, "gmt": true, "z": true, "cet": true, "cest": true, "eet": true, "eest": true,
	"wet": true, "west": true, "bst": true, "ist": true, "est": true, "edt": true, "cst": true,
	"cdt": true, "mst": true, "mdt": true, "pst": true, "pdt": true, "jst": true, "sgt": true,
	"hkt": true, "aest": true, "aedt": true, "msk": true,
}

// isZone reports whether a word names a time zone or UTC offset:
// "UTC", "CET", "+02:00", "UTC+2".
func isZone(word string) bool {
	w := strings.ToLower(word)
	if zones[w] {
		return true
	}
	for _, p := range []string{"utc", "gmt"} {
		if rest, ok := strings.CutPrefix(w, p); ok && rest != "" && (rest[0] == '+' || rest[0] == '-') {
			w = rest
		}
	}
	if len(w) < 2 || (w[0] != '+' && w[0] != '-') {
		return false
	}
	for i := 1; i < len(w); i++ {
		if !(w[i] >= '0' && w[i] <= '9' || w[i] == ':') {
			return false
		}
	}
	return true
}

func looksLikeISODate(s string) bool {
	return len(s) >= 5 && allDigits(s[:4]) && s[4] == '-'
}

// looksLikeOtherDate spots 12/01/2026, 1.12.2026 and 12/01.
func looksLikeOtherDate(s string) bool {
	digits, slashes, dots := 0, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '/':
			slashes++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && (slashes > 0 || dots >= 2)
}

// parseDate reads YYYY-MM-DD (month and day may have one digit).
func parseDate(s string) (int, time.Month, int, bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) != 4 || !allDigits(parts[0]) ||
		len(parts[1]) < 1 || len(parts[1]) > 2 || !allDigits(parts[1]) ||
		len(parts[2]) < 1 || len(parts[2]) > 2 || !allDigits(parts[2]) {
		return 0, 0, 0, false
	}
	y, m, d := atoi(parts[0]), time.Month(atoi(parts[1])), atoi(parts[2])
	if !validDate(y, m, d) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// parseClock reads a lower-case clock time, taking "am" or "pm" from the
// next word if it is one. It returns the hour, the minute and how many of
// next it used.
func parseClock(tok string, next []string, hint string) (int, int, int, error) {
	notTime := func(why string) error {
		return syntaxErr(hint, "%s is not a time: %s.", show(tok), why)
	}
	switch tok {
	case "noon":
		return 12, 0, 0, nil
	case "midnight":
		return 0, 0, 0, nil
	}
	used := 0
	ampm := ""
	for _, suf := range []string{"a.m.", "p.m.", "a.m", "p.m", "am", "pm"} {
		if rest, ok := strings.CutSuffix(tok, suf); ok && rest != "" {
			tok, ampm = rest, suf[:1]
			break
		}
	}
	if ampm == "" && len(next) > 0 {
		switch strings.ToLower(next[0]) {
		case "am", "a.m.", "a.m":
			ampm, used = "a", 1
		case "pm", "p.m.", "p.m":
			ampm, used = "p", 1
		}
	}
	if clock, ok := cutZone(tok); ok {
		return 0, 0, 0, syntaxErr(hint, "Leave out the time zone after %s: times are read in your own Slack time zone.", show(clock))
	}
	parts := strings.Split(tok, ":")
	if len(parts) == 1 && strings.Count(tok, ".") == 1 {
		if h, mi, ok := strings.Cut(tok, "."); ok && allDigits(h) && allDigits(mi) && h != "" && len(mi) == 2 {
			return 0, 0, 0, syntaxErr(hint, "Write times with a colon, like %s:%s.", h, mi)
		}
	}
	if len(parts) > 3 || parts[0] == "" || len(parts[0]) > 2 || !allDigits(parts[0]) {
		return 0, 0, 0, notTime("write it like 18:30, 9:00, 6:30pm or 9am")
	}
	h, mi := atoi(parts[0]), 0
	if len(parts) == 1 && ampm == "" {
		return 0, 0, 0, notTime(fmt.Sprintf("write %s:00, %sam or %spm", parts[0], parts[0], parts[0]))
	}
	if len(parts) >= 2 {
		if len(parts[1]) != 2 || !allDigits(parts[1]) {
			return 0, 0, 0, notTime("write the minutes with two digits, like 9:05")
		}
		mi = atoi(parts[1])
	}
	if len(parts) == 3 && parts[2] != "00" {
		return 0, 0, 0, notTime("leasebot sets stop times to the minute, so leave out the seconds")
	}
	if mi > 59 {
		return 0, 0, 0, notTime("minutes go from 00 to 59")
	}
	switch {
	case ampm != "" && (h < 1 || h > 12):
		return 0, 0, 0, notTime("with am or pm, hours go from 1 to 12")
	case ampm == "a" && h == 12:
		h = 0
	case ampm == "p" && h < 12:
		h += 12
	case h > 23:
		return 0, 0, 0, notTime("hours go from 0 to 23")
	}
	return h, mi, used, nil
}

// cutZone spots a clock time with a zone glued on: "09:00z", "09:00+02:00",
// "18:30utc". It returns the clock part.
func cutZone(tok string) (string, bool) {
	clock := tok
	if i := strings.IndexAny(tok, "+-"); i > 0 {
		clock = tok[:i]
	} else {
		for _, suf := range []string{"z", "utc", "gmt"} {
			if c, ok := strings.CutSuffix(tok, suf); ok {
				clock = c
				break
			}
		}
	}
	if clock == tok || clock == "" || clock[0] < '0' || clock[0] > '9' {
		return "", false
	}
	for i := 0; i < len(clock); i++ {
		if !(clock[i] >= '0' && clock[i] <= '9' || clock[i] == ':') {
			return "", false
		}
	}
	return clock, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi reads a short string of digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
