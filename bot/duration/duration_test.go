package duration

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"90m", 90 * time.Minute},
		{"2h", 2 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{".5h", 30 * time.Minute},
		{"1.h", time.Hour},
		{"1d", 24 * time.Hour},
		{"1d2h", 26 * time.Hour},
		{"1d2h3m4s", 26*time.Hour + 3*time.Minute + 4*time.Second},
		{"60s", time.Minute},
		{"45s", 45 * time.Second},
		{"0.5s", 500 * time.Millisecond},
		{"0h30m", 30 * time.Minute},
		{"PT2H", 2 * time.Hour},
		{"PT90M", 90 * time.Minute},
		{"PT1H30M", 90 * time.Minute},
		{"PT45S", 45 * time.Second},
		{"P1D", 24 * time.Hour},
		{"P1DT2H", 26 * time.Hour},
		{"P1.5D", 36 * time.Hour},
		{"PT1.5H", 90 * time.Minute},
		// case does not matter
		{"2H", 2 * time.Hour},
		{"1H30M", 90 * time.Minute},
		{"pt2h", 2 * time.Hour},
		{"p1dT2h", 26 * time.Hour},
		{"1D", 24 * time.Hour},
		// surrounding space does not matter
		{" 2h", 2 * time.Hour},
		{"2h ", 2 * time.Hour},
		{"\t 90m \n", 90 * time.Minute},
		{"  PT2H  ", 2 * time.Hour},
		// the limit itself is allowed
		{"10000h", Max},
		{"PT10000H", Max},
		{"416d16h", Max},
		{"P416DT16H", Max},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		bare   bool   // errors.Is(err, ErrBareNumber)
		reason string // substring of the message, when it matters
	}{
		{"bare integer", "2", true, "add a unit"},
		{"bare decimal", "1.5", true, "add a unit"},
		{"bare number with spaces", " 90 ", true, "add a unit"},
		{"bare zero", "0", true, "add a unit"},
		{"bare negative", "-2", true, "add a unit"},
		{"zero hours", "0h", false, "longer than zero"},
		{"zero sum", "0h0m", false, "longer than zero"},
		{"rounds to zero", "0.0000000001s", false, "longer than zero"},
		{"zero ISO", "PT0H", false, "longer than zero"},
		{"zero ISO days", "P0D", false, "longer than zero"},
		{"negative", "-1h", false, ""},
		{"negative later part", "1h-30m", false, ""},
		{"plus sign", "+1h", false, ""},
		{"wrong order", "30m1h", false, "largest to smallest"},
		{"wrong order days", "2h1d", false, "largest to smallest"},
		{"repeated unit", "1h1h", false, "largest to smallest"},
		{"unknown unit", "2w", false, "unknown unit"},
		{"unknown unit y", "1y", false, "unknown unit"},
		{"milliseconds not supported", "500ms", false, ""},
		{"word unit", "2hours", false, ""},
		{"trailing number", "1h30", false, "no unit"},
		{"empty", "", false, "empty"},
		{"only space", "   ", false, "empty"},
		{"space inside", "1h 30m", false, ""},
		{"unit only", "h", false, ""},
		{"dot only", ".h", false, "not a number"},
		{"two dots", "1.5.5h", false, "not a number"},
		{"over max", "10001h", false, "longer than"},
		{"over max in days", "417d", false, "longer than"},
		{"over max minutes", "600001m", false, "longer than"},
		{"huge number", "99999999999999999999999999h", false, "longer than"},
		{"over max ISO", "PT10001H", false, "longer than"},
		{"over max ISO days plus time", "P416DT17H", false, "longer than"},
		{"exponent", "1e3h", false, ""},
		{"ISO P only", "P", false, ""},
		{"ISO PT", "PT", false, ""},
		{"ISO P1DT", "P1DT", false, "nothing follows T"},
		{"ISO hours before T", "P1H", false, ""},
		{"ISO days after T", "PT1D", false, ""},
		{"ISO week", "P1W", false, ""},
		{"ISO wrong order", "PT30M1H", false, "largest to smallest"},
		{"ISO bare", "PT2", false, ""},
		{"ISO two Ts", "PT1HT2M", false, ""},
		{"word", "plenty", false, ""},
		{"inf", "inf", true, ""},
		{"inf hours", "infh", false, ""},
		{"nan hours", "nanh", false, ""},
		{"full-width digit", "２h", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.in, d)
			}
			if d != 0 {
				t.Errorf("Parse(%q) returned %v alongside an error", tt.in, d)
			}
			if got := errors.Is(err, ErrBareNumber); got != tt.bare {
				t.Errorf("errors.Is(%v, ErrBareNumber) = %v, want %v", err, got, tt.bare)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *duration.Error", err)
			}
			if de.Input != tt.in {
				t.Errorf("Error.Input = %q, want %q", de.Input, tt.in)
			}
			if !strings.Contains(err.Error(), "is not a duration") {
				t.Errorf("message %q does not say it is not a duration", err)
			}
			if tt.reason != "" && !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("message %q does not contain %q", err, tt.reason)
			}
		})
	}
}

// The hint for a bare number proposes the same number with units.
func TestParseBareNumberHint(t *testing.T) {
	for _, in := range []string{"2", " 45 ", "1.5"} {
		_, err := Parse(in)
		n := strings.TrimSpace(in)
		for _, want := range []string{n + "h", n + "m"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Parse(%q) = %v, want a hint with %q", in, err, want)
			}
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{45 * time.Minute, "45m"},
		{2 * time.Hour, "2h"},
		{90 * time.Minute, "1h 30m"},
		{61*time.Hour + 5*time.Minute, "61h 05m"},
		{61*time.Hour + 30*time.Minute, "61h 30m"},
		{30 * time.Second, "30s"},
		{0, "0s"},
		{59*time.Second + 999*time.Millisecond, "59s"},
		{time.Minute, "1m"},
		{90 * time.Second, "1m"},              // rounds down to the minute
		{time.Hour + 59*time.Second, "1h"},    // rounds down to the minute
		{2*time.Hour + time.Minute - 1, "2h"}, // one nanosecond short of 2h 01m
		{24 * time.Hour, "24h"},               // no days
		{72 * time.Hour, "72h"},               // the API's maximum
		{71*time.Hour + 59*time.Minute, "71h 59m"},
		{Max, "10000h"},
		{-90 * time.Minute, "1h 30m"}, // sign dropped
		{-30 * time.Second, "30s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Format(tt.in); got != tt.want {
				t.Errorf("Format(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Format's output, with its space removed, reads back as the same duration
// rounded down to the minute (or second, under a minute).
func TestFormatParseRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{
		time.Second, 59 * time.Second, time.Minute, 45 * time.Minute, time.Hour,
		90 * time.Minute, 61*time.Hour + 5*time.Minute, 72 * time.Hour, Max,
		3*time.Hour + 7*time.Minute + 12*time.Second,
	} {
		if err := roundTrip(d); err != nil {
			t.Error(err)
		}
	}
}

func roundTrip(d time.Duration) error {
	s := Format(d)
	got, err := Parse(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		return errors.New("Parse(Format(" + d.String() + ") = " + s + "): " + err.Error())
	}
	want := d.Truncate(time.Minute)
	if d < time.Minute {
		want = d.Truncate(time.Second)
	}
	if got != want {
		return errors.New("Parse(Format(" + d.String() + ") = " + s + ") = " + got.String() + ", want " + want.String())
	}
	return nil
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"90m", "2h", "1h30m", "1.5h", "1d", "PT2H", "P1DT2H", "60s", " 2H ", "2", "0h",
		"-1h", "30m1h", "2w", "", "PT", "P", "1.5.5h", "10001h", "1e3h", "P1DT", "inf",
		"\xff", "1h\x00", "９h", "0", "0.0", "s0", "0d0", "PT0S", "0.0000000001s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		// Zero is never a duration Parse accepts, and nothing Parse accepts is zero.
		if IsZero(s) && err == nil {
			t.Fatalf("IsZero(%q), yet Parse = %v", s, d)
		}
		if err != nil {
			if d != 0 {
				t.Fatalf("Parse(%q) = %v with error %v", s, d, err)
			}
			var de *Error
			if !errors.As(err, &de) || de.Input != s {
				t.Fatalf("Parse(%q) error %#v is not a *Error for the input", s, err)
			}
			if !utf8.ValidString(s) {
				return
			}
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty error message", s)
			}
			return
		}
		if d <= 0 || d > Max {
			t.Fatalf("Parse(%q) = %v, outside (0, Max]", s, d)
		}
		// Accepted input is the same when re-cased or re-spaced.
		for _, v := range []string{strings.ToUpper(s), strings.ToLower(s), " " + s + "\t"} {
			if d2, err := Parse(v); err != nil || d2 != d {
				t.Fatalf("Parse(%q) = %v, %v; but Parse(%q) = %v", v, d2, err, s, d)
			}
		}
		if err := roundTrip(d); err != nil && d >= time.Second {
			t.Fatal(err)
		}
		if f := Format(d); f == "" || strings.HasPrefix(f, "-") {
			t.Fatalf("Format(%v) = %q", d, f)
		}
	})
}

func TestFormatLong(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{90 * time.Minute, "1h 30m"},
		{47 * time.Hour, "47h"},
		{48 * time.Hour, "2d"},
		{7 * 24 * time.Hour, "7d"},
		{4*24*time.Hour + 2*time.Hour, "4d 2h"},
		{3*24*time.Hour + 30*time.Minute, "3d 0h 30m"},
		{8*24*time.Hour - time.Minute, "7d 23h 59m"},
	} {
		if got := FormatLong(tt.d); got != tt.want {
			t.Errorf("FormatLong(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestIsZero(t *testing.T) {
	for _, s := range []string{"0", "0.0", "0.", " 0 ", "00", "0s", "0m", "0h", "0d", "0H", "0.0h", "0h0m", "0d0h0m0s", "PT0S", "pt0m", "P0D", "P0DT0H"} {
		if !IsZero(s) {
			t.Errorf("IsZero(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", " ", ".", "s0", "h0", "0d0", "t0", "d", "0x", "00:00", "-0", "+0", "0e5", "0w", "0m0h",
		"PT", "P", "p0", "0.0000000001s", "1s", "10", "1h0m", "nan", "0h 0m"} {
		if IsZero(s) {
			t.Errorf("IsZero(%q) = true, want false", s)
		}
	}
}
