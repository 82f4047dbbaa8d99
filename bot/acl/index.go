package acl

import (
	"path"
	"slices"
	"sort"

	"github.com/leasebot/leasebot/lease"
)

// Index matches notebooks to the channels whose selectors cover them without
// testing every channel against every notebook: wildcard channels apply to all,
// IDs, names and tags are map look-ups, and only glob selectors are scanned.
type Index struct {
	all   []string            // channels with "*"
	exact map[string][]string // ID or literal name -> channels
	tags  map[lease.Tag][]string
	globs []globRule
}

type globRule struct {
	pattern string
	channel string
}

func newIndex(rules map[string]*channelRule) *Index {
	ix := &Index{exact: map[string][]string{}, tags: map[lease.Tag][]string{}}
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
		for k := range s.exact {
			ix.exact[k] = append(ix.exact[k], id)
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
	dst = append(dst, ix.exact[nb.ID]...)
	if nb.Name != nb.ID {
		dst = append(dst, ix.exact[nb.Name]...)
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
