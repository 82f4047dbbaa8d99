package slackfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const writeTimeout = 5 * time.Second

// MaxConnections is how many Socket Mode connections Slack keeps open for one
// app: a further socket is told {"type":"disconnect","reason":
// "too_many_websockets"} and closed, as Slack does.
const MaxConnections = 10

// wireEnvelope is a Socket Mode envelope as written on the socket.
type wireEnvelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// envState tracks the deliveries and acks of one envelope_id; responded is
// closed at its first response_url post.
type envState struct {
	wire             wireEnvelope
	trigger, respURL string
	deliveries       []*delivery // written deliveries, oldest first
	acks             []Ack
	responded        chan struct{}
}

// delivery is one sending of an envelope (one retry_attempt); conn and sent
// are set when it is written, acked is closed at its first ack.
type delivery struct {
	attempt int
	conn    int
	sent    time.Time
	acks    []Ack
	acked   chan struct{}
}

// frame is a queued data frame; done is closed once it is written (conn and
// sent set) or given up (conn 0). A retire frame (disconnect) is the last one
// its socket gets. target pins the frame to one connection; avoid is a
// connection to skip when another can take it.
type frame struct {
	data     []byte
	st       *envState // nil when the frame has no envelope_id
	dl       *delivery // set with st
	retire   bool
	target   int
	avoid    int
	conn     int
	sent     time.Time
	done     chan struct{}
	doneOnce sync.Once
}

func (f *frame) finish() { f.doneOnce.Do(func() { close(f.done) }) }

// wsConn is one client socket; after hello only its writer goroutine writes.
// kick wakes the writer when its queue grows. The fields after once are
// guarded by Server.mu.
type wsConn struct {
	id         int
	c          *websocket.Conn
	kick, done chan struct{}
	once       sync.Once

	q                []*frame
	live, retiring   bool
	delivered, acked int
	opened, closed   time.Time
}

func (w *wsConn) write(b []byte) error {
	_ = w.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return w.c.WriteMessage(websocket.TextMessage, b)
}

func (w *wsConn) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Conn describes one Socket Mode connection of the app, so tests can see how
// envelopes were spread over replicas.
type Conn struct {
	// ID numbers the connections in the order they were accepted, from 1;
	// the hello's debug_info.host is "applink-fake-<ID>", so a client can
	// tell which connection it holds.
	ID int
	// Live is true while the socket is open; Retiring once it was sent a
	// disconnect, after which it gets no new envelopes.
	Live, Retiring bool
	// Delivered counts envelope frames written to it, redeliveries included;
	// Acked counts the acks received on it that matched a delivery on it.
	Delivered, Acked int
	// Opened is when the socket was accepted, Closed when it went away
	// (zero while live).
	Opened, Closed time.Time
}

// Delivery is one sending of an envelope: which connection carried it and
// the acks that arrived for it on that connection.
type Delivery struct {
	Attempt int // retry_attempt: 0 for the first delivery
	Conn    int // Conn.ID of the socket it was written to
	Sent    time.Time
	Acks    []Ack
}

// drop forgets the socket, hands its unwritten frames to the other sockets
// (or the queue for the next one) and closes it without a close frame.
func (s *Server) drop(w *wsConn) {
	w.once.Do(func() {
		s.change(func() {
			if !w.live {
				return
			}
			w.live, w.closed = false, time.Now()
			delete(s.live, w.id)
			var requeue []*frame
			for _, f := range w.q {
				if f.retire || f.target != 0 { // a disconnect or pinned frame must not hit another socket
					f.finish()
				} else {
					requeue = append(requeue, f)
				}
			}
			w.q = nil
			s.pending = append(requeue, s.pending...)
			s.placePending()
		})
		close(w.done)
		_ = w.c.Close()
	})
}

// liveConns lists the open sockets in ID order.
func (s *Server) liveConns() []*wsConn {
	return locked(s, func() []*wsConn { return s.liveLocked() })
}

// liveLocked lists the open sockets in ID order; s.mu must be held.
func (s *Server) liveLocked() []*wsConn {
	out := make([]*wsConn, 0, len(s.live))
	for _, c := range s.live {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *wsConn) int { return a.id - b.id })
	return out
}

// place queues f on the socket that should carry it: its target, else the
// next socket in round-robin order that is neither retiring nor f.avoid
// (f.avoid only if no other can take it). With no such socket f waits in
// s.pending; a target that cannot take it gives f up. s.mu must be held.
func (s *Server) place(f *frame) {
	var to *wsConn
	if f.target != 0 {
		if c := s.live[f.target]; c != nil && !c.retiring {
			to = c
		} else {
			f.finish()
			return
		}
	} else {
		var open, other []*wsConn
		for _, c := range s.liveLocked() {
			if !c.retiring {
				open = append(open, c)
				if c.id != f.avoid {
					other = append(other, c)
				}
			}
		}
		if len(other) == 0 {
			other = open
		}
		if len(other) == 0 {
			s.pending = append(s.pending, f)
			return
		}
		if c := s.live[s.pin]; c != nil && !c.retiring && s.pin != f.avoid {
			to = c
		} else {
			to = other[0]
			for _, c := range other {
				if c.id > s.lastConn {
					to = c
					break
				}
			}
			s.lastConn = to.id
		}
	}
	if f.retire {
		to.retiring = true
	}
	to.q = append(to.q, f)
	to.wake()
}

// placePending places the frames waiting for a socket; s.mu must be held.
func (s *Server) placePending() {
	pending := s.pending
	s.pending = nil
	for _, f := range pending {
		s.place(f)
	}
}

// handleWS serves the URL returned by apps.connections.open: it checks the
// one-time ticket and the connection limit, sends hello, starts the writer
// and reads frames.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	if !locked(s, func() bool { ok := s.tickets[ticket]; delete(s.tickets, ticket); return ok }) {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	// The socket counts as open before hello is written, so a client that
	// saw hello is sure to get envelopes; its writer starts after hello.
	var wc *wsConn
	var num int
	s.change(func() {
		switch {
		case s.isClosed: // so wg.Add never races with Close's Wait
		case len(s.live) >= MaxConnections:
			s.violation("too_many_websockets: a connection was opened while %d were open (limit %d)", len(s.live), MaxConnections)
		default:
			s.connSeq++
			wc = &wsConn{id: s.connSeq, c: c, kick: make(chan struct{}, 1), done: make(chan struct{}),
				live: true, opened: time.Now()}
			s.live[wc.id] = wc
			s.connLog = append(s.connLog, wc)
			num = len(s.live)
			s.wg.Add(2)      // this reader and the writer
			s.placePending() // what was queued while no socket could take it
		}
	})
	if wc == nil {
		if !locked(s, func() bool { return s.isClosed }) {
			_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
			_ = c.WriteMessage(websocket.TextMessage, marshal(map[string]any{"type": "disconnect",
				"reason": "too_many_websockets", "debug_info": map[string]any{"host": "applink-fake"}}))
		}
		_ = c.Close()
		return
	}
	defer s.wg.Done()
	defer s.drop(wc)
	hello := marshal(map[string]any{"type": "hello", "num_connections": num,
		"debug_info":      map[string]any{"host": fmt.Sprintf("applink-fake-%d", wc.id), "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID}})
	if wc.write(hello) != nil {
		s.wg.Done() // the writer never starts
		return
	}
	s.change(func() { s.hellos++ })
	go s.writer(wc)
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		s.onFrame(wc, data)
	}
}

// writer sends pings and queued frames to wc.
func (s *Server) writer(wc *wsConn) {
	defer s.wg.Done()
	defer s.drop(wc)
	t := time.NewTicker(s.opt.PingInterval)
	defer t.Stop()
	for err := s.drain(wc); err == nil; {
		select {
		case <-wc.done:
			return
		case <-t.C:
			err = wc.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(writeTimeout))
		case <-wc.kick:
			err = s.drain(wc)
		}
	}
}

// drain writes wc's queued frames; a frame whose write fails goes back to the
// head of the queue, which drop then hands to the other sockets.
func (s *Server) drain(wc *wsConn) error {
	for {
		f := locked(s, func() *frame {
			if len(wc.q) == 0 || !wc.live {
				return nil
			}
			f := wc.q[0]
			wc.q, f.sent, f.conn = wc.q[1:], time.Now(), wc.id
			if f.dl != nil { // before the write, so no ack can precede it
				f.dl.conn, f.dl.sent = wc.id, f.sent
				f.st.deliveries = append(f.st.deliveries, f.dl)
				wc.delivered++
			}
			return f
		})
		if f == nil {
			return nil
		}
		if err := wc.write(f.data); err != nil {
			s.change(func() {
				if f.dl != nil {
					f.st.deliveries = slices.DeleteFunc(f.st.deliveries, func(d *delivery) bool { return d == f.dl })
					f.dl.conn, f.dl.sent = 0, time.Time{}
					wc.delivered--
				}
				f.conn, f.sent = 0, time.Time{}
				wc.q = append([]*frame{f}, wc.q...)
			})
			return err
		}
		f.finish()
	}
}

// onFrame records a frame from the client on wc, normally an ack. An ack
// counts for the oldest delivery on wc that has none yet; one for an
// envelope wc never carried is a violation and does not count.
func (s *Server) onFrame(wc *wsConn, data []byte) {
	now := time.Now()
	var a struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	err := json.Unmarshal(data, &a)
	s.change(func() {
		s.log = append(s.log, "ws "+string(data))
		st := s.envs[a.EnvelopeID]
		switch {
		case err != nil || a.EnvelopeID == "":
			s.violation("malformed frame (%d bytes) on connection %d", len(data), wc.id)
			return
		case len(data) >= MaxAckSize:
			s.violation("ack for %s is %d bytes (limit %d): dropped", a.EnvelopeID, len(data), MaxAckSize)
			return
		case st == nil || len(st.deliveries) == 0:
			s.violation("ack for unknown or undelivered envelope %s on connection %d", a.EnvelopeID, wc.id)
			return
		}
		var mine []*delivery
		for _, d := range st.deliveries {
			if d.conn == wc.id {
				mine = append(mine, d)
			}
		}
		if len(mine) == 0 {
			var on []string
			for _, d := range st.deliveries {
				on = append(on, fmt.Sprint(d.conn))
			}
			s.violation("ack for %s on connection %d, which never carried it (delivered on %s)", a.EnvelopeID, wc.id, strings.Join(on, ", "))
			return
		}
		d := mine[len(mine)-1]
		if i := slices.IndexFunc(mine, func(d *delivery) bool { return len(d.acks) == 0 }); i >= 0 {
			d = mine[i]
		}
		ack := Ack{Payload: a.Payload, At: now, Latency: now.Sub(d.sent), Conn: wc.id, Attempt: d.attempt}
		if ack.Late = ack.Latency > s.opt.AckDeadline; ack.Late {
			s.violation("late ack for %s after %v", a.EnvelopeID, ack.Latency)
		}
		if len(d.acks) > 0 {
			s.violation("duplicate ack for %s: delivery %d on connection %d was already acked (%d acks, %d deliveries)",
				a.EnvelopeID, d.attempt, wc.id, len(st.acks)+1, len(st.deliveries))
		} else {
			close(d.acked)
			wc.acked++
		}
		d.acks = append(d.acks, ack)
		st.acks = append(st.acks, ack)
	})
}

// route says where a frame goes: a connection it must take (0: spread) and
// one to avoid.
type route struct{ target, avoid int }

// send queues data (wire encoded if nil) along rt, tracking the acks of
// wire.EnvelopeID, and waits until it is written.
func (s *Server) send(wire wireEnvelope, data []byte, trigger, respURL string, rt route) *Envelope {
	if data == nil {
		data = marshal(wire)
	}
	f := &frame{data: data, target: rt.target, avoid: rt.avoid, done: make(chan struct{})}
	s.change(func() {
		if wire.EnvelopeID == "" {
			return
		}
		if f.st = s.envs[wire.EnvelopeID]; f.st == nil {
			f.st = &envState{responded: make(chan struct{}), trigger: trigger, respURL: respURL}
			s.envs[wire.EnvelopeID] = f.st
		}
		f.st.wire = wire
		f.dl = &delivery{attempt: wire.RetryAttempt, acked: make(chan struct{})}
	})
	e := &Envelope{ID: wire.EnvelopeID, Type: wire.Type, TriggerID: trigger, ResponseURL: respURL,
		Payload: wire.Payload, Attempt: wire.RetryAttempt, s: s, dl: f.dl}
	e.Sent, e.Conn = s.enqueue(f)
	return e
}

// enqueue places f and waits until it is written (returning when and where)
// or sendWait passes or it is given up (returning zeros).
func (s *Server) enqueue(f *frame) (time.Time, int) {
	s.change(func() { s.place(f) })
	if s.await(f.done, sendWait) {
		return locked(s, func() time.Time { return f.sent }), locked(s, func() int { return f.conn })
	}
	return time.Time{}, 0
}

// await waits until ch is closed, timeout passes or the server closes.
func (s *Server) await(ch chan struct{}, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
	case <-s.closed:
	}
	return closed(ch)
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// SendRaw sends arbitrary, possibly malformed, bytes as one text frame, queued
// and awaited like SlashCommand. If they parse as an envelope with an
// envelope_id its acks are tracked; otherwise the Envelope's ID is empty.
func (s *Server) SendRaw(envelope []byte) *Envelope {
	var w wireEnvelope
	if json.Unmarshal(envelope, &w) != nil {
		w = wireEnvelope{}
	}
	return s.send(w, slices.Clone(envelope), "", "", route{})
}

// Redeliver sends the envelope again with its envelope_id, retry_attempt one
// higher and retry_reason "timeout", as Slack does after a missed ack, and
// returns that delivery. With several sockets open it goes to another one
// than the envelope's latest delivery, as a replica that missed the deadline
// does not get it back. It waits like SlashCommand; nil if e was never sent.
func (s *Server) Redeliver(e *Envelope) *Envelope { return s.redeliver(e, 0) }

// RedeliverOn is Redeliver onto the connection with that Conn.ID, to script
// which replica gets the retry; the returned Envelope's Sent is zero if that
// socket is not open (or was sent a disconnect).
func (s *Server) RedeliverOn(e *Envelope, conn int) *Envelope { return s.redeliver(e, conn) }

func (s *Server) redeliver(e *Envelope, conn int) *Envelope {
	var st envState
	var last int
	found := locked(s, func() bool {
		p := s.envs[e.ID]
		if p == nil {
			return false
		}
		st = envState{wire: p.wire, trigger: p.trigger, respURL: p.respURL}
		if n := len(p.deliveries); n > 0 {
			last = p.deliveries[n-1].conn
		}
		return true
	})
	if !found {
		return nil
	}
	w := st.wire
	w.RetryAttempt, w.RetryReason = w.RetryAttempt+1, "timeout"
	return s.send(w, nil, st.trigger, st.respURL, route{target: conn, avoid: last})
}

// Disconnect sends {"type":"disconnect","reason":reason} (warning,
// refresh_requested, link_disabled, ...) on every open socket that did not
// get one yet, after the frames already queued for it, and waits until they
// are written. Later envelopes go to the other sockets, or wait for the next
// connection.
func (s *Server) Disconnect(reason string) {
	var wg sync.WaitGroup
	for _, c := range s.liveConns() {
		wg.Go(func() { s.DisconnectConn(c.id, reason) })
	}
	wg.Wait()
}

// DisconnectConn is Disconnect for the one connection with that Conn.ID, to
// recycle a single replica's socket; false if it is not open or was already
// sent a disconnect.
func (s *Server) DisconnectConn(conn int, reason string) bool {
	data := marshal(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": fmt.Sprintf("applink-fake-%d", conn)}})
	sent, _ := s.enqueue(&frame{data: data, retire: true, target: conn, done: make(chan struct{})})
	return !sent.IsZero()
}

// DropConnection closes every live socket abruptly, without a close frame.
func (s *Server) DropConnection() {
	for _, c := range s.liveConns() {
		s.drop(c)
	}
}

// DropConn closes the socket with that Conn.ID abruptly, as when one replica
// dies or its network fails; its unwritten envelopes go to the other sockets.
// False if it is not open.
func (s *Server) DropConn(conn int) bool {
	c := locked(s, func() *wsConn { return s.live[conn] })
	if c != nil {
		s.drop(c)
	}
	return c != nil
}

// PinConn makes every new envelope (not redeliveries sent elsewhere by
// Redeliver) go to the connection with that Conn.ID while it is open and not
// retiring, to script which replica handles what; 0 restores round-robin.
func (s *Server) PinConn(conn int) { s.change(func() { s.pin = conn }) }

// LiveConnections counts the open sockets, retiring ones included.
func (s *Server) LiveConnections() int { return locked(s, func() int { return len(s.live) }) }

// WaitLive waits until exactly n sockets are open, as after starting or
// killing replicas.
func (s *Server) WaitLive(n int, timeout time.Duration) bool {
	return s.waitUntil(timeout, func() bool { return s.LiveConnections() == n })
}

// Conns describes every connection the fake accepted, by ID.
func (s *Server) Conns() []Conn {
	return locked(s, func() []Conn {
		out := make([]Conn, len(s.connLog))
		for i, c := range s.connLog {
			out[i] = Conn{ID: c.id, Live: c.live, Retiring: c.retiring, Delivered: c.delivered,
				Acked: c.acked, Opened: c.opened, Closed: c.closed}
		}
		return out
	})
}

// Deliveries lists the written deliveries of an envelope, oldest first: the
// connection each went to and the acks each got there.
func (s *Server) Deliveries(envelopeID string) []Delivery {
	return locked(s, func() []Delivery {
		st := s.envs[envelopeID]
		if st == nil {
			return nil
		}
		out := make([]Delivery, len(st.deliveries))
		for i, d := range st.deliveries {
			out[i] = Delivery{Attempt: d.attempt, Conn: d.conn, Sent: d.sent, Acks: slices.Clone(d.acks)}
		}
		return out
	})
}

// newIDs allocates an envelope_id, a trigger_id and a response_url whose posts
// are linked to the envelope and, for clicks, to message (channel, ts).
func (s *Server) newIDs(channel, ts string) (id, trigger, respURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next()
	id, rid := fmt.Sprintf("env-%s-%06d", s.nonce, n), fmt.Sprintf("R%06d", n)
	s.targets[rid] = [3]string{id, channel, ts}
	return id, fmt.Sprintf("%d.4242.fake%s%06d", time.Now().Unix(), s.nonce, n), s.srv.URL + "/respond/" + rid
}

// channelName is the channel_name Slack puts in payloads: "directmessage"
// for a DM.
func channelName(channel string) string {
	if strings.HasPrefix(channel, "D") {
		return "directmessage"
	}
	return strings.ToLower(channel)
}

// SlashCommand sends a slash_commands envelope for Command with text, typed by
// user in channel (DMChannel(user) for the user's DM with the app), with
// unique envelope_id and trigger_id and a response_url served by this fake.
// It waits up to 10s for the envelope to be written to a connected client.
func (s *Server) SlashCommand(user, channel, text string) *Envelope {
	id, trigger, respURL := s.newIDs("", "")
	payload := marshal(map[string]any{"token": "fake-verification-token", "team_id": TeamID,
		"team_domain": "fake", "channel_id": channel, "channel_name": channelName(channel),
		"user_id": user, "user_name": locked(s, func() string { return s.userName(user) }),
		"command": Command, "text": text, "api_app_id": AppID, "is_enterprise_install": "false",
		"response_url": respURL, "trigger_id": trigger})
	return s.send(wireEnvelope{EnvelopeID: id, Type: "slash_commands", Payload: payload,
		AcceptsResponsePayload: true}, nil, trigger, respURL, route{})
}

// Click sends an interactive block_actions envelope for user pressing button
// actionID (with value) on message (channel, ts), in a channel or a DM.
// block_id and the button text come from the stored message's blocks
// (block_id "actions" if not found). The response_url is linked to the
// message, so replace_original and delete_original posts change it. It waits
// like SlashCommand.
func (s *Server) Click(user, channel, ts, actionID, value string) *Envelope {
	id, trigger, respURL := s.newIDs(channel, ts)
	payload := locked(s, func() []byte {
		blockID, label, eph := "actions", actionID, false
		msg := map[string]any{"type": "message", "ts": ts, "text": "", "blocks": []any{}, "user": BotUserID, "bot_id": BotID}
		if m := s.msgIdx[[2]string{channel, ts}]; m != nil {
			eph, msg["text"] = m.Ephemeral, m.Text
			if m.Blocks != nil {
				msg["blocks"] = m.Blocks
				blockID, label = findButton(m.Blocks, actionID, blockID, label)
			}
		}
		p := s.actionPayload(user, trigger, actionID, blockID, label, value)
		p["response_url"] = respURL
		p["channel"] = map[string]any{"id": channel, "name": channelName(channel)}
		p["container"] = map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": eph}
		if !eph { // Slack leaves ephemeral messages out
			p["message"] = msg
		}
		return marshal(p)
	})
	return s.send(wireEnvelope{EnvelopeID: id, Type: "interactive", Payload: payload}, nil, trigger, respURL, route{})
}

// actionPayload is the part of a block_actions payload every surface shares;
// s.mu must be held.
func (s *Server) actionPayload(user, trigger, actionID, blockID, label, value string) map[string]any {
	now := time.Now()
	return map[string]any{"type": "block_actions", "api_app_id": AppID, "token": "fake-verification-token",
		"trigger_id": trigger, "is_enterprise_install": false,
		"team": map[string]any{"id": TeamID, "domain": "fake"},
		"user": map[string]any{"id": user, "username": s.userName(user), "name": s.userName(user), "team_id": TeamID},
		"actions": []any{map[string]any{"type": "button", "action_id": actionID, "block_id": blockID,
			"value": value, "text": map[string]any{"type": "plain_text", "text": label, "emoji": true},
			"action_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)}}}
}

// findButton returns the block_id and text of element actionID in actions
// blocks and section accessories, or the given defaults.
func findButton(blocks json.RawMessage, actionID, blockID, label string) (string, string) {
	type elem struct {
		ActionID string `json:"action_id"`
		Text     struct{ Text string }
	}
	var bs []struct {
		BlockID   string `json:"block_id"`
		Elements  []elem
		Accessory *elem
	}
	_ = json.Unmarshal(blocks, &bs)
	for _, b := range bs {
		if b.Accessory != nil {
			b.Elements = append(b.Elements, *b.Accessory)
		}
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return cmp.Or(b.BlockID, blockID), cmp.Or(e.Text.Text, label)
			}
		}
	}
	return blockID, label
}
