// Package duration reads and writes the durations people type: 90m, 2h, 1h30m,
// 1.5h, 1d, PT2H, 60s.
package duration

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Max is the longest duration Parse accepts; anything longer is surely a typo.
const Max = 10000 * time.Hour

// ErrBareNumber is returned for a number without a unit, such as "2".
var ErrBareNumber = errors.New("a duration needs a unit")

// Error is a duration that could not be read.
type Error struct {
	Input  string
	Reason string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%q is not a duration: %s", e.Input, e.Reason)
}

// Unwrap returns ErrBareNumber for unit-less numbers.
func (e *Error) Unwrap() error { return e.Err }

var units = map[byte]time.Duration{
	'd': 24 * time.Hour,
	'h': time.Hour,
	'm': time.Minute,
	's': time.Second,
}

// Parse reads a positive duration: a sequence of number+unit pairs with units
// d, h, m, s in that order (90m, 2h, 1h30m, 1.5h, 1d, 60s), or an ISO 8601
// duration (PT2H, P1DT2H, PT90M). Case and surrounding space do not matter.
func Parse(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	low := strings.ToLower(in)
	if low == "" {
		return 0, &Error{Input: s, Reason: "it is empty"}
	}
	if _, err := strconv.ParseFloat(low, 64); err == nil {
		return 0, &Error{Input: s, Reason: fmt.Sprintf("add a unit, e.g. %sh or %sm", in, in), Err: ErrBareNumber}
	}
	d, err := parse(low)
	if err != nil {
		return 0, &Error{Input: s, Reason: err.Error()}
	}
	if d <= 0 {
		return 0, &Error{Input: s, Reason: "it must be longer than zero"}
	}
	return d, nil
}

// IsZero reports whether s writes zero: a bare 0 (or 0.0), or a duration
// in the grammar of Parse whose every number is zero (0s, 0m, 0h, 0d, 0h0m,
// PT0S, P0D). Parse refuses zero, which is right everywhere except in a
// setting where 0 means off; IsZero is for those, so that nothing else (s0,
// 0d0, a value that merely rounds to zero) reads as off by accident.
func IsZero(s string) bool {
	low := strings.ToLower(strings.TrimSpace(s))
	if !strings.Contains(low, "0") || strings.ContainsAny(low, "123456789") {
		return false
	}
	if strings.Trim(low, "0.") == "" {
		_, err := strconv.ParseFloat(low, 64)
		return err == nil
	}
	d, err := parse(low)
	return err == nil && d == 0
}

// parse reads a lower-case duration of either grammar, zero included.
func parse(low string) (time.Duration, error) {
	if low[0] == 'p' {
		return parseISO(low[1:])
	}
	return parseUnits(low, "dhms")
}

// parseUnits reads number+unit pairs whose units appear in order within allowed.
func parseUnits(s, allowed string) (time.Duration, error) {
	var total float64
	last := -1
	for len(s) > 0 {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, errors.New("use a number and a unit, e.g. 2h, 90m or 1h30m")
		}
		if i == len(s) {
			return 0, fmt.Errorf("%q has no unit", s)
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return 0, fmt.Errorf("%q is not a number", s[:i])
		}
		u := s[i]
		pos := strings.IndexByte(allowed, u)
		if pos < 0 {
			return 0, fmt.Errorf("unknown unit %q (use d, h, m or s)", string(u))
		}
		if pos <= last {
			return 0, errors.New("units must go from largest to smallest, each once")
		}
		last = pos
		total += n * float64(units[u])
		if total > float64(Max) {
			return 0, fmt.Errorf("it is longer than %s", Format(Max))
		}
		s = s[i+1:]
	}
	return time.Duration(math.Round(total)), nil
}

// parseISO reads the part of an ISO 8601 duration after the leading P.
func parseISO(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("an ISO 8601 duration needs a value, e.g. PT2H")
	}
	date, clock, hasT := strings.Cut(s, "t")
	if hasT && clock == "" {
		return 0, errors.New("nothing follows T")
	}
	var d time.Duration
	if date != "" {
		v, err := parseUnits(date, "d")
		if err != nil {
			return 0, err
		}
		d += v
	}
	if clock != "" {
		v, err := parseUnits(clock, "hms")
		if err != nil {
			return 0, err
		}
		d += v
	}
	if d > Max {
		return 0, fmt.Errorf("it is longer than %s", Format(Max))
	}
	return d, nil
}

// Format writes d for people: "45m", "2h", "1h 30m", "61h 05m", "30s", "500ms".
// It rounds down to the minute once d is a minute or more.
func Format(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d > 0 && d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	h := int64(d / time.Hour)
	m := int64(d % time.Hour / time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dh %02dm", h, m)
	}
}

// FormatLong writes a duration that may span days, with days when it is
// two days or more ("7d", "4d 2h", "3d 0h 30m"), else like Format. Keeps
// and their limits are counted in days.
func FormatLong(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < 48*time.Hour {
		return Format(d)
	}
	days := int64(d / (24 * time.Hour))
	rest := d % (24 * time.Hour)
	h, m := int64(rest/time.Hour), int64(rest%time.Hour/time.Minute)
	switch {
	case h == 0 && m == 0:
		return fmt.Sprintf("%dd", days)
	case m == 0:
		return fmt.Sprintf("%dd %dh", days, h)
	default:
		return fmt.Sprintf("%dd %dh %02dm", days, h, m)
	}
}
