package main

import "runtime/debug"

// buildCommit is the commit given at link time, else the one Go recorded
// when it built from a checkout; empty when neither is known.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "" // built without version control information (go run, -buildvcs=false)
	}
	return rev + dirty
}
