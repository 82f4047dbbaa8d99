package config

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	typo "github.com/leasebot/leasebot/bot/suggest"
)

// selectorProblem says why s is not a notebook selector, or "" if it is.
func selectorProblem(s string) string {
	switch {
	case s == "":
		return `an empty selector matches nothing: write "*", a notebook ID, a name glob or tag:key=value`
	case strings.TrimSpace(s) != s:
		return fmt.Sprintf("%s has spaces around it", quote(s))
	case s == "*":
		return ""
	case strings.HasPrefix(strings.ToLower(s), "tag:") && !strings.HasPrefix(s, "tag:"):
		return fmt.Sprintf("%s: write the tag: prefix in lower case", quote(s))
	case strings.HasPrefix(s, "tag:"):
		k, _, ok := strings.Cut(s[len("tag:"):], "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Sprintf("%s: a tag selector needs key=value, e.g. tag:team=ml", quote(s))
		}
		return ""
	}
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Sprintf("%s is not a valid name glob (path.Match syntax: * any run of characters, ? one character, [a-z] a class, \\ escapes)", quote(s))
	}
	return ""
}

// maxShown is the longest value an error message repeats.
const maxShown = 64

// quote quotes a value for an error message, unless it looks like a secret
// or is too long to be useful.
func quote(s string) string {
	if looksSecret(s) {
		return "(a value that looks like a secret, not shown)"
	}
	if n := utf8.RuneCountInString(s); n > maxShown {
		return fmt.Sprintf("(a value of %d characters, not shown)", n)
	}
	return strconv.Quote(s)
}

// looksSecret reports whether s looks like a token or key: a Slack token
// prefix, a PEM block, or a long run of mixed-case letters and digits.
func looksSecret(s string) bool {
	low := strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"xox", "xapp-", "-----begin", "bearer "} {
		if strings.HasPrefix(low, p) {
			return true
		}
	}
	// A long run of letters and digits in both cases, like an SK or an
	// IAM token, anywhere in the value.
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("+/=_-", r)))
	}) {
		if len(tok) >= 20 && strings.ContainsFunc(tok, unicode.IsUpper) && strings.ContainsFunc(tok, unicode.IsLower) && strings.ContainsFunc(tok, unicode.IsDigit) {
			return true
		}
	}
	return false
}

// normKey folds case and drops separators: "Max-Extend" -> "maxextend".
func normKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r != '_' && r != '-' && r != ' ' && r != '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var secretKeys = map[string]bool{
	"ak": true, "sk": true, "accesskey": true, "secretkey": true, "accesskeyid": true, "secretaccesskey": true,
	"modelartsak": true, "modelartssk": true, "pwd": true, "pass": true, "username": true, "domain": true,
	"domainname": true, "authorization": true, "apikey": true,
}

// isSecretKey reports whether a key names a credential, which only ever comes
// from the environment.
func isSecretKey(k string) bool {
	n := normKey(k)
	if secretKeys[n] {
		return true
	}
	for _, part := range []string{"token", "password", "passwd", "secret", "credential", "apikey", "privatekey", "accesskey"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to key, if it is close enough to be
// a likely typo.
func suggest(key string, cands []string) string {
	k := normKey(key)
	i, bestD := typo.Closest(k, cands, func(k, c string) int { return osa(k, normKey(c)) })
	if i < 0 {
		return ""
	}
	best := cands[i]
	limit := 1
	switch n := len(normKey(best)); {
	case n >= 10:
		limit = 3
	case n >= 5:
		limit = 2
	}
	if bestD > limit || bestD >= len(k) {
		return ""
	}
	return best
}

// osa is typo.Distance, capped for long inputs.
func osa(a, b string) int {
	if len([]rune(a)) > 64 || len([]rune(b)) > 64 {
		return 1 << 20
	}
	return typo.Distance(a, b)
}
