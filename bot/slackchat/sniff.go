package slackchat

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
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
var linkDisabled = []byte(`"reason":"link_disabled"`)

func (a *Adapter) dialer() *websocket.Dialer {
	var nd net.Dialer
	wrap := func(c net.Conn) net.Conn {
		return &sniffConn{Conn: c, onMatch: func() { a.fail("link_disabled") }}
	}
	return &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
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
			td := tls.Dialer{NetDialer: &nd, Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
			c, err := td.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wrap(c), nil
		},
	}
}

// sniffConn calls onMatch once when linkDisabled appears in what it reads.
type sniffConn struct {
	net.Conn
	onMatch func()
	once    sync.Once
	tail    []byte // the last len(linkDisabled)-1 bytes, for matches across reads
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		buf := append(c.tail, p[:n]...)
		if bytes.Contains(buf, linkDisabled) {
			c.once.Do(c.onMatch)
		}
		keep := min(len(buf), len(linkDisabled)-1)
		c.tail = append(c.tail[:0], buf[len(buf)-keep:]...)
	}
	return n, err
}
