package config

import (
	"errors"
	"net/url"
	"strings"

	"github.com/leasebot/leasebot/lease"
)

// endpoint checks a ModelArts endpoint URL, or an IAM one when iam is set,
// with lease's rule: https://, or http:// on a loopback host; no
// credentials, query, fragment or path (an IAM endpoint may end in /v3). It
// returns the URL without a trailing slash, or "" after reporting a
// problem. The value is never repeated in full, as a URL can carry a
// password.
func (p *parser) endpoint(e entry, where string, iam bool) string {
	s, ok := p.scalar(e, where, "an https:// URL")
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		p.errf(e.v, "%s %s is empty: write an https:// URL", e.key, where)
		return ""
	}
	check, example, adds := lease.CheckEndpoint, "https://modelarts.eu-de.otc.t-systems.com", "/v1/{project_id}/notebooks"
	if iam {
		check, example, adds = lease.CheckIAMEndpoint, "https://iam.eu-de.otc.t-systems.com", "/v3/auth/tokens"
	}
	base, err := check(s)
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
	case errors.Is(err, lease.ErrEndpointPath):
		allowed := "no path"
		if iam {
			allowed = "no path but /v3"
		}
		p.errf(e.v, "%s %s must have %s (got %s): write the address alone, like %s; leasebot adds %s itself",
			e.key, where, allowed, quote(u.EscapedPath()), example, adds)
	case err != nil:
		p.errf(e.v, "%s %s is not a usable endpoint", e.key, where)
	default:
		return base
	}
	return ""
}
