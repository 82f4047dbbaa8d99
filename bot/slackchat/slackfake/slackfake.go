// Package slackfake is an in-process fake Slack for end-to-end tests and
// benchmarks: the Web API methods leasebot uses, a response_url endpoint and a
// Socket Mode WebSocket, faithful enough to drive the real slack-go client
// (slack.OptionAPIURL(s.APIURL()) plus socketmode.New). It records everything
// the bot sends and can script failures, disconnects and dropped sockets.
package slackfake

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Identifiers of the fake workspace, app and bot user, and the slash command
// that SlashCommand sends.
const (
	TeamID    = "T0FAKE"
	AppID     = "A0FAKE"
	BotUserID = "U0BOT"
	BotID     = "B0BOT"
	Command   = "/notebook"
)

// MaxAckSize is Slack's limit for a Socket Mode response: larger acks are
// recorded as violations and, as on Slack, dropped.
const MaxAckSize = 20 * 1024

const sendWait = 10 * time.Second // how long senders wait for a connected client

// Options configures a Server.
type Options struct {
	// AppToken and BotToken are the expected tokens: other tokens get ok:false
	// invalid_auth, none at all not_authed. Empty accepts any token.
	AppToken, BotToken string
	// PingInterval is the period of WebSocket ping control frames (default
	// 1s); keep it well below the client's ping interval.
	PingInterval time.Duration
	// AckDeadline is Slack's ack deadline (default 3s); later acks are Late.
	AckDeadline time.Duration
	// NoHomeTab is an app whose Home tab is switched off: views.publish
	// answers not_enabled.
	NoHomeTab bool
}

// Ack is one acknowledgement received for an envelope. Latency is measured
// from the delivery it acknowledges: the oldest unacked one on the connection
// the ack came in on.
type Ack struct {
	Payload json.RawMessage // nil if the ack had none
	At      time.Time
	Latency time.Duration
	Late    bool // Latency exceeded Options.AckDeadline
	Conn    int  // Conn.ID of the socket the ack came in on
	Attempt int  // retry_attempt of the delivery it acknowledges
}

// Envelope is one delivery of a Socket Mode envelope to the client; its
// fields do not change after it is returned. Sent is when it was written to a
// socket and Conn that socket's Conn.ID, both zero if no socket could take it
// within 10s (it then stays queued). Attempt is its retry_attempt, above 0
// for envelopes returned by Redeliver.
type Envelope struct {
	ID, Type, TriggerID, ResponseURL string
	Payload                          json.RawMessage
	Sent                             time.Time
	Conn, Attempt                    int

	s  *Server
	dl *delivery // nil if the frame had no envelope_id
}

// Response is one POST to a response_url of this fake; ID is the <id> of
// /respond/<id>. Blocks is nil when absent or empty.
type Response struct {
	ID, EnvelopeID, ResponseType    string
	ReplaceOriginal, DeleteOriginal bool
	Text                            string
	Blocks                          json.RawMessage
	At                              time.Time
}

// Version is one state of a message; Via is the method that produced it.
type Version struct {
	Text   string
	Blocks json.RawMessage
	Via    string
	At     time.Time
}

// Message is a posted message in its current state. User is the recipient of
// an ephemeral message, Blocks is nil when empty, Updated counts changes after
// the first post, History holds every version including the current one.
type Message struct {
	Channel, TS, ThreadTS, User string
	Ephemeral, Deleted          bool
	Text                        string
	Blocks                      json.RawMessage
	Updated                     int
	History                     []Version
}

type user struct {
	name, tz string
	loc      *time.Location // nil if tz is not a known zone
}

type script struct {
	times      int
	err        string
	retryAfter time.Duration
}

// Server is the fake Slack. All methods are safe for concurrent use.
type Server struct {
	opt      Options
	nonce    string // makes this server's envelope, trigger and event IDs unique, as Slack's are
	srv      *httptest.Server
	upgrader websocket.Upgrader
	closed   chan struct{}
	once     sync.Once
	wg       sync.WaitGroup

	mu                        sync.Mutex
	changed                   chan struct{} // closed and replaced on every change
	isClosed                  bool
	seq, tsSeq, opens, hellos int
	failOpen                  string
	pending                   []*frame        // frames no socket can take yet
	live                      map[int]*wsConn // open sockets by Conn.ID
	connLog                   []*wsConn       // every accepted socket, by Conn.ID
	connSeq                   int             // last Conn.ID
	lastConn, pin             int             // round-robin position; PinConn
	tickets                   map[string]bool
	rates, fails              map[string]*script
	hangs                     map[string]*script // times: calls left; retryAfter: how long each is held
	calls                     map[string]int
	log, violations           []string
	users                     map[string]user
	groups                    map[string][]string
	envs                      map[string]*envState
	targets                   map[string][3]string // response_url id -> envelope id, channel, ts
	responses                 []Response
	msgs                      []*Message
	msgIdx                    map[[2]string]*Message // channel, ts
	homes                     map[string]*homeView   // user -> published App Home
}

// New starts a fake Slack on a local httptest server.
func New(opt Options) *Server {
	opt.PingInterval = cmp.Or(opt.PingInterval, time.Second)
	opt.AckDeadline = cmp.Or(opt.AckDeadline, 3*time.Second)
	s := &Server{opt: opt, nonce: nonce(), closed: make(chan struct{}),
		changed: make(chan struct{}), live: map[int]*wsConn{}, tickets: map[string]bool{},
		rates: map[string]*script{}, fails: map[string]*script{}, hangs: map[string]*script{}, calls: map[string]int{},
		users: map[string]user{}, groups: map[string][]string{}, envs: map[string]*envState{},
		targets: map[string][3]string{}, msgIdx: map[[2]string]*Message{}, homes: map[string]*homeView{},
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/respond/", s.handleRespond)
	mux.HandleFunc("/link/", s.handleWS)
	s.srv = httptest.NewServer(mux)
	return s
}

// APIURL is the Web API base URL, ending in "/", for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Close drops all sockets, stops the server and waits for its goroutines.
func (s *Server) Close() {
	s.once.Do(func() {
		s.change(func() { s.isClosed = true; close(s.closed) })
		s.DropConnection()
		s.srv.Close()
		s.wg.Wait()
	})
}

// locked runs f with s.mu held.
func locked[T any](s *Server, f func() T) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f()
}

// change runs f with s.mu held, then wakes all waiters.
func (s *Server) change(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitUntil checks cond (without s.mu held) after every change until it
// holds, timeout passes or the server closes.
func (s *Server) waitUntil(timeout time.Duration, cond func() bool) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		ch := locked(s, func() chan struct{} { return s.changed })
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-t.C:
			return cond()
		case <-s.closed:
			return cond()
		}
	}
}

func first[T any](xs []T, match func(T) bool) (T, bool) {
	if i := slices.IndexFunc(xs, match); i >= 0 {
		return xs[i], true
	}
	var zero T
	return zero, false
}

// AddUser registers a user for users.info; tz is an IANA zone name.
func (s *Server) AddUser(id, name, tz string) {
	loc, _ := time.LoadLocation(tz)
	if tz == "" {
		loc = nil
	}
	s.change(func() { s.users[id] = user{name, tz, loc} })
}

// SetGroup sets the members of a user group for usergroups.users.list.
func (s *Server) SetGroup(id string, members ...string) {
	s.change(func() { s.groups[id] = slices.Clone(members) })
}

// FailConnectionsOpen makes every apps.connections.open answer ok:false err
// (e.g. "invalid_auth") until it is called with "".
func (s *Server) FailConnectionsOpen(err string) { s.change(func() { s.failOpen = err }) }

// RateLimit makes the next times calls of method answer HTTP 429 with
// Retry-After set to retryAfter rounded up to whole seconds.
func (s *Server) RateLimit(method string, retryAfter time.Duration, times int) {
	s.change(func() { s.rates[method] = &script{times: times, retryAfter: retryAfter} })
}

// HangMethod holds the next times calls of method for d before answering
// (or until the client gives up), like a Web API call that never returns.
func (s *Server) HangMethod(method string, d time.Duration, times int) {
	s.change(func() { s.hangs[method] = &script{times: times, retryAfter: d} })
}

// FailMethod makes the next times calls of method answer ok:false slackErr.
func (s *Server) FailMethod(method, slackErr string, times int) {
	s.change(func() { s.fails[method] = &script{times: times, err: slackErr} })
}

// Calls counts requests for a Web API method, failed ones included;
// "response_url" counts response_url posts.
func (s *Server) Calls(method string) int { return locked(s, func() int { return s.calls[method] }) }

// Connections counts successful apps.connections.open calls.
func (s *Server) Connections() int { return locked(s, func() int { return s.opens }) }

// Hellos counts the sockets sent hello: the connections clients actually
// made. It can be lower than Connections, since a client may ask
// apps.connections.open for a URL and never use it (leasebot check does, to
// try the app-level token).
func (s *Server) Hellos() int { return locked(s, func() int { return s.hellos }) }

// Connected reports whether a client socket is up.
func (s *Server) Connected() bool { return s.LiveConnections() > 0 }

// WaitConnected waits until n sockets in total have been sent hello.
func (s *Server) WaitConnected(n int, timeout time.Duration) bool {
	return s.waitUntil(timeout, func() bool { return locked(s, func() bool { return s.hellos >= n }) })
}

// Log is everything received, oldest first: Web API calls as "<method>
// k=v&..." (values decoded, token field redacted, headers not logged),
// response_url posts as "response_url <id> <json>", socket frames as "ws <frame>".
func (s *Server) Log() []string { return locked(s, func() []string { return slices.Clone(s.log) }) }

// Violations lists what real Slack would refuse or hold against the app:
// malformed frames, acks of MaxAckSize bytes or more, late acks, acks for
// unknown envelopes or on a connection that never carried the envelope, a
// second ack for one delivery, a socket beyond MaxConnections, and blocks or
// views refused by Web API methods and response_url (with the reason).
func (s *Server) Violations() []string {
	return locked(s, func() []string { return slices.Clone(s.violations) })
}

// Acks counts the acks that arrived for an envelope on connections that
// carried it, duplicates included.
func (s *Server) Acks(envelopeID string) int {
	return locked(s, func() int {
		if st := s.envs[envelopeID]; st != nil {
			return len(st.acks)
		}
		return 0
	})
}

// WaitAck waits for the first ack of this delivery of the envelope (an
// Envelope from Redeliver waits for the retry's ack).
func (e *Envelope) WaitAck(timeout time.Duration) (Ack, bool) {
	if e.dl == nil || !e.s.await(e.dl.acked, timeout) {
		return Ack{}, false
	}
	return locked(e.s, func() Ack { return e.dl.acks[0] }), true
}

// Responses lists every response_url post, oldest first.
func (s *Server) Responses() []Response {
	return locked(s, func() []Response { return slices.Clone(s.responses) })
}

// WaitResponse waits for the first post to the envelope's response_url.
func (s *Server) WaitResponse(e *Envelope, timeout time.Duration) (Response, bool) {
	st := locked(s, func() *envState { return s.envs[e.ID] })
	if st == nil || !s.await(st.responded, timeout) {
		return Response{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return first(s.responses, func(r Response) bool { return r.EnvelopeID == e.ID })
}

// Messages lists the posted messages in posting order.
func (s *Server) Messages() []Message {
	return locked(s, func() []Message {
		out := make([]Message, len(s.msgs))
		for i, m := range s.msgs {
			out[i] = *m
			out[i].History = slices.Clone(m.History)
		}
		return out
	})
}

// Message returns the message at (channel, ts).
func (s *Server) Message(channel, ts string) (Message, bool) {
	return first(s.Messages(), func(m Message) bool { return m.Channel == channel && m.TS == ts })
}

// WaitMessage waits until a message satisfies match, which runs on copies.
func (s *Server) WaitMessage(match func(Message) bool, timeout time.Duration) (Message, bool) {
	var m Message
	ok := s.waitUntil(timeout, func() (found bool) {
		m, found = first(s.Messages(), match)
		return found
	})
	return m, ok
}

// next returns a new sequence number; s.mu must be held.
func (s *Server) next() int {
	s.seq++
	return s.seq
}

// newTS returns a unique, increasing message ts; s.mu must be held.
func (s *Server) newTS() string {
	s.tsSeq++
	us := int64(s.tsSeq) * 100
	return fmt.Sprintf("%d.%06d", 1700000000+us/1e6, us%1e6)
}

func (s *Server) violation(format string, args ...any) {
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

func (s *Server) userName(id string) string {
	if u, ok := s.users[id]; ok {
		return u.name
	}
	return strings.ToLower(id)
}

// normBlocks compacts a blocks JSON array, leaving its strings as sent;
// absent, null and [] become nil.
func normBlocks(raw []byte) (json.RawMessage, bool) {
	var arr []json.RawMessage
	if len(raw) == 0 {
		return nil, true
	} else if json.Unmarshal(raw, &arr) != nil {
		return nil, false
	} else if len(arr) == 0 {
		return nil, true
	}
	b, err := reencode(raw)
	return b, err == nil
}

// reencode rewrites JSON compactly, in the same key order, with strings
// encoded as Slack stores them: clients such as slack-go send <, > and & as
// \u003c, \u003e and \u0026, which would hide mentions like <@U1> and
// <!subteam^S1> from tests that look for them.
func reencode(raw []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	type level struct {
		object bool
		n      int // values (and keys) written so far
	}
	var stack []level
	values := 0 // top-level values
	sep := func() {
		if len(stack) == 0 {
			values++
			return
		}
		top := &stack[len(stack)-1]
		switch {
		case top.object && top.n%2 == 1:
			out.WriteByte(':')
		case top.n > 0:
			out.WriteByte(',')
		}
		top.n++
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF && len(stack) == 0 && values == 1 {
			return out.Bytes(), nil
		} else if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		} else if err != nil {
			return nil, err
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '}' || v == ']' {
				stack = stack[:len(stack)-1]
			} else {
				sep()
				stack = append(stack, level{object: v == '{'})
			}
			out.WriteByte(byte(v))
		case json.Number:
			sep()
			out.WriteString(v.String())
		default:
			sep()
			out.Write(marshal(v))
		}
	}
}

// nonce is a short random string for IDs that must not repeat across fakes
// (a bot's store remembers delivery IDs between runs).
func nonce() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
