package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

type obj = map[string]any

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(marshal(v), '\n'))
}

// marshal encodes v as Slack does, leaving <, > and & alone so that mentions
// such as <@U1> and <!subteam^S1> stay readable in what tests inspect.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("slackfake: encoding %T: %v", v, err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// jsonForm turns the top-level fields of a JSON request body into form
// values, objects and arrays as their JSON text, as Slack reads a JSON body
// like the form-encoded one.
func jsonForm(body []byte, form url.Values) {
	var o map[string]json.RawMessage
	if json.Unmarshal(body, &o) != nil {
		return
	}
	for k, raw := range o {
		var v string
		if json.Unmarshal(raw, &v) != nil {
			var b bytes.Buffer
			_ = json.Compact(&b, raw)
			v = b.String()
		}
		form.Add(k, v)
	}
}

func fail(code string) obj { return obj{"ok": false, "error": code} }

// logForm renders form values decoded and sorted, with the token redacted.
func logForm(v url.Values) string {
	var parts []string
	for k, vs := range v {
		if k == "token" {
			vs = []string{"<redacted>"}
		}
		parts = append(parts, k+"="+strings.Join(vs, ","))
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

// handleAPI serves /api/<method>: scripted failures first, then token checks,
// then the method. Replies are always application/json.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, _ := io.ReadAll(r.Body)
	form := r.URL.Query()
	logBody := len(form) == 0 && len(body) > 0
	switch ct := r.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		f, _ := url.ParseQuery(string(body))
		for k, v := range f {
			form[k] = append(form[k], v...)
		}
		logBody = false
	case strings.HasPrefix(ct, "application/json"): // views.*: bearer token, JSON body
		jsonForm(body, form)
	}
	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token := form.Get("token")
	if hasBearer {
		token = bearer
	}
	var hold time.Duration
	s.change(func() {
		if h := s.hangs[method]; h != nil && h.times > 0 {
			h.times--
			hold = h.retryAfter
		}
	})
	if hold > 0 {
		t := time.NewTimer(hold)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.closed:
			t.Stop()
			return
		}
	}
	var res obj
	retryAfter := time.Duration(-1)
	s.change(func() {
		s.calls[method]++
		if logBody {
			s.log = append(s.log, method+" "+string(body))
		} else {
			s.log = append(s.log, method+" "+logForm(form))
		}
		switch rate, fl := s.rates[method], s.fails[method]; {
		case rate != nil && rate.times > 0:
			rate.times--
			retryAfter = rate.retryAfter
		case fl != nil && fl.times > 0:
			fl.times--
			res = fail(fl.err)
		case method == "apps.connections.open" && s.failOpen != "":
			res = fail(s.failOpen)
		case token == "" || method == "apps.connections.open" && !hasBearer:
			res = fail("not_authed")
		case method == "apps.connections.open" && s.opt.AppToken != "" && token != s.opt.AppToken,
			method != "apps.connections.open" && s.opt.BotToken != "" && token != s.opt.BotToken:
			res = fail("invalid_auth")
		default:
			res = s.call(method, form)
		}
	})
	if retryAfter >= 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int64(math.Ceil(retryAfter.Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, fail("ratelimited"))
		return
	}
	if _, failed := res["ok"]; !failed {
		res["ok"] = true
	}
	writeJSON(w, http.StatusOK, res)
}

// call runs a Web API method after authentication; s.mu must be held.
func (s *Server) call(method string, f url.Values) obj {
	switch method {
	case "apps.connections.open":
		ticket := fmt.Sprint(s.next())
		s.tickets[ticket] = true
		s.opens++
		return obj{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + AppID}
	case "auth.test":
		return obj{"url": "https://fake.slack.com/", "team": "fake", "user": "leasebot",
			"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID}
	case "chat.postMessage", "chat.postEphemeral":
		return s.post(method, f)
	case "chat.update":
		return s.update(f)
	case "users.info":
		u, found := s.users[f.Get("user")]
		if !found {
			return fail("user_not_found")
		}
		label, offset := u.tz, 0
		if u.loc != nil {
			label, offset = time.Now().In(u.loc).Zone()
		}
		return obj{"user": obj{"id": f.Get("user"), "team_id": TeamID, "name": u.name, "real_name": u.name,
			"deleted": false, "is_bot": false, "tz": u.tz, "tz_label": label, "tz_offset": offset,
			"profile": obj{"real_name": u.name, "display_name": u.name}}}
	case "usergroups.users.list":
		if members, found := s.groups[f.Get("usergroup")]; found {
			return obj{"users": slices.Clone(members)}
		}
		return fail("no_such_subteam")
	case "conversations.info": // any channel exists; script channel_not_found with FailMethod
		id := f.Get("channel")
		im := strings.HasPrefix(id, "D")
		ch := obj{"id": id, "name": strings.ToLower(id), "is_channel": !im, "is_im": im,
			"is_private": im || strings.HasPrefix(id, "G"), "is_member": true, "created": 1700000000}
		if u := strings.TrimPrefix(id, "D"); im && isUserID(u) {
			ch["user"] = u
		}
		return obj{"channel": ch}
	case "views.publish":
		return s.publish(f)
	}
	return fail("unknown_method")
}

func messageJSON(m *Message) obj {
	out := obj{"type": "message", "user": BotUserID, "bot_id": BotID, "text": m.Text, "ts": m.TS}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	return out
}

// DMChannel is the ID of user's direct-message conversation with the app,
// stable per user: chat.postMessage to the user ID answers with it, and
// slash commands typed in the DM carry it.
func DMChannel(user string) string { return "D" + user }

// isUserID reports whether id looks like a Slack user ID (U… or W…).
func isUserID(id string) bool {
	if len(id) < 2 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool { return !('A' <= r && r <= 'Z' || '0' <= r && r <= '9') }) < 0
}

// post handles chat.postMessage and chat.postEphemeral; s.mu must be held. A
// chat.postMessage to a user ID goes to that user's DM with the app.
func (s *Server) post(method string, f url.Values) obj {
	channel := f.Get("channel")
	if method == "chat.postMessage" && isUserID(channel) {
		channel = DMChannel(channel)
	}
	blocks, bad := messageBlocks([]byte(f.Get("blocks")))
	switch {
	case channel == "":
		return fail("channel_not_found")
	case bad != nil:
		return s.blocksFailure(method, "invalid_blocks", bad)
	case f.Get("text") == "" && blocks == nil && f.Get("attachments") == "":
		return fail("no_text")
	case method == "chat.postEphemeral" && f.Get("user") == "":
		return fail("user_not_found")
	}
	m := &Message{Channel: channel, TS: s.newTS(), ThreadTS: f.Get("thread_ts"), User: f.Get("user"),
		Ephemeral: method == "chat.postEphemeral", Text: f.Get("text"), Blocks: blocks}
	m.History = []Version{{Text: m.Text, Blocks: m.Blocks, Via: method, At: time.Now()}}
	s.msgs = append(s.msgs, m)
	s.msgIdx[[2]string{channel, m.TS}] = m
	if m.Ephemeral {
		return obj{"message_ts": m.TS}
	}
	return obj{"channel": channel, "ts": m.TS, "message": messageJSON(m)}
}

// update handles chat.update: absent text or blocks are kept, blocks=[]
// clears; s.mu must be held.
func (s *Server) update(f url.Values) obj {
	m := s.msgIdx[[2]string{f.Get("channel"), f.Get("ts")}]
	if m == nil || m.Ephemeral || m.Deleted {
		return fail("message_not_found")
	}
	text, blocks := m.Text, m.Blocks
	var bad *blockError
	if _, has := f["text"]; has {
		text = f.Get("text")
	}
	if _, has := f["blocks"]; has {
		blocks, bad = messageBlocks([]byte(f.Get("blocks")))
	}
	if bad != nil {
		return s.blocksFailure("chat.update", "invalid_blocks", bad)
	} else if text == "" && blocks == nil && f.Get("attachments") == "" {
		return fail("no_text")
	}
	setVersion(m, text, blocks, "chat.update")
	return obj{"channel": m.Channel, "ts": m.TS, "text": m.Text, "message": messageJSON(m)}
}

// messageBlocks normalizes (see normBlocks) and validates the blocks of a
// message.
func messageBlocks(raw []byte) (json.RawMessage, *blockError) {
	blocks, valid := normBlocks(raw)
	if !valid {
		return nil, &blockError{"must be an array of blocks", "/blocks"}
	} else if blocks == nil {
		return nil, nil
	}
	return blocks, checkBlocks(blocks, "/blocks", MaxMessageBlocks)
}

func setVersion(m *Message, text string, blocks json.RawMessage, via string) {
	m.Text, m.Blocks = text, blocks
	m.Updated++
	m.History = append(m.History, Version{Text: text, Blocks: blocks, Via: via, At: time.Now()})
}

// handleRespond serves POST /respond/<id>, the response_url of envelopes. A
// replace_original or delete_original post for a click changes that message.
func (s *Server) handleRespond(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/respond/")
	body, _ := io.ReadAll(r.Body)
	var in struct {
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
	}
	code, reply := http.StatusOK, obj{"ok": true}
	s.change(func() {
		s.calls["response_url"]++
		s.log = append(s.log, "response_url "+id+" "+string(body))
		t, known := s.targets[id]
		if !known || r.Method != http.MethodPost {
			code, reply = http.StatusNotFound, fail("no_active_hooks")
			return
		} else if json.Unmarshal(body, &in) != nil {
			code, reply = http.StatusBadRequest, fail("invalid_payload")
			return
		}
		blocks, bad := messageBlocks(in.Blocks)
		if bad != nil {
			reply = s.blocksFailure("response_url", "invalid_blocks", bad)
			return
		}
		if st := s.envs[t[0]]; st != nil && !closed(st.responded) {
			close(st.responded)
		}
		s.responses = append(s.responses, Response{ID: id, EnvelopeID: t[0], ResponseType: in.ResponseType,
			ReplaceOriginal: in.ReplaceOriginal, DeleteOriginal: in.DeleteOriginal, Text: in.Text,
			Blocks: blocks, At: time.Now()})
		if m := s.msgIdx[[2]string{t[1], t[2]}]; m != nil && !m.Deleted && (in.ReplaceOriginal || in.DeleteOriginal) {
			if m.Deleted = in.DeleteOriginal; m.Deleted {
				in.Text, blocks = "", nil
			}
			setVersion(m, in.Text, blocks, "response_url")
		}
	})
	writeJSON(w, code, reply)
}
