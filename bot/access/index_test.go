package access

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/leasebot/leasebot/bot/config"
	"github.com/leasebot/leasebot/lease"
)

// bruteForce lists, sorted, every configured channel whose selectors cover nb.
func bruteForce(a *Policy, channels []string, nb lease.Notebook) []string {
	var out []string
	for _, ch := range channels {
		if a.Covers(ch, nb) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	return out
}

// Small vocabularies so that selectors and notebooks collide often. The
// strings with "=" make tag keys and values that could be confused when a key
// and a value are joined into one string.
var (
	words     = []string{"a", "b", "ab", "nb-1", "nb-2", "team-a-x", "team-b-x", "ml", "a=b", "b=c", ""}
	globWords = []string{"*a*", "nb-?", "team-a-*", "team-?-x", "[ab]", "a*", "*=*", "nb-[12]", `a\*`}
	tagKeys   = []string{"team", "env", "a", "a=b", "k"}
	tagValues = []string{"ml", "prod", "b", "b=c", "c", ""}
)

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func randomSelector(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0:
		return "*"
	case 1, 2, 3:
		return pick(r, globWords)
	case 4, 5, 6:
		return "tag:" + pick(r, tagKeys) + "=" + pick(r, tagValues)
	default:
		w := pick(r, words)
		if w == "" {
			w = "nb-3"
		}
		return w
	}
}

func randomNotebook(r *rand.Rand) lease.Notebook {
	nb := lease.Notebook{ID: pick(r, words), Name: pick(r, words)}
	switch r.IntN(4) {
	case 0:
		nb.Name = nb.ID
	case 1:
		nb.Name = pick(r, []string{"a*", "a/b", "nb-12", "team-c-x", "[ab]"})
	}
	for range r.IntN(4) {
		nb.Tags = append(nb.Tags, lease.Tag{Key: pick(r, tagKeys), Value: pick(r, tagValues)})
	}
	if len(nb.Tags) > 0 && r.IntN(4) == 0 {
		nb.Tags = append(nb.Tags, nb.Tags[0]) // duplicate tag
	}
	return nb
}

func randomConfig(r *rand.Rand) (*config.Config, []string) {
	cfg := &config.Config{Channels: map[string]*config.Channel{}}
	n := 1 + r.IntN(25)
	var ids []string
	for i := range n {
		id := fmt.Sprintf("C%03d", i)
		if r.IntN(5) == 0 {
			id = fmt.Sprintf("G%03d", i)
		}
		var sel []string
		for range 1 + r.IntN(5) {
			sel = append(sel, randomSelector(r))
		}
		cfg.Channels[id] = &config.Channel{ID: id, Users: []string{"U1"}, Notebooks: sel}
		ids = append(ids, id)
	}
	return cfg, ids
}

// TestIndexMatchesCovers compares Index.Channels with testing Covers on every
// channel, for many random configs and notebooks.
func TestIndexMatchesCovers(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 400 {
		cfg, ids := randomConfig(r)
		a := New(cfg, nil, 0)
		ix := a.Index()
		for range 50 {
			nb := randomNotebook(r)
			want := bruteForce(a, ids, nb)
			got := ix.Channels(nil, nb)
			if !slices.Equal(got, want) {
				sel := map[string][]string{}
				for id, ch := range cfg.Channels {
					sel[id] = ch.Notebooks
				}
				t.Fatalf("round %d: Index.Channels(%+v) = %v, brute force over Covers = %v\nselectors: %v", round, nb, got, want, sel)
			}
		}
	}
}

// TestIndexChannels pins the cases the randomized test is built around.
func TestIndexChannels(t *testing.T) {
	cfg := &config.Config{Channels: map[string]*config.Channel{
		"C3": {ID: "C3", Notebooks: []string{"*"}},
		"C1": {ID: "C1", Notebooks: []string{"nb-1", "train", "team-a-*", "tag:team=ml"}},
		"C2": {ID: "C2", Notebooks: []string{"tag:team=ml", "tag:team=cv", "train-?"}},
		"C4": {ID: "C4", Notebooks: []string{"tag:a=b=c"}},
	}}
	a := New(cfg, nil, 0)
	tests := []struct {
		name string
		nb   lease.Notebook
		want []string
	}{
		{"only wildcard", lease.Notebook{ID: "zz", Name: "zz"}, []string{"C3"}},
		{"ID", lease.Notebook{ID: "nb-1", Name: "x"}, []string{"C1", "C3"}},
		{"name equal to ID counted once", lease.Notebook{ID: "nb-1", Name: "nb-1"}, []string{"C1", "C3"}},
		{"ID and name and glob and tag of one channel, once", lease.Notebook{ID: "nb-1", Name: "team-a-q", Tags: []lease.Tag{{Key: "team", Value: "ml"}}}, []string{"C1", "C2", "C3"}},
		{"duplicate tags", lease.Notebook{ID: "x", Tags: []lease.Tag{{Key: "team", Value: "cv"}, {Key: "team", Value: "cv"}}}, []string{"C2", "C3"}},
		{"glob", lease.Notebook{ID: "x", Name: "train-7"}, []string{"C2", "C3"}},
		{"exact name", lease.Notebook{ID: "x", Name: "train"}, []string{"C1", "C3"}},
		{"tag value with =", lease.Notebook{ID: "x", Tags: []lease.Tag{{Key: "a", Value: "b=c"}}}, []string{"C3", "C4"}},
		{"tag key with = is another tag", lease.Notebook{ID: "x", Tags: []lease.Tag{{Key: "a=b", Value: "c"}}}, []string{"C3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := []string{"C1", "C2", "C3", "C4"}
			if bf := bruteForce(a, ids, tt.nb); !slices.Equal(bf, tt.want) {
				t.Fatalf("test table disagrees with Covers: %v vs %v", tt.want, bf)
			}
			if got := a.Index().Channels(nil, tt.nb); !slices.Equal(got, tt.want) {
				t.Errorf("Channels = %v, want %v", got, tt.want)
			}
			// Appending keeps what dst held and adds the same set after it.
			prefix := []string{"Z9", "C1"}
			dst := make([]string, len(prefix), len(prefix)+1)
			copy(dst, prefix)
			got := a.Index().Channels(dst, tt.nb)
			if !slices.Equal(got[:len(prefix)], prefix) || !slices.Equal(got[len(prefix):], tt.want) {
				t.Errorf("Channels(%v, …) = %v, want %v followed by %v", prefix, got, prefix, tt.want)
			}
		})
	}
}

func BenchmarkIndexChannels(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	cfg := &config.Config{Channels: map[string]*config.Channel{}}
	for i := range 200 {
		id := fmt.Sprintf("C%03d", i)
		cfg.Channels[id] = &config.Channel{ID: id, Notebooks: []string{randomSelector(r), randomSelector(r)}}
	}
	ix := New(cfg, nil, 0).Index()
	nbs := make([]lease.Notebook, 256)
	for i := range nbs {
		nbs[i] = randomNotebook(r)
	}
	var dst []string
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		dst = ix.Channels(dst[:0], nbs[i%len(nbs)])
	}
}
