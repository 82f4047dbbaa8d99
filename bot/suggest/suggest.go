// Package suggest measures how far a typo is from a known word, for
// "did you mean …?" hints.
package suggest

// Distance is the optimal string alignment distance between a and b, in runes:
// the Levenshtein distance plus transpositions of adjacent characters.
func Distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}

// Closest returns the index of the candidate nearest to word by dist (the
// first of equals) and its distance, or -1 and 0 when there is no
// candidate. The callers decide what is near enough to suggest: a config
// key and a chat verb are held to different standards, but they pick the
// nearest one the same way.
func Closest(word string, cands []string, dist func(word, cand string) int) (int, int) {
	best, bestD := -1, 0
	for i, c := range cands {
		if d := dist(word, c); best < 0 || d < bestD {
			best, bestD = i, d
		}
	}
	return best, bestD
}
