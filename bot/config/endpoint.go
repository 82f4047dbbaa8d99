package config

import (
	"net"
	"net/url"
	"strings"
)

// endpoint checks a ModelArts or IAM endpoint URL: https://, or http:// on a
// loopback host; no credentials, query or fragment. It returns the URL
// without a trailing slash, or "" after reporting a problem. The value is
// never repeated in full, as a URL can carry a password.
func (p *parser) endpoint(e entry, where string) string {
	s, ok := p.scalar(e, where, "an https:// URL")
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		p.errf(e.v, "%s %s is empty: write an https:// URL", e.key, where)
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		p.errf(e.v, "%s %s is not a URL: write it like https://modelarts.eu-de.otc.t-systems.com", e.key, where)
	case u.User != nil:
		p.errf(e.v, "%s %s must not contain a user name or password: secrets come only from the environment "+
			"(MODELARTS_AK/MODELARTS_SK or MODELARTS_USERNAME/MODELARTS_PASSWORD/MODELARTS_DOMAIN)", e.key, where)
	case u.Scheme != "https" && u.Scheme != "http":
		p.errf(e.v, "%s %s must start with https://, e.g. https://modelarts.eu-de.otc.t-systems.com", e.key, where)
	case u.Host == "" || u.Hostname() == "":
		p.errf(e.v, "%s %s has no host name: write it like https://modelarts.eu-de.otc.t-systems.com", e.key, where)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		p.errf(e.v, "%s %s must not have a query (?…) or fragment (#…)", e.key, where)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		p.errf(e.v, "%s %s must use https:// (plain http:// is allowed only on loopback hosts: localhost, 127.0.0.1, ::1); got http://%s",
			e.key, where, u.Host)
	default:
		return strings.TrimRight(s, "/")
	}
	return ""
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
