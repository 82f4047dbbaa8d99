package slackchat

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// connectProxy is a fake HTTP proxy that only tunnels (CONNECT), as a
// corporate proxy set in HTTPS_PROXY does. It asks for Basic credentials
// when auth is set, and records the tunnels it opened.
type connectProxy struct {
	*httptest.Server
	auth    string // the Proxy-Authorization it wants; empty: any
	mu      sync.Mutex
	tunnels []string
}

func newConnectProxy(t *testing.T, user, password string) *connectProxy {
	t.Helper()
	return startConnectProxy(t, user, password, httptest.NewServer)
}

// startConnectProxy is newConnectProxy served by start: httptest.NewServer,
// or httptest.NewTLSServer for an https:// proxy.
func startConnectProxy(t *testing.T, user, password string, start func(http.Handler) *httptest.Server) *connectProxy {
	t.Helper()
	p := &connectProxy{}
	if user != "" {
		p.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	}
	p.Server = start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "this proxy only tunnels", http.StatusMethodNotAllowed)
			return
		}
		if p.auth != "" && r.Header.Get("Proxy-Authorization") != p.auth {
			w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
			http.Error(w, "who are you?", http.StatusProxyAuthRequired)
			return
		}
		dst, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			dst.Close()
			return
		}
		p.mu.Lock()
		p.tunnels = append(p.tunnels, r.Host)
		p.mu.Unlock()
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			_, _ = io.Copy(dst, brw)
			_ = dst.(*net.TCPConn).CloseWrite()
		}()
		_, _ = io.Copy(conn, dst)
		conn.Close()
		dst.Close()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *connectProxy) Tunnels() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tunnels...)
}

// proxyURL is the proxy's URL with credentials, as HTTPS_PROXY would hold it.
func (p *connectProxy) proxyURL(t *testing.T, user, password string) *url.URL {
	t.Helper()
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u
}

// linkServer is a Socket Mode endpoint that sends Slack's link_disabled
// disconnect as soon as a client connects, over TLS or not.
func linkServer(t *testing.T, overTLS bool) (wsURL string, certs *tls.Config) {
	t.Helper()
	var up websocket.Upgrader
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.WriteMessage(websocket.TextMessage, []byte(disconnectFrame))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	if !overTLS {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return "ws://" + srv.Listener.Addr().String() + "/link/?ticket=t1", nil
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return "wss://" + srv.Listener.Addr().String() + "/link/?ticket=t1", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// The dialer reaches Slack through an HTTPS_PROXY (a CONNECT tunnel) and
// still sees link_disabled: gorilla/websocket must not dial the proxy with
// the dialer's own TLS function.
func TestDialerThroughAProxy(t *testing.T) {
	for _, tt := range []struct {
		name                     string
		overTLS, proxy, tlsProxy bool
	}{
		{"wss through a proxy", true, true, false},
		{"wss through an https proxy", true, true, true},
		{"ws through a proxy", false, true, false},
		{"wss direct", true, false, false},
		{"ws direct", false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target, certs := linkServer(t, tt.overTLS)
			start := httptest.NewServer
			if tt.tlsProxy {
				start = httptest.NewTLSServer // the same test certificate as the target's
			}
			proxy := startConnectProxy(t, "proxyuser", "proxy-secret", start)
			pick := http.ProxyURL(nil)
			if tt.proxy {
				pick = http.ProxyURL(proxy.proxyURL(t, "proxyuser", "proxy-secret"))
			}
			var matched atomic.Int32
			d := newDialer(pick, certs, func() { matched.Add(1) })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := d.DialContext(ctx, target, nil)
			if err != nil {
				t.Fatalf("dial %s: %v", target, err)
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, msg, err := c.ReadMessage(); err != nil || string(msg) != disconnectFrame {
				t.Fatalf("read %q, %v; want the disconnect frame", msg, err)
			}
			if n := matched.Load(); n != 1 {
				t.Errorf("the sniffer saw link_disabled %d times, want once", n)
			}
			u, _ := url.Parse(target)
			want := []string(nil)
			if tt.proxy {
				want = []string{u.Host}
			}
			if got := proxy.Tunnels(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("proxy tunnels = %v, want %v", got, want)
			}
		})
	}
}

// A proxy that refuses the credentials: the error says so, names the proxy,
// and carries no password.
func TestDialerProxyRefusal(t *testing.T) {
	target, certs := linkServer(t, true)
	proxy := newConnectProxy(t, "proxyuser", "proxy-secret")
	d := newDialer(http.ProxyURL(proxy.proxyURL(t, "proxyuser", "wrong-secret")), certs, func() {})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := d.DialContext(ctx, target, nil)
	if err == nil {
		c.Close()
		t.Fatal("dial through a proxy that refuses the credentials succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "407") || !strings.Contains(msg, proxy.Listener.Addr().String()) || strings.Contains(msg, "secret") {
		t.Errorf("error = %q; want the 407, the proxy's address and no password", msg)
	}

	socks := newDialer(http.ProxyURL(&url.URL{Scheme: "socks5", Host: "127.0.0.1:1"}), certs, func() {})
	if c, _, err := socks.DialContext(ctx, target, nil); err == nil || !strings.Contains(err.Error(), "socks5") {
		if c != nil {
			c.Close()
		}
		t.Errorf("a socks5 proxy for wss: %v; want a clear refusal", err)
	}
}
