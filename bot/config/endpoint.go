package config

import (
	"errors"
	"net/url"
	"strings"

	"github.com/leasebot/leasebot/lease"
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
	base, err := lease.CheckEndpoint(s)
	u, _ := url.Parse(s)
	switch {
	case errors.Is(err, lease.ErrEndpointNotURL) && u == nil:
		p.errf(e.v, "%s %s is not a URL: write it like https://modelarts.eu-de.otc.t-systems.com", e.key, where)
	case errors.Is(err, lease.ErrEndpointNotURL) && u.Scheme != "http" && u.Scheme != "https":
		p.errf(e.v, "%s %s must start with https://, e.g. https://modelarts.eu-de.otc.t-systems.com", e.key, where)
	case errors.Is(err, lease.ErrEndpointNotURL):
		p.errf(e.v, "%s %s has no host name: write it like https://modelarts.eu-de.otc.t-systems.com", e.key, where)
	case errors.Is(err, lease.ErrEndpointCredentials):
		p.errf(e.v, "%s %s must not contain a user name or password: secrets come only from the environment "+
			"(MODELARTS_AK/MODELARTS_SK or MODELARTS_USERNAME/MODELARTS_PASSWORD/MODELARTS_DOMAIN)", e.key, where)
	case errors.Is(err, lease.ErrEndpointScheme):
		p.errf(e.v, "%s %s must start with https://, e.g. https://modelarts.eu-de.otc.t-systems.com", e.key, where)
	case errors.Is(err, lease.ErrEndpointQuery):
		p.errf(e.v, "%s %s must not have a query (?…) or fragment (#…)", e.key, where)
	case errors.Is(err, lease.ErrEndpointPlainHTTP):
		p.errf(e.v, "%s %s must use https:// (plain http:// is allowed only on loopback hosts: localhost, 127.0.0.1, ::1); got http://%s",
			e.key, where, u.Host)
	case err != nil:
		p.errf(e.v, "%s %s is not a usable endpoint", e.key, where)
	default:
		return base
	}
	return ""
}
