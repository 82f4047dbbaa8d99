package slackchat

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// slack-go reconnects on every `disconnect` message and never tells its
// consumer the reason, so a `link_disabled` (Socket Mode switched off for the
// app) would make it reconnect forever. The adapter's dialer therefore watches
// the frames Slack sends for that one message. Server frames are not masked,
// and inside a JSON string a quote is always escaped, so the compact form
// `"reason":"link_disabled"` only occurs as a real field, never in user text.
const linkDisabledField = `"reason":"link_disabled"`

var linkDisabled = []byte(linkDisabledField)

// seamLen is how much of the stream a sniffConn keeps between reads: a match
// that straddles two reads starts within their last seamLen bytes.
const seamLen = len(linkDisabledField) - 1

func (a *Adapter) dialer() *websocket.Dialer {
	return newDialer(http.ProxyFromEnvironment, nil, func() { a.fail("link_disabled") })
}

// newDialer builds the Socket Mode dialer: every connection passes through a
// sniffConn that calls onMatch on link_disabled. proxy picks the proxy for a
// URL (http.ProxyFromEnvironment in production); tlsConf, if set, is the
// base TLS configuration (tests give their own CAs).
//
// For wss:// the sniffer must sit above TLS, so the dialer does the TLS
// handshake itself (NetDialTLSContext). gorilla/websocket would then dial an
// HTTPS proxy with that same function, TLS and all, and never connect; so
// for wss:// the dialer also does the proxy's CONNECT itself and gorilla is
// told there is no proxy. For ws:// gorilla's own proxy support is used: the
// sniffer reads the plain stream either way.
func newDialer(proxy func(*http.Request) (*url.URL, error), tlsConf *tls.Config, onMatch func()) *websocket.Dialer {
	nd := &net.Dialer{}
	wrap := func(c net.Conn) net.Conn { return &sniffConn{Conn: c, onMatch: onMatch} }
	return &websocket.Dialer{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Scheme == "https" || r.URL.Scheme == "wss" {
				return nil, nil // NetDialTLSContext goes through the proxy itself
			}
			return proxy(r)
		},
		HandshakeTimeout: 45 * time.Second,
		WriteBufferSize:  32 * 1024,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wrap(c), nil
		},
		NetDialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			pu, err := proxy(&http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: addr}})
			if err != nil {
				return nil, fmt.Errorf("proxy for %s: %w", host, err)
			}
			var c net.Conn
			if pu != nil {
				c, err = connectVia(ctx, nd, pu, tlsConf, addr)
			} else {
				c, err = nd.DialContext(ctx, network, addr)
			}
			if err != nil {
				return nil, err
			}
			tc := tls.Client(c, tlsConfig(tlsConf, host))
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return wrap(tc), nil
		},
	}
}

// tlsConfig is base (or a fresh configuration) for a connection to host.
func tlsConfig(base *tls.Config, host string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		cfg = base.Clone()
	}
	cfg.ServerName = host
	return cfg
}

// connectVia opens a tunnel to addr through an HTTP(S) proxy with CONNECT,
// as net/http does for HTTPS requests. Errors name the proxy's host, never
// its credentials.
func connectVia(ctx context.Context, nd *net.Dialer, proxy *url.URL, tlsConf *tls.Config, addr string) (net.Conn, error) {
	port := proxy.Port()
	switch proxy.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
	default:
		return nil, fmt.Errorf("proxy %s: the Socket Mode connection goes through http:// and https:// proxies only, not %s://", proxy.Hostname(), proxy.Scheme)
	}
	c, err := nd.DialContext(ctx, "tcp", net.JoinHostPort(proxy.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", proxy.Host, err)
	}
	fail := func(err error) (net.Conn, error) {
		c.Close()
		return nil, fmt.Errorf("proxy %s: %w", proxy.Host, err)
	}
	if proxy.Scheme == "https" {
		tc := tls.Client(c, tlsConfig(tlsConf, proxy.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(err)
		}
		c = tc
	}
	// The CONNECT exchange honours ctx: cancelling it cuts the wait short.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(c); err != nil {
		stop()
		return fail(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if !stop() {
		return fail(ctx.Err())
	}
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("CONNECT %s: %s", addr, resp.Status))
	}
	if br.Buffered() > 0 {
		return fail(fmt.Errorf("CONNECT %s: the proxy sent data before the tunnel was used", addr))
	}
	return c, nil
}

// sniffConn calls onMatch once when linkDisabled appears in what it reads.
// It searches each read where it lies, plus the seam with the reads before
// it, so a socket read costs no allocation and no copy of the buffer.
type sniffConn struct {
	net.Conn
	onMatch func()
	once    sync.Once
	tail    [seamLen]byte     // the last bytes read so far
	tailN   int               // how many of tail are set
	seam    [2 * seamLen]byte // tail and the start of the current read
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.scan(p[:n])
	}
	return n, err
}

// scan looks for linkDisabled in data and across its seam with what was
// read before it.
func (c *sniffConn) scan(data []byte) {
	seam := append(c.seam[:0], c.tail[:c.tailN]...)
	seam = append(seam, data[:min(len(data), seamLen)]...)
	if bytes.Contains(seam, linkDisabled) || bytes.Contains(data, linkDisabled) {
		c.once.Do(c.onMatch)
	}
	if len(data) >= seamLen {
		c.tailN = copy(c.tail[:], data[len(data)-seamLen:])
	} else { // seam holds the old tail and all of data
		c.tailN = copy(c.tail[:], seam[len(seam)-min(len(seam), seamLen):])
	}
}
