package lease

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/patrickmn/go-cache"
)

// Config configures a Client.
type Config struct {
	Endpoint    string           // e.g. https://modelarts.eu-de.otc.t-systems.com; http only on loopback hosts
	ProjectID   string           // project the notebooks live in
	ListAll     bool             // list every user's notebooks (GET …/notebooks/all, needs admin rights)
	Auth        Authenticator    // *AKSK, *IAMPassword or one of your own (see Validator, Invalidator, SecretHolder)
	HTTPClient  *http.Client     // default: one with sane timeouts
	RetryBudget time.Duration    // bound of one call, all attempts and waits included; default 15s
	Now         func() time.Time // default time.Now; used to turn a target stop time into a duration
	// Observe, if set, is called after every HTTP attempt with the call name
	// (list, get, lease, renew, start, stop), the HTTP status (0 on a network
	// error) and the attempt's duration.
	Observe func(call string, status int, took time.Duration)
}

// Client calls the ModelArts notebook API. It is safe for concurrent use.
type Client struct {
	cfg   Config
	base  string // {endpoint}/v1/{project_id}
	hc    *http.Client
	pages *cache.Cache // listing pages: raw answer and its decoded notebooks
	// tracedTransport: hc's transport is net/http's, which reports each
	// connection it makes, so a request that got none surely did not reach
	// the server.
	tracedTransport bool
}

// listPage is one decoded page of a listing.
type listPage struct {
	Data  []Notebook `json:"data"`
	Total int        `json:"total"`
}

// cachedPage lets a watcher cycle skip decoding a page whose bytes did not
// change since the last cycle: most of a large listing is the same every time.
type cachedPage struct {
	sum  [2]uint64 // the answer's hash under two seeds: 128 bits, never its bytes
	page listPage
}

// pageSeeds key the page hashes; they are random per process.
var pageSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func pageSum(raw []byte) [2]uint64 {
	return [2]uint64{maphash.Bytes(pageSeeds[0], raw), maphash.Bytes(pageSeeds[1], raw)}
}

// pageTTL is how long an unread listing page is kept.
const pageTTL = 10 * time.Minute

const (
	defaultBudget = 15 * time.Second
	maxAttempts   = 6
	backoffBase   = 200 * time.Millisecond
	backoffCap    = 4 * time.Second
	pageSize      = 50
	// maxPages bounds one listing (100 000 notebooks), so that a server that
	// never ends its pages gets an error instead of a loop without end.
	maxPages = 2000
	maxBody  = 16 << 20
)

var defaultHTTPClient = &http.Client{
	Timeout: 10 * time.Second,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   64, // as many as the bot's workers, so a burst reuses connections
		ForceAttemptHTTP2:     true,
	},
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := CheckEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("modelarts endpoint: %w", err)
	}
	if err := CheckProjectID(cfg.ProjectID); err != nil {
		return nil, fmt.Errorf("modelarts project ID: %w", err)
	}
	if cfg.Auth == nil {
		return nil, errors.New("modelarts: no authenticator")
	}
	if v, ok := cfg.Auth.(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient
	}
	if cfg.RetryBudget <= 0 {
		cfg.RetryBudget = defaultBudget
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	_, std := cfg.HTTPClient.Transport.(*http.Transport)
	return &Client{
		cfg: cfg, base: base + "/v1/" + cfg.ProjectID, hc: cfg.HTTPClient, pages: cache.New(pageTTL, pageTTL),
		tracedTransport: std || cfg.HTTPClient.Transport == nil,
	}, nil
}

// Endpoint problems CheckEndpoint and CheckIAMEndpoint report; callers
// word them for their readers (the config loader names the line).
var (
	ErrEndpointNotURL      = errors.New("not an absolute URL")
	ErrEndpointCredentials = errors.New("must not contain credentials")
	ErrEndpointQuery       = errors.New("must not have a query or fragment")
	ErrEndpointScheme      = errors.New("must use https")
	ErrEndpointPlainHTTP   = errors.New("must use https (http only on loopback hosts)")
	// ErrEndpointPath: the client adds the whole path itself
	// (/v1/{project_id}/notebooks…, /v3/auth/tokens), so a path in the
	// endpoint, such as a pasted …/v1/{project_id}, would only fail later,
	// on every call, with the gateway's 404.
	ErrEndpointPath = errors.New("must not have a path")
)

// CheckEndpoint is the one rule for a ModelArts endpoint: an absolute
// https:// URL (http:// only on a loopback host), without credentials,
// path, query or fragment. It returns the URL without a trailing slash. Its
// errors never quote the URL, which could carry credentials.
func CheckEndpoint(raw string) (string, error) {
	return checkEndpoint(raw, "")
}

// CheckIAMEndpoint is the rule of CheckEndpoint for an IAM endpoint, which
// may also end in /v3, as IAM endpoints are often written: the token
// request goes to /v3/auth/tokens either way.
func CheckIAMEndpoint(raw string) (string, error) {
	return checkEndpoint(raw, "/v3")
}

// checkEndpoint checks raw, whose path must be empty, "/", or path (with or
// without a trailing slash) when path is not empty.
func checkEndpoint(raw, path string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || u.Host == "" || u.Hostname() == "":
		return "", ErrEndpointNotURL
	case u.User != nil:
		return "", ErrEndpointCredentials
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", ErrEndpointQuery
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		return "", ErrEndpointPlainHTTP
	case u.Scheme != "https" && u.Scheme != "http":
		return "", ErrEndpointScheme
	}
	if p := strings.TrimSuffix(u.EscapedPath(), "/"); p != "" && (path == "" || p != path) {
		return "", ErrEndpointPath
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ProjectIDLen is the length of a project ID: 32 hexadecimal digits.
const ProjectIDLen = 32

// Project ID problems CheckProjectID reports, in the order it checks them;
// callers word them for their readers (the config loader names the line).
var (
	ErrProjectIDEmpty  = errors.New("is empty")
	ErrProjectIDCase   = errors.New("must be in lower case")
	ErrProjectIDChars  = errors.New("must be hexadecimal digits (0-9, a-f)")
	ErrProjectIDLength = errors.New("must be 32 characters long")
)

// CheckProjectID is the one rule for a project ID, which leasebot puts in
// every request path: 32 hexadecimal digits in lower case, as Huawei Cloud
// and Open Telekom Cloud issue them. Anything else cannot name a project,
// so it is refused when the config is read rather than on every call.
func CheckProjectID(id string) error {
	isHex := func(r rune) bool { return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' }
	notHex := func(s string) bool { return strings.IndexFunc(s, func(r rune) bool { return !isHex(r) }) >= 0 }
	switch {
	case id == "":
		return ErrProjectIDEmpty
	case len(id) == ProjectIDLen && !notHex(strings.ToLower(id)) && notHex(id):
		return ErrProjectIDCase
	case notHex(id):
		return ErrProjectIDChars
	case len(id) != ProjectIDLen:
		return ErrProjectIDLength
	}
	return nil
}

// ListOptions filters List.
type ListOptions struct {
	Status string // e.g. "RUNNING"; empty lists every status
}

// List returns every notebook, fetching all pages (50 per request, or
// fewer if the server sends fewer, until the total it reports is reached),
// at most 100 000 notebooks, each once even when the listing shifts between
// pages. The retry budget applies to each page.
func (c *Client) List(ctx context.Context, opt ListOptions) ([]Notebook, error) {
	path := "/notebooks"
	if c.cfg.ListAll {
		path = "/notebooks/all"
	}
	var all []Notebook
	var seen map[string]bool
	for offset, pages := 0, 0; ; pages++ {
		if pages == maxPages {
			return nil, &Error{Kind: KindOther, Op: "list notebooks",
				Message: fmt.Sprintf("gave up after %d pages (%d notebooks): the listing does not end", maxPages, len(all))}
		}
		q := url.Values{"limit": {strconv.Itoa(pageSize)}, "offset": {strconv.Itoa(offset)}}
		if opt.Status != "" {
			q.Set("status", opt.Status)
		}
		var page listPage
		key := path + "?" + q.Encode()
		decode := func(raw []byte) error {
			sum := pageSum(raw)
			if v, ok := c.pages.Get(key); ok && v.(*cachedPage).sum == sum {
				page = v.(*cachedPage).page
			} else if err := json.Unmarshal(raw, &page); err != nil {
				return err
			}
			c.pages.SetDefault(key, &cachedPage{sum: sum, page: page})
			return nil
		}
		if _, err := c.do(ctx, call{name: "list", op: "list notebooks", method: http.MethodGet, path: path, query: q, retry: retryAll, decode: decode}, nil); err != nil {
			return nil, err
		}
		if seen == nil {
			n := min(max(page.Total, len(page.Data)), 100_000)
			all, seen = make([]Notebook, 0, n), make(map[string]bool, n)
		}
		added := 0
		for _, nb := range page.Data {
			if !seen[nb.ID] {
				seen[nb.ID] = true
				all = append(all, nb)
				added++
			}
		}
		offset += len(page.Data)
		if listingDone(len(page.Data), added, offset, page.Total) {
			return all, nil
		}
	}
}

// listingDone reports whether a listing has ended after a page of n
// notebooks, added of them new, that brought the offset to offset. A page
// with nothing new ends it, so that a server that ignores offset cannot loop
// forever. When the answer carries a total, the listing runs until offset
// reaches it, however short the pages: a server may cap a page below the
// limit asked for. Without a total (0), a page shorter than the limit is
// the last.
func listingDone(n, added, offset, total int) bool {
	switch {
	case added == 0:
		return true
	case total > 0:
		return offset >= total
	}
	return n < pageSize
}

// Get returns one notebook, its lease included (this works whatever its status).
func (c *Client) Get(ctx context.Context, id string) (Notebook, error) {
	var nb Notebook
	err := c.simple(ctx, call{name: "get", op: "get notebook", id: id, method: http.MethodGet, retry: retryAll}, &nb)
	return nb, err
}

// GetLease returns the lease of a RUNNING notebook; any other status is KindNotRunning.
func (c *Client) GetLease(ctx context.Context, id string) (Lease, error) {
	var l Lease
	err := c.simple(ctx, call{name: "lease", op: "get lease", id: id, method: http.MethodGet, path: "/lease", retry: retryAll}, &l)
	return l, err
}

// Renew moves the stop time of a RUNNING notebook to stop and returns the
// stop time the notebook now has.
//
// Each attempt sends duration = stop − now, clamped into [MinDuration,
// MaxDuration], as the query parameter and in the body, so retries keep the
// same target. The stop time Renew returns is one it believes: it lies
// between now + MinDuration and now + MaxDuration, and within 5 minutes of
// the stop asked for (the last attempt's send time plus its duration). A
// stop time from a 200 answer that fails this check is read back once with
// GetLease; a 204 answer, which carries no lease, is always read back, and
// if that read fails the stop asked for is returned, since ModelArts
// accepted it.
//
// Errors:
//   - KindNotRunning or KindNotFound when ModelArts answers so;
//   - KindUnknown, never a plain failure, when the renewal may have been
//     applied but Renew cannot tell: ctx ended after a request was sent, a
//     request got no answer, a bad gateway or a gateway timeout (502,
//     504), a 2xx answer could
//     not be read, or the stop time reported cannot be right. Before
//     returning it, Renew reads the lease back once, on a context of its
//     own (5 s, outliving ctx); if the notebook already stops at the stop
//     asked for, that is a success. The caller should read the notebook
//     again before it announces any stop time;
//   - any other kind when every attempt was refused or never reached
//     ModelArts: nothing was changed.
func (c *Client) Renew(ctx context.Context, id string, stop time.Time) (time.Time, error) {
	var sent time.Time
	var ms int64
	// The duration goes both into the query, which older ModelArts versions
	// require and newer ones let win (forcing a scheduled stop), and into
	// the body, which the current documentation prefers.
	vary := func() (url.Values, []byte) {
		sent = c.cfg.Now()
		// Rounded up to the millisecond, so the stop lands at the target,
		// not a fraction of a millisecond before it (which reads a minute early).
		ms = clampLease((stop.Sub(sent) + time.Millisecond - 1).Truncate(time.Millisecond)).Milliseconds()
		d := strconv.FormatInt(ms, 10)
		return url.Values{"duration": {d}}, []byte(`{"duration":` + d + `,"type":"timing"}`)
	}
	var l Lease
	var oc outcome
	cl := call{name: "renew", op: opRenew, id: id, method: http.MethodPatch, path: "/lease", vary: vary, retry: retryAll, track: &oc}
	err := c.simple(ctx, cl, &l)
	asked := sent.Add(time.Duration(ms) * time.Millisecond)
	if err != nil {
		switch k := KindOf(err); {
		case k == KindNotRunning || k == KindNotFound:
			return time.Time{}, err // a later answer settles it, whatever an earlier attempt did
		case !oc.unsure && !(oc.reached && ctx.Err() != nil):
			return time.Time{}, err
		}
		got, rerr := c.readBack(ctx, id, asked)
		if rerr != nil {
			return time.Time{}, unknownOutcome(opRenew, id, err, rerr)
		}
		return got, nil
	}
	if l.CreateAt != 0 && c.believable(l.StopTime(), asked) {
		return l.StopTime(), nil
	}
	got, rerr := c.readBack(ctx, id, asked)
	switch {
	case rerr == nil:
		return got, nil
	case l.CreateAt == 0 && !errors.Is(rerr, errUnbelievable):
		return asked, nil // a 204: ModelArts accepted the duration; only the read failed
	case l.CreateAt == 0:
		return time.Time{}, unknownOutcome(opRenew, id, nil, rerr)
	}
	return time.Time{}, unknownOutcome(opRenew, id, fmt.Errorf("ModelArts reported stop time %s, not the %s asked for", stamp(l.StopTime()), stamp(asked)), rerr)
}

const opRenew = "renew lease"

const (
	// stopTolerance is how far a reported stop time may lie from the one
	// asked for and still be believed: clock skew between the bot and
	// ModelArts plus the time a request spends in flight.
	stopTolerance = 5 * time.Minute
	// readBackTimeout bounds the read of a lease after a doubtful renewal.
	readBackTimeout = 5 * time.Second
)

// errUnbelievable marks a read-back whose stop time cannot be right.
var errUnbelievable = errors.New("the stop time read back cannot be right")

// believable reports whether stop can be the result of asking for asked:
// within the API's limits from now, and within stopTolerance of asked.
func (c *Client) believable(stop, asked time.Time) bool {
	now := c.cfg.Now()
	return !stop.Before(now.Add(MinDuration-stopTolerance)) && !stop.After(now.Add(MaxDuration+stopTolerance)) &&
		!stop.Before(asked.Add(-stopTolerance)) && !stop.After(asked.Add(stopTolerance))
}

// readBack reads the lease of id once, on a context of its own that
// outlives ctx, and returns its stop time if it is believable for asked.
func (c *Client) readBack(ctx context.Context, id string, asked time.Time) (time.Time, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readBackTimeout)
	defer cancel()
	l, err := c.GetLease(rctx, id)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the lease back: %v", err)
	}
	if s := l.StopTime(); !c.believable(s, asked) {
		return time.Time{}, fmt.Errorf("%w: %s, asked for %s", errUnbelievable, stamp(s), stamp(asked))
	}
	return l.StopTime(), nil
}

// stamp formats a stop time for an error message.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

// unknownOutcome is the KindUnknown error of a change (op) that may or may
// not have been applied. cause is why the answer is doubtful, check what a
// read-back found (nil if none was made). The kinds of both are kept out of the error chain, so
// that errors.Is matches ErrUnknown and not, say, ErrUnavailable; a context
// error stays in it, so callers can still tell a cancellation.
func unknownOutcome(op, id string, cause, check error) *Error {
	e := &Error{Kind: KindUnknown, Op: op, ID: id}
	var ce *Error
	if errors.As(cause, &ce) {
		e.Status, e.Code, e.Message, cause = ce.Status, ce.Code, ce.Message, ce.Err
	}
	var inner *Error
	switch {
	case cause == nil:
		e.Err = check
	case check == nil:
		e.Err = cause
	case errors.As(cause, &inner):
		e.Err = fmt.Errorf("%v; %w", cause, check)
	default:
		e.Err = fmt.Errorf("%w; %w", cause, check)
	}
	return e
}

// Start starts a STOPPED notebook that auto-stops d after the start. d is
// clamped into [MinDuration, MaxDuration], since ModelArts refuses any other
// duration; 0 sends none and leaves it to the service (one hour). It is
// retried only on answers that say the request was not processed (429, 503)
// or when no connection was made. The notebook returned is usually STARTING;
// poll Get until it is RUNNING or START_FAILED (see Notebook.FailReason).
// Like Renew, it returns KindUnknown, never a plain failure, when the start
// may have happened but the answer does not say: ctx ended after a request
// was sent, a request got no answer, a 502 or a 504, or a 2xx could not
// be read.
func (c *Client) Start(ctx context.Context, id string, d time.Duration) (Notebook, error) {
	var q url.Values
	if d != 0 {
		d = clampLease(d)
		q = url.Values{"duration": {strconv.FormatInt(d.Milliseconds(), 10)}, "type": {"timing"}}
	}
	return c.change(ctx, call{name: "start", op: "start notebook", id: id, method: http.MethodPost, path: "/start", query: q, body: emptyObject(), retry: retryUnprocessed})
}

// Stop stops a RUNNING notebook, retried like Start, and like it returns
// KindUnknown when the stop may have happened but the answer does not say.
func (c *Client) Stop(ctx context.Context, id string) (Notebook, error) {
	return c.change(ctx, call{name: "stop", op: "stop notebook", id: id, method: http.MethodPost, path: "/stop", body: emptyObject(), retry: retryUnprocessed})
}

// change runs a start or a stop and turns a failure whose effect is in
// doubt into KindUnknown.
func (c *Client) change(ctx context.Context, cl call) (Notebook, error) {
	var nb Notebook
	var oc outcome
	cl.track = &oc
	err := c.simple(ctx, cl, &nb)
	if err == nil || !oc.unsure && !(oc.reached && ctx.Err() != nil) {
		return nb, err
	}
	switch KindOf(err) {
	case KindNotRunning, KindNotFound, KindBusy, KindOutOfRange:
		return nb, err // ModelArts answered: it refused
	}
	return Notebook{}, unknownOutcome(cl.op, cl.id, err, nil)
}

// clampLease puts a lease duration into [MinDuration, MaxDuration], the
// only durations ModelArts accepts.
func clampLease(d time.Duration) time.Duration {
	return min(max(d, MinDuration), MaxDuration)
}

// emptyObject is the body of start and stop: the API defines none, but some
// ModelArts versions refuse a POST without one.
func emptyObject() []byte { return []byte("{}") }

type retryPolicy int

const (
	retryAll         retryPolicy = iota // 408, 429, 5xx and network errors
	retryUnprocessed                    // 429, 503 and failed dials only
)

type call struct {
	name, op, id string
	method, path string // path below /v1/{project}, or below /notebooks/{id} when id is set
	query        url.Values
	body         []byte // nil: no body
	// vary, when set, replaces query and body with fresh ones for each
	// attempt: a renewal measures its duration from the moment it is sent.
	vary   func() (url.Values, []byte)
	retry  retryPolicy
	decode func(raw []byte) error // reads a 2xx answer instead of decoding into out
	track  *outcome               // if set, receives what the attempts say about the call's effect
}

// outcome is what the attempts of one call say about whether it took effect.
type outcome struct {
	// reached: some request may have reached ModelArts (a connection was
	// made for it).
	reached bool
	// unsure: some request that may have reached ModelArts got no answer
	// that says what happened: none at all, a bad gateway or gateway
	// timeout (502, 504), or a 2xx whose body could not be read.
	unsure bool
}

// gatewayUnsure reports whether status is a gateway's answer that says
// nothing about what ModelArts did behind it: a gateway timeout (504), or a
// bad gateway (502), which a gateway also answers when the backend's answer
// to an applied change was cut off.
func gatewayUnsure(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}

// simple runs a call about one notebook.
func (c *Client) simple(ctx context.Context, cl call, out any) error {
	if !ValidName(cl.id) {
		return &Error{Kind: KindNotFound, Op: cl.op, Message: "malformed notebook ID"}
	}
	cl.path = "/notebooks/" + cl.id + cl.path
	_, err := c.do(ctx, cl, out)
	return err
}

// do runs cl with retries until it succeeds, fails for good, or the retry
// budget or ctx ends. On success it decodes a non-empty answer into out.
func (c *Client) do(ctx context.Context, cl call, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RetryBudget)
	defer cancel()
	var oc outcome
	if cl.track != nil {
		defer func() { *cl.track = oc }()
	}
	reauthed := false
	var answered *Error // the last failure that had an HTTP answer
	for attempt := 0; ; attempt++ {
		status, hdr, raw, reached, err := c.attempt(ctx, cl)
		oc.reached = oc.reached || reached
		oc.unsure = oc.unsure || reached && err != nil || gatewayUnsure(status)
		if err == nil && status/100 == 2 {
			if cl.decode != nil {
				err = cl.decode(raw)
			} else if out != nil && len(bytes.TrimSpace(raw)) > 0 {
				err = json.Unmarshal(raw, out)
			}
			if err != nil {
				oc.unsure = true
				return status, &Error{Kind: KindOther, Op: cl.op, ID: cl.id, Status: status, Err: fmt.Errorf("decoding answer: %w", err)}
			}
			return status, nil
		}
		e := c.failure(cl, status, raw, err)
		if status != 0 {
			answered = e
		} else if answered != nil && errors.Is(err, context.DeadlineExceeded) {
			// The budget ran out in a retry: the earlier answer says more.
			e = answered
		}
		if status == http.StatusUnauthorized && !reauthed {
			if inv, ok := c.cfg.Auth.(Invalidator); ok {
				inv.Invalidate()
				reauthed = true
				continue
			}
		}
		if attempt+1 >= maxAttempts || ctx.Err() != nil || !retryable(cl.retry, status, err) {
			return status, e
		}
		wait := rand.N(min(backoffCap, backoffBase<<attempt))
		if ra, ok := retryAfter(hdr.Get("Retry-After")); ok {
			wait = ra
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return status, e
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return status, e
		}
	}
}

// attempt makes one HTTP request. A non-nil error means no HTTP answer;
// reached reports whether the request may have got to the server, which is
// so once a connection was made for it.
func (c *Client) attempt(ctx context.Context, cl call) (status int, hdr http.Header, raw []byte, reached bool, err error) {
	query, body := cl.query, cl.body
	if cl.vary != nil {
		query, body = cl.vary()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := c.base + cl.path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var conn atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { conn.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), cl.method, u, rd)
	if err != nil {
		return 0, nil, nil, false, err
	}
	// On every request, GETs included, as Huawei's SDK does. The signature
	// leaves Content-Type out, so this changes no signed header.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Language", "en-us")
	req.Header.Set("X-Project-Id", c.cfg.ProjectID)
	if err := c.cfg.Auth.Authenticate(ctx, req, body); err != nil {
		return 0, nil, nil, false, authError{err}
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	// A transport other than net/http's may not report connections: then
	// any request may have reached the server.
	reached = conn.Load() || !c.tracedTransport
	if err != nil {
		c.observe(cl.name, 0, time.Since(start))
		return 0, nil, nil, reached, err
	}
	defer resp.Body.Close()
	raw, err = readBody(resp)
	c.observe(cl.name, resp.StatusCode, time.Since(start))
	if err != nil && resp.StatusCode/100 == 2 {
		return 0, nil, nil, true, err
	}
	return resp.StatusCode, resp.Header, raw, true, nil
}

// readBody reads at most maxBody bytes, in one allocation when the length is known.
func readBody(resp *http.Response) ([]byte, error) {
	var b bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		b.Grow(int(n) + bytes.MinRead)
	}
	_, err := b.ReadFrom(io.LimitReader(resp.Body, maxBody))
	return b.Bytes(), err
}

func (c *Client) observe(name string, status int, took time.Duration) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(name, status, took)
	}
}

// authError marks a failure of the Authenticator, not of ModelArts.
type authError struct{ error }

func (e authError) Unwrap() error { return e.error }

func (c *Client) failure(cl call, status int, raw []byte, err error) *Error {
	e := &Error{Op: cl.op, ID: cl.id, Status: status}
	var ae authError
	switch {
	case errors.As(err, &ae):
		e.Kind, e.Err = KindAuth, ae.error
		if k := KindOf(ae.error); k != KindOther {
			e.Kind = k
		}
	case err != nil:
		e.Kind, e.Err = networkKind(err), netErr(err)
	default:
		e.Code, e.Message = errorBody(raw)
		e.Kind = classify(status, e.Code, cl.id != "")
	}
	var secrets []string
	if s, ok := c.cfg.Auth.(SecretHolder); ok {
		secrets = s.Secrets()
	}
	e.Message = cleanMessage(e.Message, secrets)
	return e
}

// classify maps an HTTP error answer to a Kind. aboutNotebook is false for
// a listing, where a 404 cannot mean a missing notebook.
func classify(status int, code string, aboutNotebook bool) Kind {
	switch code {
	case "ModelArts.6309", "ModelArts.6404":
		return KindNotFound
	case "ModelArts.6327", "ModelArts.6307":
		return KindNotRunning
	case "ModelArts.6349":
		return KindOutOfRange
	case "ModelArts.6357":
		return KindBusy
	}
	switch {
	case status == http.StatusNotFound:
		// ModelArts itself says "not found" with its own code, or with no
		// body at all; any other code (APIG.0101 "API does not exist") comes
		// from the gateway in front of it: a wrong endpoint or path.
		if aboutNotebook && (code == "" || strings.HasPrefix(code, "ModelArts.")) {
			return KindNotFound
		}
		return KindConfig
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindAuth
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return KindUnavailable
	}
	return KindOther
}

func retryable(p retryPolicy, status int, err error) bool {
	if err != nil {
		var ae authError
		if errors.As(err, &ae) {
			return KindOf(ae.error) == KindUnavailable
		}
		var op *net.OpError
		return p == retryAll || errors.As(err, &op) && op.Op == "dial"
	}
	if p == retryUnprocessed {
		return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
	}
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// networkKind is KindUnavailable, except for a cancellation by the caller.
func networkKind(err error) Kind {
	if errors.Is(err, context.Canceled) {
		return KindOther
	}
	return KindUnavailable
}

// netErr drops the request URL that *url.Error adds.
func netErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter parses a Retry-After value in seconds or as an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// errorBody extracts the code and message of a ModelArts, APIG or IAM error body.
func errorBody(raw []byte) (code, msg string) {
	var b struct {
		Code  string `json:"error_code"`
		Msg   string `json:"error_msg"`
		Error struct {
			Code    any    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &b) != nil {
		return "", ""
	}
	code, msg = b.Code, b.Msg
	if c, ok := b.Error.Code.(string); ok && code == "" {
		code = c // IAM's numeric codes only repeat the HTTP status
	}
	if msg == "" {
		msg = b.Error.Message
	}
	return code, msg
}

// maxMsg bounds the length, in bytes, of a server message kept in an Error.
const maxMsg = 300

// cleanMessage makes a server's error message fit for an error: every
// secret the server may have echoed is blanked first, over the whole text,
// and only then is the text cut to maxMsg bytes, at a rune boundary. Cutting
// first would leave the head of a secret that straddles the cut unmatched.
func cleanMessage(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	if len(msg) <= maxMsg {
		return msg
	}
	n := maxMsg
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n] + "…"
}
