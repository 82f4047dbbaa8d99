package slackfake

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// homeView is a user's published App Home: view is the view object Slack
// holds (what views.publish answers and block_actions carry), blocks its
// blocks for finding buttons.
type homeView struct {
	id, hash string
	version  int
	view     json.RawMessage
	blocks   json.RawMessage
}

// homeViewID is the view_id of user's Home tab, stable across publishes.
func homeViewID(user string) string { return "V" + user }

// viewFailure answers a refused views.publish and records why as a
// violation; s.mu must be held.
func (s *Server) viewFailure(code, reason, pointer string) obj {
	return s.blocksFailure("views.publish", code, &blockError{reason, pointer})
}

// publish handles views.publish: it checks the request as Slack does and
// stores the view as the user's Home tab. It needs no OAuth scope of its own;
// s.mu must be held.
func (s *Server) publish(f url.Values) obj {
	if s.opt.NoHomeTab {
		return fail("not_enabled")
	}
	user, raw := f.Get("user_id"), f.Get("view")
	if !isUserID(user) {
		return s.viewFailure("invalid_arguments", fmt.Sprintf("must provide a user ID, not %q", user), "/user_id")
	}
	var view map[string]json.RawMessage
	compact, err := reencode([]byte(raw))
	if err != nil || json.Unmarshal(compact, &view) != nil || view == nil {
		return s.viewFailure("invalid_arguments", "must provide a view object", "/view")
	}
	if len(compact) > MaxViewBytes {
		return s.viewFailure("view_too_large", fmt.Sprintf("view is %d bytes, more than %d", len(compact), MaxViewBytes), "/view")
	}
	if typ, _, _ := str(view, "type"); typ != "home" {
		return s.viewFailure("invalid_arguments", fmt.Sprintf("views.publish takes a view of type home, not %q", typ), "/view/type")
	}
	if err := checkBlocks(view["blocks"], "/view/blocks", MaxViewBlocks); err != nil {
		return s.blocksFailure("views.publish", "invalid_arguments", err)
	}
	meta, bad := optString(view, "private_metadata", "/view", 3000)
	if bad == nil {
		_, bad = optString(view, "callback_id", "/view", 255)
	}
	if bad == nil {
		_, bad = optString(view, "external_id", "/view", 255)
	}
	if bad != nil {
		return s.blocksFailure("views.publish", "invalid_arguments", bad)
	}
	cur := s.homes[user]
	if hash := f.Get("hash"); hash != "" && (cur == nil || cur.hash != hash) {
		return fail("hash_conflict") // a lost race, not a mistake: no violation
	}
	if cur == nil {
		cur = &homeView{id: homeViewID(user)}
		s.homes[user] = cur
	}
	cur.version++
	cur.hash = fmt.Sprintf("%d.fake%06d", time.Now().Unix(), s.next())
	cur.blocks, _ = normBlocks(view["blocks"])
	if cur.blocks == nil {
		cur.blocks = json.RawMessage("[]")
	}
	title := view["title"]
	if title == nil {
		title = json.RawMessage(`{"type":"plain_text","text":"View Title","emoji":true}`)
	}
	callback, _, _ := str(view, "callback_id")
	external, _, _ := str(view, "external_id")
	stored := obj{"id": cur.id, "team_id": TeamID, "type": "home", "blocks": cur.blocks,
		"private_metadata": meta, "callback_id": callback, "state": obj{"values": obj{}}, "hash": cur.hash,
		"title": title, "clear_on_close": false, "notify_on_close": false, "close": nil, "submit": nil,
		"previous_view_id": nil, "root_view_id": cur.id, "app_id": AppID, "external_id": external,
		"app_installed_team_id": TeamID, "bot_id": BotID}
	cur.view = marshal(stored)
	return obj{"view": cur.view}
}

// Home returns the view last published for user's Home tab, as Slack holds it
// (id, hash, type, blocks, ...), and how many times one was published.
func (s *Server) Home(user string) (view json.RawMessage, version int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.homes[user]; h != nil {
		return h.view, h.version, true
	}
	return nil, 0, false
}

// WaitHome waits until user's Home tab holds a view that satisfies match,
// which sees the view as Home returns it.
func (s *Server) WaitHome(user string, match func(view json.RawMessage) bool, timeout time.Duration) (json.RawMessage, bool) {
	var view json.RawMessage
	ok := s.waitUntil(timeout, func() bool {
		v, _, found := s.Home(user)
		if found && match(v) {
			view = v
			return true
		}
		return false
	})
	return view, ok
}

// AppHomeOpened sends the events_api envelope Slack sends when user opens the
// app's Home tab: an app_home_opened event with the user's DM channel and,
// once a view was published, that view. It waits like SlashCommand.
func (s *Server) AppHomeOpened(user string) *Envelope { return s.AppHomeOpenedTab(user, "home") }

// AppHomeOpenedTab is AppHomeOpened for another tab: Slack sends the same
// event with tab "messages" when the user opens the app's Messages tab.
func (s *Server) AppHomeOpenedTab(user, tab string) *Envelope {
	now := time.Now()
	var id string
	payload := locked(s, func() []byte {
		n := s.next()
		id = fmt.Sprintf("env-%s-%06d", s.nonce, n)
		ev := obj{"type": "app_home_opened", "user": user, "channel": DMChannel(user), "tab": tab,
			"event_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)}
		if h := s.homes[user]; h != nil && tab == "home" {
			ev["view"] = h.view
		}
		return marshal(obj{"token": "fake-verification-token", "team_id": TeamID, "api_app_id": AppID,
			"event": ev, "type": "event_callback", "event_id": fmt.Sprintf("Ev0FAKE%s%06d", strings.ToUpper(s.nonce), n),
			"event_time": now.Unix(), "event_context": fmt.Sprintf("4-fake-%06d", n),
			"authorizations": []obj{{"enterprise_id": nil, "team_id": TeamID, "user_id": BotUserID,
				"is_bot": true, "is_enterprise_install": false}},
			"is_ext_shared_channel": false})
	})
	return s.send(wireEnvelope{EnvelopeID: id, Type: "events_api", Payload: payload}, nil, "", "", route{})
}

// ClickHome sends the block_actions envelope Slack sends when user presses
// button actionID (with value) in the app's Home tab: container type view,
// the current view, and no channel, message or response_url. block_id and
// the button text come from the published view, as in Click. It waits like
// SlashCommand.
func (s *Server) ClickHome(user, actionID, value string) *Envelope {
	var id, trigger string
	payload := locked(s, func() []byte {
		n := s.next()
		id, trigger = fmt.Sprintf("env-%s-%06d", s.nonce, n), fmt.Sprintf("%d.4242.fake%s%06d", time.Now().Unix(), s.nonce, n)
		blockID, label := "actions", actionID
		view := json.RawMessage(marshal(obj{"id": homeViewID(user), "team_id": TeamID, "type": "home",
			"blocks": []any{}, "state": obj{"values": obj{}}, "hash": "", "app_id": AppID, "bot_id": BotID}))
		if h := s.homes[user]; h != nil {
			view = h.view
			blockID, label = findButton(h.blocks, actionID, blockID, label)
		}
		p := s.actionPayload(user, trigger, actionID, blockID, label, value)
		p["container"] = obj{"type": "view", "view_id": homeViewID(user)}
		p["view"] = view
		p["enterprise"] = nil
		return marshal(p)
	})
	return s.send(wireEnvelope{EnvelopeID: id, Type: "interactive", Payload: payload}, nil, trigger, "", route{})
}
