package slackfake

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits Slack enforces, checked on every surface the fake serves.
const (
	MaxMessageBlocks = 50      // blocks in one message
	MaxViewBlocks    = 100     // blocks in one view (App Home)
	MaxViewBytes     = 250_000 // compact JSON of one view; more is view_too_large
)

// blockError is why Slack refuses some blocks: the reason and a JSON pointer
// to the offending value, as in Slack's response_metadata.messages.
type blockError struct{ reason, pointer string }

func (e *blockError) Error() string {
	return fmt.Sprintf("[ERROR] %s [json-pointer:%s]", e.reason, e.pointer)
}

// blockCheck validates the blocks of one message or view: block_id and
// action_id must be unique across all of it.
type blockCheck struct {
	blockIDs, actionIDs map[string]bool
}

// checkBlocks validates a blocks array against the Block Kit rules the fake
// knows: the types section, actions, context, divider and header, buttons as
// the only interactive element, images in context and accessories, and
// Slack's length and count limits. pointer is where blocks sit in the request
// (e.g. "/blocks" or "/view/blocks"); nil means valid.
func checkBlocks(raw json.RawMessage, pointer string, maxBlocks int) *blockError {
	var blocks []json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return &blockError{"must be an array of blocks", pointer}
	}
	if len(blocks) > maxBlocks {
		return &blockError{fmt.Sprintf("no more than %d items allowed", maxBlocks), pointer}
	}
	c := blockCheck{blockIDs: map[string]bool{}, actionIDs: map[string]bool{}}
	for i, b := range blocks {
		if err := c.block(b, fmt.Sprintf("%s/%d", pointer, i)); err != nil {
			return err
		}
	}
	return nil
}

func decodeObject(raw json.RawMessage, p string) (map[string]json.RawMessage, *blockError) {
	var o map[string]json.RawMessage
	if json.Unmarshal(raw, &o) != nil || o == nil {
		return nil, &blockError{"must be an object", p}
	}
	return o, nil
}

// str reads an optional string field of o; ok is false if it is present but
// not a string.
func str(o map[string]json.RawMessage, key string) (v string, present, ok bool) {
	raw, present := o[key]
	if !present || string(raw) == "null" {
		return "", false, true
	}
	return v, true, json.Unmarshal(raw, &v) == nil
}

// optString checks an optional string field's type and length.
func optString(o map[string]json.RawMessage, key, p string, max int) (string, *blockError) {
	v, present, ok := str(o, key)
	switch {
	case !ok:
		return "", &blockError{"must be a string", p + "/" + key}
	case present && utf8.RuneCountInString(v) > max:
		return "", &blockError{fmt.Sprintf("must be less than %d characters", max+1), p + "/" + key}
	}
	return v, nil
}

func array(o map[string]json.RawMessage, key, p string, min, max int) ([]json.RawMessage, *blockError) {
	var xs []json.RawMessage
	if raw, has := o[key]; !has || json.Unmarshal(raw, &xs) != nil {
		return nil, &blockError{"must provide an array", p + "/" + key}
	}
	if len(xs) < min {
		return nil, &blockError{fmt.Sprintf("must provide at least %d items", min), p + "/" + key}
	} else if len(xs) > max {
		return nil, &blockError{fmt.Sprintf("no more than %d items allowed", max), p + "/" + key}
	}
	return xs, nil
}

// text checks a composition text object: plain_text (or also mrkdwn unless
// plainOnly) with 1 to max characters.
func text(raw json.RawMessage, p string, plainOnly bool, max int) *blockError {
	o, err := decodeObject(raw, p)
	if err != nil {
		return err
	}
	typ, _, _ := str(o, "type")
	if typ != "plain_text" && (plainOnly || typ != "mrkdwn") {
		want := "plain_text"
		if !plainOnly {
			want += " or mrkdwn"
		}
		return &blockError{fmt.Sprintf("must be a text object of type %s, not %q", want, typ), p + "/type"}
	}
	t, present, ok := str(o, "text")
	switch n := utf8.RuneCountInString(t); {
	case !present || !ok:
		return &blockError{"must provide a string", p + "/text"}
	case n == 0:
		return &blockError{"must be more than 0 characters", p + "/text"}
	case n > max:
		return &blockError{fmt.Sprintf("must be less than %d characters", max+1), p + "/text"}
	}
	return nil
}

func (c *blockCheck) block(raw json.RawMessage, p string) *blockError {
	o, err := decodeObject(raw, p)
	if err != nil {
		return err
	}
	id, err := optString(o, "block_id", p, 255)
	if err != nil {
		return err
	} else if id != "" {
		if c.blockIDs[id] {
			return &blockError{fmt.Sprintf("block_id %q is already used", id), p + "/block_id"}
		}
		c.blockIDs[id] = true
	}
	switch typ, _, _ := str(o, "type"); typ {
	case "divider":
		return nil
	case "header":
		return text(o["text"], p+"/text", true, 150)
	case "section":
		_, hasText := o["text"]
		_, hasFields := o["fields"]
		if !hasText && !hasFields {
			return &blockError{"must provide text or fields", p}
		}
		if hasText {
			if err := text(o["text"], p+"/text", false, 3000); err != nil {
				return err
			}
		}
		if hasFields {
			fields, err := array(o, "fields", p, 1, 10)
			if err != nil {
				return err
			}
			for i, f := range fields {
				if err := text(f, fmt.Sprintf("%s/fields/%d", p, i), false, 2000); err != nil {
					return err
				}
			}
		}
		if acc, has := o["accessory"]; has {
			return c.element(acc, p+"/accessory", true)
		}
		return nil
	case "actions":
		elems, err := array(o, "elements", p, 1, 25)
		if err != nil {
			return err
		}
		for i, e := range elems {
			if err := c.element(e, fmt.Sprintf("%s/elements/%d", p, i), false); err != nil {
				return err
			}
		}
		return nil
	case "context":
		elems, err := array(o, "elements", p, 1, 10)
		if err != nil {
			return err
		}
		for i, e := range elems {
			ep := fmt.Sprintf("%s/elements/%d", p, i)
			eo, err := decodeObject(e, ep)
			if err != nil {
				return err
			}
			if t, _, _ := str(eo, "type"); t == "image" {
				err = image(eo, ep)
			} else {
				err = text(e, ep, false, 3000)
			}
			if err != nil {
				return err
			}
		}
		return nil
	default:
		return &blockError{fmt.Sprintf("unsupported block type %q (the fake knows section, actions, context, divider, header)", typ), p + "/type"}
	}
}

func image(o map[string]json.RawMessage, p string) *blockError {
	for _, f := range []struct {
		key string
		max int
	}{{"image_url", 3000}, {"alt_text", 2000}} {
		v, err := optString(o, f.key, p, f.max)
		if err != nil {
			return err
		} else if v == "" {
			return &blockError{"must provide a string", p + "/" + f.key}
		}
	}
	return nil
}

// element checks an interactive element: a button (or, as an accessory, an
// image).
func (c *blockCheck) element(raw json.RawMessage, p string, accessory bool) *blockError {
	o, err := decodeObject(raw, p)
	if err != nil {
		return err
	}
	switch typ, _, _ := str(o, "type"); {
	case typ == "image" && accessory:
		return image(o, p)
	case typ != "button":
		return &blockError{fmt.Sprintf("unsupported element type %q (the fake knows buttons)", typ), p + "/type"}
	}
	if err := text(o["text"], p+"/text", true, 75); err != nil {
		return err
	}
	id, err := optString(o, "action_id", p, 255)
	if err != nil {
		return err
	} else if id != "" {
		if c.actionIDs[id] {
			return &blockError{fmt.Sprintf("action_id %q is already used", id), p + "/action_id"}
		}
		c.actionIDs[id] = true
	}
	for _, f := range []struct {
		key string
		max int
	}{{"value", 2000}, {"url", 3000}, {"accessibility_label", 75}} {
		if _, err := optString(o, f.key, p, f.max); err != nil {
			return err
		}
	}
	if err := style(o, p); err != nil {
		return err
	}
	if raw, has := o["confirm"]; has {
		return confirm(raw, p+"/confirm")
	}
	return nil
}

func style(o map[string]json.RawMessage, p string) *blockError {
	v, present, ok := str(o, "style")
	if !ok || present && v != "primary" && v != "danger" {
		return &blockError{fmt.Sprintf("style must be primary or danger, not %s", o["style"]), p + "/style"}
	}
	return nil
}

func confirm(raw json.RawMessage, p string) *blockError {
	o, err := decodeObject(raw, p)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		key       string
		plainOnly bool
		max       int
	}{{"title", true, 100}, {"text", false, 300}, {"confirm", true, 30}, {"deny", true, 30}} {
		if err := text(o[f.key], p+"/"+f.key, f.plainOnly, f.max); err != nil {
			return err
		}
	}
	return style(o, p)
}

// blocksFailure answers a refused request as Slack does, with the reason in
// response_metadata.messages, and records it as a violation so tests see
// what was wrong; s.mu must be held.
func (s *Server) blocksFailure(method, code string, err *blockError) obj {
	s.violation("%s: %s: %s", method, code, err)
	return obj{"ok": false, "error": code, "response_metadata": obj{"messages": []string{err.Error()}}}
}
