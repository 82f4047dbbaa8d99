package lease

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leasebot/leasebot/lease/internal/apig"
	"github.com/patrickmn/go-cache"
)

// Authenticator sets the authentication headers of a ModelArts request.
// body is the exact request body (nil when there is none). Errors it
// returns must not contain a credential.
//
// An Authenticator may also implement Validator, Invalidator and
// SecretHolder; the client uses each ability it finds, so an Authenticator
// written outside this package gets the same checks and redaction as
// *AKSK and *IAMPassword.
type Authenticator interface {
	Authenticate(ctx context.Context, req *http.Request, body []byte) error
}

// Validator is implemented by an Authenticator that can tell a complete
// configuration from an incomplete one. New calls Validate, so a missing key
// or password stops the bot at start-up instead of failing every request.
// The error must not contain a credential.
type Validator interface {
	Validate() error
}

// Invalidator is implemented by an Authenticator that caches a credential
// the server may stop accepting early (an IAM token revoked or expired
// before its time). After an HTTP 401 the client calls Invalidate once and
// retries, so the next attempt fetches a fresh credential.
type Invalidator interface {
	Invalidate()
}

// SecretHolder is implemented by an Authenticator that holds secrets (a
// secret key, a password, a token). A server may echo what it received into
// its error message; the client blanks every value Secrets returns from
// error messages before they reach an error, a log or a chat.
type SecretHolder interface {
	Secrets() []string
}

// Sign signs req with an access key pair the way Huawei's SDK does
// ("SDK-HMAC-SHA256 Access=…"): it sets X-Sdk-Date to t (unless req already
// carries a parsable X-Sdk-Date) and Authorization. Every header present in
// req.Header is signed, except Content-Type and names containing '_'; add a
// "Host" entry to req.Header to sign the host.
func Sign(req *http.Request, body []byte, ak, sk string, t time.Time) error {
	return apig.Sign(req, body, ak, sk, t)
}

// AKSK authenticates with a permanent or temporary access key pair.
type AKSK struct {
	AK, SK        string
	SecurityToken string           // set for temporary keys; sent as X-Security-Token
	Now           func() time.Time // clock for X-Sdk-Date; default time.Now
}

// Authenticate signs req, host and X-Security-Token included.
func (a *AKSK) Authenticate(_ context.Context, req *http.Request, body []byte) error {
	if a.SecurityToken != "" {
		req.Header.Set("X-Security-Token", a.SecurityToken)
	}
	// net/http never sends Header["Host"] (it uses req.Host); the entry only
	// puts the host into the signature.
	req.Header.Set("Host", req.URL.Host)
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	return Sign(req, body, a.AK, a.SK, now())
}

// Validate reports a missing access key or secret key.
func (a *AKSK) Validate() error {
	if a.AK == "" || a.SK == "" {
		return errors.New("AK/SK auth: access key and secret key are required")
	}
	return nil
}

// Secrets returns the secret key and the security token.
func (a *AKSK) Secrets() []string { return []string{a.SK, a.SecurityToken} }

// IAMPassword authenticates with an IAM user token obtained by password
// (POST {Endpoint}/v3/auth/tokens, scoped to ProjectID). The token is cached
// until 5 minutes before it expires. Use it by pointer; it is safe for
// concurrent use.
type IAMPassword struct {
	Endpoint   string // IAM endpoint, e.g. https://iam.eu-de.otc.t-systems.com (a trailing /v3 is fine; no other path)
	Username   string
	Password   string
	Domain     string // account (domain) name
	ProjectID  string
	HTTPClient *http.Client // default: the same defaults as the ModelArts client

	once  sync.Once
	cache *cache.Cache
	fetch chan struct{} // one token request at a time
	// last is the last token issued. The cache drops a token when it
	// expires (or never holds one IAM issued for less than tokenMargin),
	// but a server may still echo it: Secrets keeps redacting it.
	last atomic.Pointer[string]
}

const (
	tokenKey    = "token"
	tokenMargin = 5 * time.Minute
	// tokenFallbackTTL applies when IAM's expires_at is missing or unparsable.
	tokenFallbackTTL = time.Hour
)

func (a *IAMPassword) init() {
	a.once.Do(func() {
		a.cache = cache.New(cache.NoExpiration, 0)
		a.fetch = make(chan struct{}, 1)
	})
}

// Authenticate sets X-Auth-Token, fetching a token when none is cached.
func (a *IAMPassword) Authenticate(ctx context.Context, req *http.Request, _ []byte) error {
	tok, err := a.token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", tok)
	return nil
}

// Invalidate drops the cached token so that the next request fetches one.
// The client calls it after an HTTP 401.
func (a *IAMPassword) Invalidate() {
	a.init()
	a.cache.Delete(tokenKey)
}

// Validate reports a bad IAM endpoint or a missing user name, password,
// domain or project ID.
func (a *IAMPassword) Validate() error {
	if _, err := CheckIAMEndpoint(a.Endpoint); err != nil {
		return fmt.Errorf("IAM endpoint: %w", err)
	}
	if a.Username == "" || a.Password == "" || a.Domain == "" || a.ProjectID == "" {
		return errors.New("IAM password auth: username, password, domain and project ID are required")
	}
	return nil
}

// Secrets returns the password and the last token issued, if any, cached
// or not.
func (a *IAMPassword) Secrets() []string {
	s := []string{a.Password}
	if tok := a.last.Load(); tok != nil {
		s = append(s, *tok)
	}
	return s
}

func (a *IAMPassword) token(ctx context.Context) (string, error) {
	a.init()
	if v, ok := a.cache.Get(tokenKey); ok {
		return v.(string), nil
	}
	select {
	case a.fetch <- struct{}{}:
		defer func() { <-a.fetch }()
	case <-ctx.Done():
		return "", &Error{Kind: KindUnavailable, Op: opToken, Err: ctx.Err()}
	}
	if v, ok := a.cache.Get(tokenKey); ok {
		return v.(string), nil
	}
	tok, ttl, err := a.request(ctx)
	if err != nil {
		return "", err
	}
	a.last.Store(&tok)
	if ttl > 0 {
		a.cache.Set(tokenKey, tok, ttl)
	}
	return tok, nil
}

// request fetches a token and returns it with how long it may be cached.
func (a *IAMPassword) request(ctx context.Context) (string, time.Duration, error) {
	const op = opToken
	base, err := CheckIAMEndpoint(a.Endpoint)
	if err != nil {
		return "", 0, &Error{Kind: KindAuth, Op: op, Err: err}
	}
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
						Domain   struct {
							Name string `json:"name"`
						} `json:"domain"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					ID string `json:"id"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	id := &body.Auth.Identity
	id.Methods = []string{"password"}
	id.Password.User.Name = a.Username
	id.Password.User.Password = a.Password
	id.Password.User.Domain.Name = a.Domain
	body.Auth.Scope.Project.ID = a.ProjectID
	payload, err := json.Marshal(body)
	if err != nil {
		return "", 0, &Error{Kind: KindOther, Op: op, Err: err}
	}
	url := strings.TrimSuffix(base, "/v3") + "/v3/auth/tokens?nocatalog=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return "", 0, &Error{Kind: KindOther, Op: op, Err: errors.New("cannot build request")}
	}
	req.Header.Set("Content-Type", "application/json;charset=utf8")
	hc := a.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, &Error{Kind: networkKind(err), Op: op, Err: netErr(err)}
	}
	defer resp.Body.Close()
	raw, err := readBody(resp)
	if err != nil {
		return "", 0, &Error{Kind: KindUnavailable, Op: op, Status: resp.StatusCode, Err: netErr(err)}
	}
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode/100 != 2 || tok == "" {
		e := &Error{Op: op, Status: resp.StatusCode}
		e.Code, e.Message = errorBody(raw)
		e.Message = cleanMessage(e.Message, a.Secrets())
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			e.Kind = KindUnavailable
		case resp.StatusCode == http.StatusNotFound:
			e.Kind = KindConfig // no token API at this address
		case resp.StatusCode/100 == 2:
			e.Kind, e.Message = KindAuth, "no X-Subject-Token in the answer"
		default:
			e.Kind = KindAuth
		}
		return "", 0, e
	}
	var out struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
			IssuedAt  string `json:"issued_at"`
		} `json:"token"`
	}
	ttl := tokenFallbackTTL
	if json.Unmarshal(raw, &out) == nil {
		if exp, err := time.Parse(time.RFC3339Nano, out.Token.ExpiresAt); err == nil {
			// Measured from IAM's own issued_at when given, so clock skew does not matter.
			ttl = time.Until(exp)
			if iss, err := time.Parse(time.RFC3339Nano, out.Token.IssuedAt); err == nil {
				ttl = exp.Sub(iss)
			}
			ttl -= tokenMargin
		}
	}
	return tok, ttl, nil
}

// The abilities the client looks for, checked at compile time.
var (
	_ Validator    = (*AKSK)(nil)
	_ SecretHolder = (*AKSK)(nil)
	_ Validator    = (*IAMPassword)(nil)
	_ Invalidator  = (*IAMPassword)(nil)
	_ SecretHolder = (*IAMPassword)(nil)
)
