package suggest

import "testing"

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
