package slackfake_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
)

// replica is one socketmode client acking everything, as one bot replica.
type replica struct {
	seen chan socketmode.Event // hellos and acked envelopes
	stop func() error
}

// startReplicas connects n socketmode clients one after the other, so that
// replica i holds connection i+1.
func startReplicas(t *testing.T, s *slackfake.Server, n int) []replica {
	t.Helper()
	rs := make([]replica, n)
	for i := range rs {
		rs[i].seen = make(chan socketmode.Event, 100)
		rs[i].stop = ackAll(t, quietClient(newAPI(s, appToken)), rs[i].seen)
		hello := next(t, rs[i].seen)
		if want := fmt.Sprintf("applink-fake-%d", i+1); hello.Type != socketmode.EventTypeHello ||
			hello.Request.NumConnections != i+1 || hello.Request.DebugInfo.Host != want {
			t.Fatalf("replica %d: hello %+v, want num_connections %d and host %s", i, hello.Request, i+1, want)
		}
		if !s.WaitLive(i+1, wait) {
			t.Fatalf("live = %d, want %d", s.LiveConnections(), i+1)
		}
	}
	return rs
}

func nothing(t *testing.T, ch <-chan socketmode.Event, who string) {
	t.Helper()
	select {
	case evt := <-ch:
		t.Errorf("%s got an unexpected %s (%+v)", who, evt.Type, evt.Request)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestEnvelopesSpreadOverConnections(t *testing.T) {
	s := newFake(t)
	rs := startReplicas(t, s, 3)
	var envs []*slackfake.Envelope
	for i := range 9 {
		e := s.SlashCommand("U1", "C1", fmt.Sprint("list ", i))
		if want := i%3 + 1; e.Conn != want || e.Attempt != 0 {
			t.Fatalf("envelope %d went to connection %d (attempt %d), want %d", i, e.Conn, e.Attempt, want)
		}
		if _, ok := e.WaitAck(wait); !ok {
			t.Fatalf("envelope %d not acked", i)
		}
		envs = append(envs, e)
	}
	for i, r := range rs {
		for range 3 {
			evt := next(t, r.seen)
			if cmd, ok := evt.Data.(slack.SlashCommand); !ok || !strings.HasPrefix(cmd.Text, "list ") {
				t.Fatalf("replica %d got %+v", i, evt)
			}
		}
		nothing(t, r.seen, fmt.Sprint("replica ", i))
	}
	for i, c := range s.Conns() {
		if c.ID != i+1 || !c.Live || c.Retiring || c.Delivered != 3 || c.Acked != 3 || c.Opened.IsZero() {
			t.Errorf("connection %d: %+v", i+1, c)
		}
	}
	for _, e := range envs {
		d := s.Deliveries(e.ID)
		if len(d) != 1 || d[0].Conn != e.Conn || len(d[0].Acks) != 1 || d[0].Acks[0].Conn != e.Conn {
			t.Errorf("deliveries of %s: %+v", e.ID, d)
		}
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}

func TestRedeliverOnAnotherConnection(t *testing.T) {
	s := newFake(t)
	rs := startReplicas(t, s, 3)
	e := s.SlashCommand("U1", "C1", "extend nb-1 1h")
	if _, ok := e.WaitAck(wait); !ok || e.Conn != 1 {
		t.Fatalf("first delivery on %d, acked %v", e.Conn, ok)
	}
	next(t, rs[0].seen)

	r := s.Redeliver(e)
	if r == nil || r.ID != e.ID || r.Attempt != 1 || r.Conn == e.Conn || r.Conn == 0 || r.ResponseURL != e.ResponseURL {
		t.Fatalf("redelivery = %+v", r)
	}
	evt := next(t, rs[r.Conn-1].seen)
	if evt.Request.EnvelopeID != e.ID || evt.Request.RetryAttempt != 1 || evt.Request.RetryReason != "timeout" {
		t.Fatalf("redelivered request = %+v", evt.Request)
	}
	ack, ok := r.WaitAck(wait)
	if !ok || ack.Conn != r.Conn || ack.Attempt != 1 {
		t.Fatalf("retry ack = %+v, %v", ack, ok)
	}

	// Another retry avoids the connection of the latest delivery.
	r2 := s.Redeliver(r)
	if r2.Attempt != 2 || r2.Conn == r.Conn {
		t.Fatalf("second redelivery on %d after %d", r2.Conn, r.Conn)
	}
	if _, ok := r2.WaitAck(wait); !ok {
		t.Fatal("second retry not acked")
	}
	// RedeliverOn scripts the connection, even the one that had it last.
	r3 := s.RedeliverOn(e, r2.Conn)
	if r3.Conn != r2.Conn || r3.Attempt != 3 {
		t.Fatalf("RedeliverOn went to %d, want %d", r3.Conn, r2.Conn)
	}
	if _, ok := r3.WaitAck(wait); !ok {
		t.Fatal("third retry not acked")
	}
	if off := s.RedeliverOn(e, 42); !off.Sent.IsZero() || off.Conn != 0 {
		t.Fatalf("redelivery on a connection that is not open: %+v", off)
	}

	ds := s.Deliveries(e.ID)
	if len(ds) != 4 || s.Acks(e.ID) != 4 {
		t.Fatalf("deliveries %+v, acks %d", ds, s.Acks(e.ID))
	}
	for i, d := range ds {
		if d.Attempt != i || len(d.Acks) != 1 || d.Acks[0].Conn != d.Conn {
			t.Errorf("delivery %d: %+v", i, d)
		}
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}

// TestRedeliverAvoidsLastConnection covers retries that round-robin (or a
// pin) would hand back to the connection that just missed them.
func TestRedeliverAvoidsLastConnection(t *testing.T) {
	s := newFake(t)
	startReplicas(t, s, 3)
	var envs []*slackfake.Envelope
	for i := range 3 {
		e := s.SlashCommand("U1", "C1", "list")
		if e.Conn != i+1 {
			t.Fatalf("envelope %d on %d", i, e.Conn)
		}
		envs = append(envs, e)
	}
	if r := s.Redeliver(envs[0]); r.Conn == 1 || r.Conn == 0 { // round-robin is back at 1
		t.Fatalf("retry of an envelope from 1 went to %d", r.Conn)
	}
	s.PinConn(2)
	if r := s.Redeliver(envs[1]); r.Conn == 2 || r.Conn == 0 {
		t.Fatalf("retry of an envelope from pinned 2 went to %d", r.Conn)
	}
	if e := s.SlashCommand("U1", "C1", "list"); e.Conn != 2 {
		t.Fatalf("pinned envelope went to %d", e.Conn)
	}
}

func TestPinConn(t *testing.T) {
	s := newFake(t)
	rs := startReplicas(t, s, 2)
	s.PinConn(2)
	for range 3 {
		if e := s.SlashCommand("U1", "C1", "list"); e.Conn != 2 {
			t.Fatalf("pinned envelope went to %d", e.Conn)
		}
		next(t, rs[1].seen)
	}
	nothing(t, rs[0].seen, "the unpinned replica")
	s.PinConn(0)
	if a, b := s.SlashCommand("U1", "C1", "x"), s.SlashCommand("U1", "C1", "y"); a.Conn == b.Conn {
		t.Fatalf("unpinned envelopes both went to %d", a.Conn)
	}
}

// rawSocket is a Socket Mode connection driven by hand, to script what
// slack-go never does.
type rawSocket struct {
	c      *websocket.Conn
	hello  map[string]any
	frames chan map[string]any
}

func openRaw(t *testing.T, s *slackfake.Server) *rawSocket {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+appToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var open struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&open)
	resp.Body.Close()
	if !open.OK {
		t.Fatalf("apps.connections.open: %+v", open)
	}
	c, _, err := websocket.DefaultDialer.Dial(open.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawSocket{c: c, frames: make(chan map[string]any, 100)}
	_, data, err := c.ReadMessage()
	if err != nil || json.Unmarshal(data, &r.hello) != nil {
		t.Fatalf("first frame %s, %v", data, err)
	}
	go func() {
		defer close(r.frames)
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			var m map[string]any
			_ = json.Unmarshal(data, &m)
			r.frames <- m
		}
	}()
	return r
}

func (r *rawSocket) ack(t *testing.T, id string) {
	t.Helper()
	if err := r.c.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"`+id+`"}`)); err != nil {
		t.Fatal(err)
	}
}

func (r *rawSocket) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m, ok := <-r.frames:
		if !ok {
			t.Fatal("socket closed")
		}
		return m
	case <-time.After(wait):
		t.Fatal("no frame")
		return nil
	}
}

func waitViolations(s *slackfake.Server, n int) string {
	deadline := time.Now().Add(wait)
	for len(s.Violations()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return strings.Join(s.Violations(), "\n")
}

func TestAcksPerConnection(t *testing.T) {
	s := newFake(t)
	a, b := openRaw(t, s), openRaw(t, s)
	if a.hello["num_connections"] != 1.0 || b.hello["num_connections"] != 2.0 {
		t.Fatalf("hellos %v %v", a.hello, b.hello)
	}
	e := s.SlashCommand("U1", "C1", "x")
	if e.Conn != 1 || a.next(t)["envelope_id"] != e.ID {
		t.Fatalf("envelope on %d", e.Conn)
	}
	b.ack(t, e.ID) // b never carried it
	if v := waitViolations(s, 1); !strings.Contains(v, "never carried") || s.Acks(e.ID) != 0 {
		t.Fatalf("violations %q, acks %d", v, s.Acks(e.ID))
	}
	a.ack(t, e.ID)
	if _, ok := e.WaitAck(wait); !ok {
		t.Fatal("ack on the right connection not counted")
	}
	a.ack(t, e.ID)
	if v := waitViolations(s, 2); !strings.Contains(v, "duplicate ack") {
		t.Fatalf("violations %q", v)
	}
	// Redelivered to b, acked there: fine.
	r := s.Redeliver(e)
	if r.Conn != 2 || b.next(t)["retry_attempt"] != 1.0 {
		t.Fatalf("redelivery on %d", r.Conn)
	}
	b.ack(t, e.ID)
	if _, ok := r.WaitAck(wait); !ok || len(s.Violations()) != 2 {
		t.Fatalf("retry ack: %v, violations %v", ok, s.Violations())
	}
	if c := s.Conns(); c[0].Delivered != 1 || c[0].Acked != 1 || c[1].Delivered != 1 || c[1].Acked != 1 {
		t.Fatalf("conns %+v", c)
	}
}

func TestDropAndDisconnectOneConnection(t *testing.T) {
	s := newFake(t)
	a, b := openRaw(t, s), openRaw(t, s)
	if !s.DropConn(1) || s.DropConn(1) || !s.WaitLive(1, wait) {
		t.Fatalf("live = %d", s.LiveConnections())
	}
	if _, ok := <-a.frames; ok {
		t.Fatal("dropped socket still open")
	}
	for range 2 {
		if e := s.SlashCommand("U1", "C1", "x"); e.Conn != 2 || b.next(t)["envelope_id"] != e.ID {
			t.Fatalf("envelope on %d after dropping 1", e.Conn)
		}
	}
	if !s.DisconnectConn(2, "warning") || s.DisconnectConn(2, "warning") {
		t.Fatal("DisconnectConn")
	}
	if m := b.next(t); m["type"] != "disconnect" || m["reason"] != "warning" {
		t.Fatalf("frame %v", m)
	}
	if c := s.Conns(); c[0].Live || c[0].Closed.IsZero() || !c[1].Live || !c[1].Retiring {
		t.Fatalf("conns %+v", c)
	}
	// No socket may take new envelopes now: they wait for the next one.
	got := make(chan *slackfake.Envelope, 1)
	go func() { got <- s.SlashCommand("U1", "C1", "later") }()
	time.Sleep(100 * time.Millisecond)
	c := openRaw(t, s)
	if c.hello["num_connections"] != 2.0 {
		t.Fatalf("hello %v", c.hello)
	}
	if e := <-got; e.Conn != 3 || c.next(t)["envelope_id"] != e.ID {
		t.Fatalf("held envelope went to %d", e.Conn)
	}
}

func TestTooManyWebsockets(t *testing.T) {
	s := newFake(t)
	var socks []*rawSocket
	for range slackfake.MaxConnections {
		socks = append(socks, openRaw(t, s))
	}
	if s.LiveConnections() != slackfake.MaxConnections {
		t.Fatalf("live = %d", s.LiveConnections())
	}
	extra := openRaw(t, s) // its first frame is the refusal
	if extra.hello["type"] != "disconnect" || extra.hello["reason"] != "too_many_websockets" {
		t.Fatalf("11th socket got %v", extra.hello)
	}
	if _, ok := <-extra.frames; ok {
		t.Fatal("11th socket left open")
	}
	if v := waitViolations(s, 1); !strings.Contains(v, "too_many_websockets") || s.LiveConnections() != slackfake.MaxConnections {
		t.Fatalf("violations %q, live %d", v, s.LiveConnections())
	}
	socks[0].c.Close()
	if !s.WaitLive(slackfake.MaxConnections-1, wait) {
		t.Fatal("closed socket still counted")
	}
	if again := openRaw(t, s); again.hello["type"] != "hello" {
		t.Fatalf("socket after one closed got %v", again.hello)
	}
}
