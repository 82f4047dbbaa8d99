package command

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zoneinfo
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		zone string
		now  string // RFC 3339
		when string // as typed after "until"
		want string // RFC 3339 instant; "" means ErrTimePassed
	}{
		{"clock later today", "UTC", "2026-06-01T10:00:00Z", "18:30", "2026-06-01T18:30:00Z"},
		{"past clock means tomorrow", "UTC", "2026-06-01T10:00:00Z", "09:00", "2026-06-02T09:00:00Z"},
		{"clock equal to now means tomorrow", "UTC", "2026-06-01T18:30:00Z", "18:30", "2026-06-02T18:30:00Z"},
		{"clock a second past means tomorrow", "UTC", "2026-06-01T18:30:01Z", "6:30pm", "2026-06-02T18:30:00Z"},
		{"across midnight", "UTC", "2026-06-01T23:30:00Z", "00:15", "2026-06-02T00:15:00Z"},
		{"midnight", "UTC", "2026-06-01T23:30:00Z", "midnight", "2026-06-02T00:00:00Z"},
		{"across the year", "Europe/Berlin", "2026-12-31T23:50:00+01:00", "00:10", "2027-01-01T00:10:00+01:00"},
		{"tomorrow across the year", "Europe/Berlin", "2026-12-31T23:50:00+01:00", "tomorrow 09:00", "2027-01-01T09:00:00+01:00"},
		{"tomorrow just after midnight", "UTC", "2026-06-01T00:01:00Z", "tomorrow 00:00", "2026-06-02T00:00:00Z"},
		{"today ahead", "UTC", "2026-06-01T10:00:00Z", "today 18:00", "2026-06-01T18:00:00Z"},
		{"today passed", "UTC", "2026-06-01T10:00:00Z", "today 08:00", ""},
		{"today equal to now", "UTC", "2026-06-01T10:00:00Z", "today 10:00", ""},
		{"date ahead", "Europe/Berlin", "2026-06-01T10:00:00Z", "2026-12-01 09:00", "2026-12-01T09:00:00+01:00"},
		{"date passed", "Europe/Berlin", "2026-06-01T10:00:00Z", "2026-05-31 23:00", ""},
		{"date earlier today", "UTC", "2026-06-01T10:00:00Z", "2026-06-01 09:59", ""},
		{"date later today", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T10:01", "2026-06-01T10:01:00Z"},

		// Asia/Kolkata, +05:30: "today" and "tomorrow" are the caller's days.
		{"kolkata later today", "Asia/Kolkata", "2026-06-01T12:00:00Z", "18:30", "2026-06-01T13:00:00Z"},
		{"kolkata past clock", "Asia/Kolkata", "2026-06-01T12:00:00Z", "17:00", "2026-06-02T11:30:00Z"},
		{"kolkata today is already tomorrow in UTC", "Asia/Kolkata", "2026-06-01T20:00:00Z", "today 09:00", "2026-06-02T03:30:00Z"},
		{"same instant, UTC today 09:00 passed", "UTC", "2026-06-01T20:00:00Z", "today 09:00", ""},
		{"kolkata tomorrow", "Asia/Kolkata", "2026-06-01T20:00:00Z", "tomorrow 09:00", "2026-06-03T03:30:00Z"},
		{"new york evening", "America/New_York", "2026-06-01T23:00:00Z", "9pm", "2026-06-02T01:00:00Z"},

		// Europe/Berlin, spring forward 2026-03-29: 02:00 CET becomes 03:00 CEST.
		{"berlin gap: skipped time moves forward", "Europe/Berlin", "2026-03-29T00:00:00+01:00", "02:30", "2026-03-29T03:30:00+02:00"},
		{"berlin gap: start of gap", "Europe/Berlin", "2026-03-29T00:00:00+01:00", "02:00", "2026-03-29T03:00:00+02:00"},
		{"berlin gap: tomorrow", "Europe/Berlin", "2026-03-28T12:00:00+01:00", "tomorrow 02:30", "2026-03-29T03:30:00+02:00"},
		{"berlin gap: date", "Europe/Berlin", "2026-03-01T12:00:00+01:00", "2026-03-29 02:59", "2026-03-29T03:59:00+02:00"},
		{"berlin gap: just before", "Europe/Berlin", "2026-03-29T00:00:00+01:00", "01:59", "2026-03-29T01:59:00+01:00"},
		{"berlin gap: just after", "Europe/Berlin", "2026-03-29T00:00:00+01:00", "03:00", "2026-03-29T03:00:00+02:00"},
		{"berlin spring: tomorrow 09:00 is 23h away", "Europe/Berlin", "2026-03-28T09:00:00+01:00", "tomorrow 09:00", "2026-03-29T09:00:00+02:00"},

		// Europe/Berlin, fall back 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:xx happens twice.
		{"berlin overlap: first occurrence", "Europe/Berlin", "2026-10-25T00:00:00+02:00", "02:30", "2026-10-25T02:30:00+02:00"},
		{"berlin overlap: second occurrence still ahead", "Europe/Berlin", "2026-10-25T02:45:00+02:00", "02:30", "2026-10-25T02:30:00+01:00"},
		{"berlin overlap: both passed", "Europe/Berlin", "2026-10-25T02:45:00+01:00", "02:30", "2026-10-26T02:30:00+01:00"},
		{"berlin overlap: today, second still ahead", "Europe/Berlin", "2026-10-25T02:45:00+02:00", "today 02:30", "2026-10-25T02:30:00+01:00"},
		{"berlin overlap: today, both passed", "Europe/Berlin", "2026-10-25T02:45:00+01:00", "today 02:30", ""},
		{"berlin overlap: date is the first", "Europe/Berlin", "2026-10-01T00:00:00+02:00", "2026-10-25 02:30", "2026-10-25T02:30:00+02:00"},
		{"berlin fall: tomorrow 09:00 is 25h away", "Europe/Berlin", "2026-10-24T09:00:00+02:00", "tomorrow 09:00", "2026-10-25T09:00:00+01:00"},

		// America/New_York, spring forward 2026-03-08: 02:00 EST becomes 03:00 EDT.
		// (time.Date alone would give 01:30 EST here.)
		{"new york gap: skipped time moves forward", "America/New_York", "2026-03-08T00:00:00-05:00", "02:30", "2026-03-08T03:30:00-04:00"},
		{"new york gap: from inside the last hour", "America/New_York", "2026-03-08T01:45:00-05:00", "2:30am", "2026-03-08T03:30:00-04:00"},
		{"new york gap: tomorrow", "America/New_York", "2026-03-07T22:00:00-05:00", "tomorrow 02:15", "2026-03-08T03:15:00-04:00"},
		// America/New_York, fall back 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:xx happens twice.
		{"new york overlap: first occurrence", "America/New_York", "2026-11-01T00:00:00-04:00", "01:30", "2026-11-01T01:30:00-04:00"},
		{"new york overlap: second occurrence", "America/New_York", "2026-11-01T01:45:00-04:00", "01:30", "2026-11-01T01:30:00-05:00"},
		{"new york overlap: date", "America/New_York", "2026-10-01T00:00:00-04:00", "2026-11-01 01:30", "2026-11-01T01:30:00-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoad(t, tt.zone)
			c, err := testParser.Parse("extend nb until " + tt.when)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Until.Resolve(mustTime(t, tt.now), loc)
			if tt.want == "" {
				var se *SyntaxError
				if !errors.Is(err, ErrTimePassed) || !errors.As(err, &se) || se.Msg == "" {
					t.Fatalf("Resolve(%q) = %v, %v; want a *SyntaxError wrapping ErrTimePassed", tt.when, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.when, err)
			}
			if want := mustTime(t, tt.want); !got.Equal(want) {
				t.Errorf("Resolve(%q) at %s in %s = %s, want %s", tt.when, tt.now, tt.zone, got, want)
			}
			if got.Location() != loc {
				t.Errorf("Resolve(%q) is in %s, want %s", tt.when, got.Location(), loc)
			}
		})
	}
}

func TestResolveNilLocation(t *testing.T) {
	w := When{Hour: 18, Minute: 30}
	got, err := w.Resolve(mustTime(t, "2026-06-01T10:00:00+02:00"), nil)
	if err != nil || !got.Equal(mustTime(t, "2026-06-01T18:30:00Z")) {
		t.Errorf("Resolve(nil loc) = %v, %v", got, err)
	}
}

func TestResolveInvalid(t *testing.T) {
	now := mustTime(t, "2026-06-01T10:00:00Z")
	for _, w := range []When{
		{Hour: 24},
		{Hour: -1},
		{Minute: 60},
		{Day: OnDate, Year: 2026, Month: 2, Date: 30},
		{Day: OnDate, Year: 2026, Month: 13, Date: 1},
		{Day: OnDate},
		{Day: DayKind(42)},
	} {
		var se *SyntaxError
		if _, err := w.Resolve(now, time.UTC); !errors.As(err, &se) || se.Msg == "" || errors.Is(err, ErrTimePassed) {
			t.Errorf("%#v.Resolve() error = %v, want a *SyntaxError", w, err)
		}
	}
}

func TestWhenString(t *testing.T) {
	tests := []struct {
		w    When
		want string
	}{
		{When{Hour: 9, Minute: 5}, "09:05"},
		{When{Day: Today, Hour: 18}, "today 18:00"},
		{When{Day: Tomorrow, Hour: 9}, "tomorrow 09:00"},
		{When{Day: OnDate, Year: 2026, Month: 12, Date: 1, Hour: 9}, "2026-12-01 09:00"},
	}
	for _, tt := range tests {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.w, got, tt.want)
		}
	}
}

// TestResolveEveryMinute sweeps now across DST transition days in several
// zones and checks what Resolve promises for every clock time.
func TestResolveEveryMinute(t *testing.T) {
	if testing.Short() {
		t.Skip("sweep")
	}
	days := []struct{ zone, day string }{
		{"Europe/Berlin", "2026-03-29"},
		{"Europe/Berlin", "2026-10-25"},
		{"America/New_York", "2026-03-08"},
		{"America/New_York", "2026-11-01"},
		{"Asia/Kolkata", "2026-06-01"},
		{"Australia/Lord_Howe", "2026-04-05"}, // a 30-minute DST shift
	}
	for _, d := range days {
		loc := mustLoad(t, d.zone)
		start, err := time.ParseInLocation("2006-01-02", d.day, loc)
		if err != nil {
			t.Fatal(err)
		}
		start = start.Add(-3 * time.Hour)
		for now := start; now.Before(start.Add(30 * time.Hour)); now = now.Add(37 * time.Minute) {
			for _, w := range []When{{Hour: 0}, {Hour: 1, Minute: 30}, {Hour: 2, Minute: 30}, {Hour: 3}, {Hour: 12}, {Hour: 23, Minute: 59}} {
				got, err := w.Resolve(now, loc)
				if err != nil {
					t.Fatalf("%s %s: %v.Resolve: %v", d.zone, now, w, err)
				}
				if !got.After(now) || got.Sub(now) > 26*time.Hour {
					t.Errorf("%s: %v.Resolve(%s) = %s: not the next occurrence", d.zone, w, now, got)
				}
				// The clock shows the time asked for, or a bit later if it was skipped.
				wall := got.Hour()*60 + got.Minute()
				asked := w.Hour*60 + w.Minute
				if wall != asked && (wall < asked || wall > asked+60) {
					t.Errorf("%s: %v.Resolve(%s) = %s", d.zone, w, now, got)
				}
				tw := w
				tw.Day = Tomorrow
				tom, err := tw.Resolve(now, loc)
				if err != nil || tom.Sub(now) < 0 || tom.Sub(now) > 50*time.Hour {
					t.Errorf("%s: %v.Resolve(%s) = %s, %v", d.zone, tw, now, tom, err)
				}
				if y, m, dd := now.In(loc).Date(); tom.Day() != time.Date(y, m, dd+1, 0, 0, 0, 0, time.UTC).Day() {
					t.Errorf("%s: %v.Resolve(%s) = %s: not tomorrow", d.zone, tw, now, tom)
				}
			}
		}
	}
}

// testParser reads extend commands, to test the time grammar on its own.
var testParser = NewParser("", "", Spec{Name: "extend", Args: ExtendArgs,
	Example: func(nb string) string { return Prefix + " extend " + nb + " 2h" }})
