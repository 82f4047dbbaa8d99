package access

import (
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/leasebot/leasebot/lease"
)

// Index matches notebooks to the channels whose selectors cover them without
// testing every channel against every notebook: wildcard channels apply to all,
// IDs, names and tags are map look-ups, and only glob selectors are scanned.
type Index struct {
	all   []string            // channels with "*"
	ids   map[string][]string // lower-case notebook ID -> channels
	names map[string][]string // literal name -> channels
	tags  map[lease.Tag][]string
	globs []globRule
}

type globRule struct {
	pattern string
	channel string
}

func newIndex(rules map[string]*channelRule) *Index {
	ix := &Index{ids: map[string][]string{}, names: map[string][]string{}, tags: map[lease.Tag][]string{}}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := rules[id].sel
		if s.all {
			ix.all = append(ix.all, id)
			continue
		}
		for k := range s.ids {
			ix.ids[k] = append(ix.ids[k], id)
		}
		for k := range s.names {
			ix.names[k] = append(ix.names[k], id)
		}
		for k, vs := range s.tags {
			for _, v := range vs {
				tg := lease.Tag{Key: k, Value: v}
				ix.tags[tg] = append(ix.tags[tg], id)
			}
		}
		for _, g := range s.globs {
			ix.globs = append(ix.globs, globRule{g, id})
		}
	}
	return ix
}

// Channels appends to dst the IDs of the channels covering nb, each once,
// sorted, and returns the extended slice.
func (ix *Index) Channels(dst []string, nb lease.Notebook) []string {
	start := len(dst)
	dst = append(dst, ix.all...)
	dst = append(dst, ix.ids[strings.ToLower(nb.ID)]...)
	dst = append(dst, ix.names[nb.Name]...)
	if !lease.IsNotebookID(nb.ID) && nb.Name != nb.ID {
		dst = append(dst, ix.names[nb.ID]...)
	}
	for _, t := range nb.Tags {
		dst = append(dst, ix.tags[t]...)
	}
	for _, g := range ix.globs {
		if ok, _ := path.Match(g.pattern, nb.Name); ok {
			dst = append(dst, g.channel)
		}
	}
	found := dst[start:]
	if len(found) > 1 {
		slices.Sort(found)
		found = slices.Compact(found)
		dst = dst[:start+len(found)]
	}
	return dst
}
