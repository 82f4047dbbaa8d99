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

// wireEnvelope is a Socket Mode envelope as written on the socket.
type wireEnvelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// envState tracks the deliveries and acks of one envelope_id; acked and
// responded are closed at its first ack and first response_url post.
type envState struct {
	wire             wireEnvelope
	deliveries       int
	lastSent         time.Time
	acks             []Ack
	acked, responded chan struct{}
}

// frame is a queued data frame; done is closed once it is written at sent.
// A retire frame (disconnect) is the last one its socket gets.
type frame struct {
	data   []byte
	st     *envState // nil when the frame has no envelope_id
	retire bool
	sent   time.Time
	done   chan struct{}
}

// wsConn is one client socket; after hello only its writer goroutine writes.
// kick wakes the writer when the queue grows.
type wsConn struct {
	c          *websocket.Conn
	kick, done chan struct{}
	once       sync.Once
}

func (w *wsConn) write(b []byte) error {
	_ = w.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return w.c.WriteMessage(websocket.TextMessage, b)
}

// drop forgets the socket and closes it without a close frame.
func (s *Server) drop(w *wsConn) {
	w.once.Do(func() {
		s.change(func() {
			delete(s.conns, w)
			if s.current == w {
				s.current = nil
			}
		})
		close(w.done)
		_ = w.c.Close()
	})
}

func (s *Server) liveConns() []*wsConn {
	return locked(s, func() (out []*wsConn) {
		for c := range s.conns {
			out = append(out, c)
		}
		return out
	})
}

// kickWriter wakes the writer of the current socket.
func (s *Server) kickWriter() {
	if c := locked(s, func() *wsConn { return s.current }); c != nil {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// handleWS serves the URL returned by apps.connections.open: it checks the
// one-time ticket, sends hello, starts the writer and reads frames.
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
	wc := &wsConn{c: c, kick: make(chan struct{}, 1), done: make(chan struct{})}
	hello, _ := json.Marshal(map[string]any{"type": "hello", "num_connections": len(s.liveConns()) + 1,
		"debug_info":      map[string]any{"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID}})
	var up bool
	if wc.write(hello) == nil {
		s.change(func() {
			if up = !s.isClosed; up { // so wg.Add never races with Close's Wait
				s.conns[wc], s.current = true, wc
				s.hellos++
				s.wg.Add(2)
			}
		})
	}
	if !up {
		_ = c.Close()
		return
	}
	go s.writer(wc)
	s.kickWriter() // deliver what was queued while no socket was up
	defer s.wg.Done()
	defer s.drop(wc)
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		s.onFrame(data)
	}
}

// writer sends pings and queued frames to wc.
func (s *Server) writer(wc *wsConn) {
	defer s.wg.Done()
	defer s.drop(wc)
	t := time.NewTicker(s.opt.PingInterval)
	defer t.Stop()
	for err := error(nil); err == nil; {
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

// drain writes queued frames to wc while it is the current socket; a frame
// whose write fails is requeued.
func (s *Server) drain(wc *wsConn) error {
	for {
		f := locked(s, func() *frame {
			if len(s.queue) == 0 || s.current != wc {
				return nil
			}
			f := s.queue[0]
			s.queue, f.sent = s.queue[1:], time.Now()
			if f.retire {
				s.current = nil
			}
			if f.st != nil { // before the write, so no ack can precede it
				f.st.deliveries++
				f.st.lastSent = f.sent
			}
			return f
		})
		if f == nil {
			return nil
		}
		if err := wc.write(f.data); err != nil {
			s.change(func() {
				if f.st != nil {
					f.st.deliveries--
				}
				if !f.retire { // a disconnect must not hit the next socket
					s.queue = append([]*frame{f}, s.queue...)
				}
			})
			s.kickWriter()
			return err
		}
		close(f.done)
	}
}

// onFrame records a frame from the client, normally an ack.
func (s *Server) onFrame(data []byte) {
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
			s.violation("malformed frame (%d bytes)", len(data))
		case len(data) >= MaxAckSize:
			s.violation("ack for %s is %d bytes (limit %d): dropped", a.EnvelopeID, len(data), MaxAckSize)
		case st == nil || st.deliveries == 0:
			s.violation("ack for unknown or undelivered envelope %s", a.EnvelopeID)
		default:
			ack := Ack{Payload: a.Payload, At: now, Latency: now.Sub(st.lastSent)}
			if ack.Late = ack.Latency > s.opt.AckDeadline; ack.Late {
				s.violation("late ack for %s after %v", a.EnvelopeID, ack.Latency)
			}
			if !closed(st.acked) {
				close(st.acked)
			}
			if st.acks = append(st.acks, ack); len(st.acks) > st.deliveries {
				s.violation("duplicate ack for %s: %d acks, %d deliveries", a.EnvelopeID, len(st.acks), st.deliveries)
			}
		}
	})
}

// send queues data (wire encoded if nil), tracking the acks of
// wire.EnvelopeID, and waits until it is written.
func (s *Server) send(wire wireEnvelope, data []byte, trigger, respURL string) *Envelope {
	if data == nil {
		data, _ = json.Marshal(wire)
	}
	f := &frame{data: data, done: make(chan struct{})}
	s.change(func() {
		if f.st = s.envs[wire.EnvelopeID]; f.st == nil && wire.EnvelopeID != "" {
			f.st = &envState{acked: make(chan struct{}), responded: make(chan struct{})}
			s.envs[wire.EnvelopeID] = f.st
		}
		if f.st != nil {
			f.st.wire = wire
		}
	})
	return &Envelope{ID: wire.EnvelopeID, Type: wire.Type, TriggerID: trigger, ResponseURL: respURL,
		Payload: wire.Payload, Sent: s.enqueue(f), s: s}
}

// enqueue queues f and waits until it is written (returning when) or sendWait
// passes (returning zero).
func (s *Server) enqueue(f *frame) time.Time {
	locked(s, func() any { s.queue = append(s.queue, f); return nil })
	s.kickWriter()
	if s.await(f.done, sendWait) {
		return f.sent
	}
	return time.Time{}
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
	return s.send(w, slices.Clone(envelope), "", "")
}

// Redeliver sends the envelope again with its envelope_id, retry_attempt one
// higher and retry_reason "timeout", as Slack does after a missed ack. It
// waits like SlashCommand.
func (s *Server) Redeliver(e *Envelope) {
	w := locked(s, func() *wireEnvelope {
		if st := s.envs[e.ID]; st != nil {
			c := st.wire
			return &c
		}
		return nil
	})
	if w != nil {
		w.RetryAttempt, w.RetryReason = w.RetryAttempt+1, "timeout"
		s.send(*w, nil, "", "")
	}
}

// Disconnect sends {"type":"disconnect","reason":reason} (warning,
// refresh_requested, link_disabled, ...) on the current socket, if any, after
// the frames already queued. Later envelopes wait for the next connection.
func (s *Server) Disconnect(reason string) {
	data, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "applink-fake"}})
	if locked(s, func() bool { return s.current != nil }) {
		s.enqueue(&frame{data: data, retire: true, done: make(chan struct{})})
	}
}

// DropConnection closes every live socket abruptly, without a close frame.
func (s *Server) DropConnection() {
	for _, c := range s.liveConns() {
		s.drop(c)
	}
}

// newIDs allocates an envelope_id, a trigger_id and a response_url whose posts
// are linked to the envelope and, for clicks, to message (channel, ts).
func (s *Server) newIDs(channel, ts string) (id, trigger, respURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next()
	id, rid := fmt.Sprintf("env-%06d", n), fmt.Sprintf("R%06d", n)
	s.targets[rid] = [3]string{id, channel, ts}
	return id, fmt.Sprintf("%d.4242.fake%06d", time.Now().Unix(), n), s.srv.URL + "/respond/" + rid
}

// SlashCommand sends a slash_commands envelope for Command with text, typed by
// user in channel, with unique envelope_id and trigger_id and a response_url
// served by this fake. It waits up to 10s for the envelope to be written to a
// connected client.
func (s *Server) SlashCommand(user, channel, text string) *Envelope {
	id, trigger, respURL := s.newIDs("", "")
	payload, _ := json.Marshal(map[string]any{"token": "fake-verification-token", "team_id": TeamID,
		"team_domain": "fake", "channel_id": channel, "channel_name": strings.ToLower(channel),
		"user_id": user, "user_name": locked(s, func() string { return s.userName(user) }),
		"command": Command, "text": text, "api_app_id": AppID, "is_enterprise_install": "false",
		"response_url": respURL, "trigger_id": trigger})
	return s.send(wireEnvelope{EnvelopeID: id, Type: "slash_commands", Payload: payload,
		AcceptsResponsePayload: true}, nil, trigger, respURL)
}

// Click sends an interactive block_actions envelope for user pressing button
// actionID (with value) on message (channel, ts). block_id and the button
// text come from the stored message's blocks (block_id "actions" if not
// found). The response_url is linked to the message, so replace_original and
// delete_original posts change it. It waits like SlashCommand.
func (s *Server) Click(user, channel, ts, actionID, value string) *Envelope {
	id, trigger, respURL := s.newIDs(channel, ts)
	now := time.Now()
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
		p := map[string]any{"type": "block_actions", "api_app_id": AppID, "token": "fake-verification-token",
			"trigger_id": trigger, "response_url": respURL, "is_enterprise_install": false,
			"team":      map[string]any{"id": TeamID, "domain": "fake"},
			"user":      map[string]any{"id": user, "username": s.userName(user), "name": s.userName(user), "team_id": TeamID},
			"channel":   map[string]any{"id": channel, "name": strings.ToLower(channel)},
			"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": eph},
			"actions": []any{map[string]any{"type": "button", "action_id": actionID, "block_id": blockID,
				"value": value, "text": map[string]any{"type": "plain_text", "text": label, "emoji": true},
				"action_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)}}}
		if !eph { // Slack leaves ephemeral messages out
			p["message"] = msg
		}
		b, _ := json.Marshal(p)
		return b
	})
	return s.send(wireEnvelope{EnvelopeID: id, Type: "interactive", Payload: payload}, nil, trigger, respURL)
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
