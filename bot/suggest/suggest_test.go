package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"extend", "extend", 0}, {"", "abc", 3}, {"abc", "", 3},
		{"extnd", "extend", 1}, {"exetnd", "extend", 1}, {"usrs", "users", 1},
		{"lsit", "list", 1}, {"status", "stat", 2}, {"kitten", "sitting", 3},
		{"ça", "ca", 1}, {"日本", "日本語", 1},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", c.b, c.a, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"status", "start", "stop", "list"}
	for _, c := range []struct {
		word  string
		want  int
		wantD int
	}{
		{"stat", 1, 1},
		{"stpo", 2, 1},
		{"lsit", 3, 1},
		{"start", 1, 0},
	} {
		if i, d := Closest(c.word, cands, Distance); i != c.want || d != c.wantD {
			t.Errorf("Closest(%q) = %d, %d; want %d, %d", c.word, i, d, c.want, c.wantD)
		}
	}
	if i, d := Closest("ab", []string{"ax", "ay"}, Distance); i != 0 || d != 1 {
		t.Errorf("Closest between equals = %d, %d; want the first, 0, 1", i, d)
	}
	if i, d := Closest("x", nil, Distance); i != -1 || d != 0 {
		t.Errorf("Closest with no candidates = %d, %d", i, d)
	}
	// The distance is the caller's: here, case does not count.
	fold := func(a, b string) int { return Distance(strings.ToLower(a), strings.ToLower(b)) }
	if i, d := Closest("LIST", cands, fold); i != 3 || d != 0 {
		t.Errorf("Closest(LIST, fold) = %d, %d", i, d)
	}
}
