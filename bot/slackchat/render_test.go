package slackchat

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/leasebot/leasebot/bot"
)

// specStop is the stop time of the documented date token example.
var specStop = time.Unix(1764345600, 0)

const specToken = "<!date^1764345600^{date_short_pretty} at {time}|2025-11-28 16:00 UTC>"

func TestMrkdwn(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   bot.Text
		want string
	}{
		{"plain", bot.Text{}.Plain("hello"), "hello"},
		{"plain escapes", bot.Text{}.Plain("a & b <c> d"), "a &amp; b &lt;c&gt; d"},
		{"plain cannot mention everyone", bot.Text{}.Plain("<!channel> <@U0X>"), "&lt;!channel&gt; &lt;@U0X&gt;"},
		{"ampersand entity is escaped again", bot.Text{}.Plain("&amp;"), "&amp;amp;"},
		{"newlines kept", bot.Text{}.Plain("a\nb"), "a\nb"},
		{"strong", bot.Text{}.Strong("train-gpu"), "*train-gpu*"},
		{"strong escapes", bot.Text{}.Strong("R&D <x>"), "*R&amp;D &lt;x&gt;*"},
		{"code", bot.Text{}.Code("0f1e-nb"), "`0f1e-nb`"},
		{"code escapes", bot.Text{}.Code("<id>&"), "`&lt;id&gt;&amp;`"},
		{"date token, documented example", bot.Text{}.Time(specStop), specToken},
		{"date token from another zone", bot.Text{}.Time(specStop.In(berlin)), specToken},
		{"date token drops sub-seconds", bot.Text{}.Time(specStop.Add(900 * time.Millisecond)), specToken},
		{"date token fallback is UTC", bot.Text{}.Time(time.Date(2026, 1, 2, 3, 4, 0, 0, berlin)),
			"<!date^1767319440^{date_short_pretty} at {time}|2026-01-02 02:04 UTC>"},
		{"user mention", bot.Text{}.User("U0ALICE"), "<@U0ALICE>"},
		{"whole sentence",
			bot.Text{}.User("U0ALICE").Plain(" extended ").Strong("a<b").Plain(" ").Code("nb&1").Plain(" by 2h: it now stops ").Time(specStop).Plain(" (in 2h 05m)."),
			"<@U0ALICE> extended *a&lt;b* `nb&amp;1` by 2h: it now stops " + specToken + " (in 2h 05m)."},
		{"empty", bot.Text{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mrkdwn(tt.in); got != tt.want {
				t.Errorf("Mrkdwn = %q\nwant     %q", got, tt.want)
			}
		})
	}
}

func TestDateToken(t *testing.T) {
	if got := DateToken(1764345600, "2025-11-28 16:00 UTC"); got != specToken {
		t.Errorf("DateToken = %q, want %q", got, specToken)
	}
}

func TestActionOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"leasebot_extend.0", bot.ActionExtend},
		{"leasebot_extend.1", bot.ActionExtend},
		{"leasebot_extend.12", bot.ActionExtend},
		{"leasebot_dismiss.2", bot.ActionDismiss},
		{"leasebot_extend", bot.ActionExtend}, // no index: unchanged
		{"a.b.3", "a.b"},                      // only the last part is the index
		{".0", ".0"},                          // nothing before the dot: unchanged
		{"", ""},
	}
	for _, tt := range tests {
		if got := actionOf(tt.in); got != tt.want {
			t.Errorf("actionOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// checkSplit asserts split's contract: pieces of at most n bytes, each valid
// UTF-8 and non-empty, that give back s when one newline is put back at each
// cut that fell on a line end. A text that ends right after a cut ends
// with the last piece, not with an empty one.
func checkSplit(t *testing.T, s string, n int) []string {
	t.Helper()
	pieces := split(s, n)
	if len(pieces) == 0 {
		t.Fatalf("split(%d bytes) returned no pieces", len(s))
	}
	pos := 0
	for i, p := range pieces {
		if len(p) > n {
			t.Errorf("piece %d is %d bytes, over %d", i, len(p), n)
		}
		if !utf8.ValidString(p) {
			t.Errorf("piece %d is not valid UTF-8: it cuts a character", i)
		}
		if p == "" && len(s) > 0 {
			t.Errorf("piece %d of %d is empty (Slack refuses an empty section)", i, len(pieces))
		}
		if i > 0 && pos < len(s) && s[pos] == '\n' {
			pos++ // the newline the cut fell on
		}
		if !strings.HasPrefix(s[pos:], p) {
			t.Fatalf("piece %d does not continue the text at byte %d", i, pos)
		}
		pos += len(p)
	}
	if len(s) > n && pos == len(s)-1 && s[pos] == '\n' {
		pos++ // the text ended with the newline a cut fell on
	}
	if pos != len(s) {
		t.Errorf("pieces cover %d of %d bytes", pos, len(s))
	}
	return pieces
}

func TestSplit(t *testing.T) {
	line := strings.Repeat("x", 99) + "\n" // 100 bytes
	tests := []struct {
		name   string
		s      string
		n      int
		pieces []string // nil: only check the contract
	}{
		{"short", "hello", 10, []string{"hello"}},
		{"exactly n", "0123456789", 10, []string{"0123456789"}},
		{"empty", "", 10, []string{""}},
		{"cut at a line end", "abc\ndefgh\nij", 10, []string{"abc\ndefgh", "ij"}},
		{"no line end: hard cut", "abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"line end at the start only", "\nabcdefghij", 5, nil},
		{"two-byte runes", strings.Repeat("é", 10), 5, []string{"éé", "éé", "éé", "éé", "éé"}},
		{"three-byte runes", strings.Repeat("日本", 4), 7, []string{"日本", "日本", "日本", "日本"}},
		{"four-byte runes", strings.Repeat("🚀", 5), 6, []string{"🚀", "🚀", "🚀", "🚀", "🚀"}},
		{"section limit with lines", strings.Repeat(line, 75), sectionLimit, nil},
		{"section limit without lines", strings.Repeat("ab", 4000), sectionLimit, nil},
		{"section limit multibyte", strings.Repeat("ä日🚀", 1000), sectionLimit, nil},
		{"cut just before a newline", strings.Repeat("x", 10) + "\nyy", 10, []string{strings.Repeat("x", 10), "yy"}},
		{"trailing newline after a full piece", strings.Repeat("x", 10) + "\n", 10, []string{strings.Repeat("x", 10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkSplit(t, tt.s, tt.n)
			if tt.pieces != nil && !equal(got, tt.pieces) {
				t.Errorf("split = %q, want %q", got, tt.pieces)
			}
		})
	}
}

// Every offset of a multi-byte character against the limit.
func TestSplitEveryRuneOffset(t *testing.T) {
	for _, r := range []string{"é", "日", "🚀"} {
		for pad := 0; pad <= 8; pad++ {
			s := strings.Repeat("a", pad) + strings.Repeat(r, 20)
			for n := 4; n <= 12; n++ {
				checkSplit(t, s, n)
			}
		}
	}
}

func TestSplitRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "b", " ", "\n", "é", "日", "🚀", "&amp;"}
	for range 500 {
		var b strings.Builder
		for range rng.IntN(300) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		checkSplit(t, b.String(), 4+rng.IntN(40))
		if t.Failed() {
			t.Fatalf("input %q", b.String())
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wireBlock is the part of a Block Kit block these tests read.
type wireBlock struct {
	Type    string `json:"type"`
	BlockID string `json:"block_id"`
	Text    *struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"text"`
	Elements []struct {
		Type     string `json:"type"`
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		Style    string `json:"style"`
		Text     struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
	} `json:"elements"`
}

// posted sends m's options to a fake chat.postMessage and returns the form
// fields text and blocks as Slack would receive them.
func posted(t *testing.T, m bot.Message) (string, []wireBlock) {
	t.Helper()
	var mu sync.Mutex
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("bad form: %v", err)
		}
		mu.Lock()
		form = r.PostForm
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"channel":"C0ML","ts":"1.000100"}`))
	}))
	defer srv.Close()
	api := slack.New("xoxb-test", slack.OptionAPIURL(srv.URL+"/"))
	if _, _, err := api.PostMessage("C0ML", msgOptions(m)...); err != nil {
		t.Fatalf("PostMessage: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var blocks []wireBlock
	if err := json.Unmarshal([]byte(form.Get("blocks")), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", form.Get("blocks"), err)
	}
	return form.Get("text"), blocks
}

func TestMsgOptionsShort(t *testing.T) {
	m := bot.Message{Text: bot.Text{}.Strong("a&b").Plain(" stops ").Time(specStop)}
	text, blocks := posted(t, m)
	want := "*a&amp;b* stops " + specToken
	if text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
	if len(blocks) != 1 {
		t.Fatalf("%d blocks, want 1 section: %+v", len(blocks), blocks)
	}
	b := blocks[0]
	if b.Type != "section" || b.Text == nil || b.Text.Type != "mrkdwn" || b.Text.Text != want {
		t.Errorf("block = %+v, want a mrkdwn section with %q", b, want)
	}
}

func TestMsgOptionsLongText(t *testing.T) {
	var lines strings.Builder
	for i := range 120 {
		lines.WriteString(strings.Repeat("notebook <x> & ", 4) + "line " + string(rune('a'+i%26)) + "\n")
	}
	tests := []struct {
		name string
		text bot.Text
	}{
		{"lines", bot.Text{}.Plain(lines.String())},
		{"one long ASCII line", bot.Text{}.Plain(strings.Repeat("abcdefghij", 700))},
		{"one long line of two-byte runes", bot.Text{}.Plain(strings.Repeat("é", 3500))},
		{"one long line of three-byte runes", bot.Text{}.Plain("x" + strings.Repeat("日", 2500))},
		{"one long line of emoji", bot.Text{}.Plain("xy" + strings.Repeat("🚀", 2000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full := Mrkdwn(tt.text)
			if len(full) <= sectionLimit {
				t.Fatalf("test text is only %d bytes", len(full))
			}
			text, blocks := posted(t, bot.Message{Text: tt.text})
			if len(blocks) < 2 {
				t.Fatalf("%d blocks for %d bytes, want several sections", len(blocks), len(full))
			}
			var joined strings.Builder
			for i, b := range blocks {
				if b.Type != "section" || b.Text == nil {
					t.Fatalf("block %d = %+v, want a section", i, b)
				}
				s := b.Text.Text
				if s == "" || len(s) > sectionLimit || utf8.RuneCountInString(s) > sectionLimit {
					t.Errorf("section %d has %d bytes", i, len(s))
				}
				if strings.ContainsRune(s, utf8.RuneError) {
					t.Errorf("section %d has a broken character", i)
				}
				joined.WriteString(s)
			}
			if got, want := strings.ReplaceAll(joined.String(), "\n", ""), strings.ReplaceAll(full, "\n", ""); got != want {
				t.Errorf("sections lose text: %d bytes, want %d", len(got), len(want))
			}
			// The notification fallback is cut too, but never inside a character.
			if len(text) > sectionLimit || len(text) == 0 {
				t.Errorf("fallback text is %d bytes", len(text))
			}
			if !utf8.ValidString(text) {
				t.Errorf("fallback text is not valid UTF-8; it ends %q", text[max(0, len(text)-4):])
			}
			if !strings.HasPrefix(full, text) {
				t.Errorf("fallback text is not a prefix of the message")
			}
		})
	}
}

func TestMsgOptionsButtons(t *testing.T) {
	buttons := []bot.Button{
		{Action: bot.ActionExtend, Value: "v1|1h", Label: "Extend 1h"},
		{Action: bot.ActionExtend, Value: "v1|4h", Label: "Extend 4h"},
		{Action: bot.ActionDismiss, Value: "v1|stop", Label: "Let it stop", Danger: true},
	}
	text, blocks := posted(t, bot.Message{Text: bot.Text{}.Plain("warning"), Buttons: buttons})
	if text != "warning" {
		t.Errorf("text = %q", text)
	}
	if len(blocks) != 2 || blocks[0].Type != "section" || blocks[1].Type != "actions" {
		t.Fatalf("blocks = %+v, want a section then an actions block", blocks)
	}
	acts := blocks[1]
	if acts.BlockID != "leasebot_actions" {
		t.Errorf("block_id = %q", acts.BlockID)
	}
	want := []struct{ id, style string }{
		{"leasebot_extend.0", "primary"},
		{"leasebot_extend.1", ""},
		{"leasebot_dismiss.2", "danger"},
	}
	if len(acts.Elements) != len(want) {
		t.Fatalf("%d buttons, want %d", len(acts.Elements), len(want))
	}
	seen := map[string]bool{}
	for i, e := range acts.Elements {
		if e.Type != "button" {
			t.Errorf("element %d type %q", i, e.Type)
		}
		if e.ActionID != want[i].id {
			t.Errorf("button %d action_id = %q, want %q", i, e.ActionID, want[i].id)
		}
		if seen[e.ActionID] {
			t.Errorf("action_id %q repeats within the block", e.ActionID)
		}
		seen[e.ActionID] = true
		if e.Style != want[i].style {
			t.Errorf("button %d style = %q, want %q", i, e.Style, want[i].style)
		}
		if e.Value != buttons[i].Value || e.Text.Text != buttons[i].Label || e.Text.Type != "plain_text" {
			t.Errorf("button %d = %+v, want value %q label %q", i, e, buttons[i].Value, buttons[i].Label)
		}
		if got := actionOf(e.ActionID); got != buttons[i].Action {
			t.Errorf("actionOf(%q) = %q, want %q", e.ActionID, got, buttons[i].Action)
		}
	}
}

// A home view stays within Slack's 100 blocks: with 60 notebooks it shows
// as many as fit, two blocks each, says how many more there are, and
// numbers every button's action_id apart.
func TestHomeViewFitsSlacksLimit(t *testing.T) {
	h := bot.Home{Title: bot.Text{}.Plain("My notebooks"), Intro: bot.Text{}.Plain("Yours and your channels'.")}
	for i := range 60 {
		h.Items = append(h.Items, bot.Message{Text: bot.Text{}.Plain("notebook " + strings.Repeat("x", i%7)),
			Buttons: []bot.Button{{Action: bot.ActionExtend, Value: "a", Label: "Extend 1h"}, {Action: bot.ActionExtend, Value: "b", Label: "Extend 4h"}}})
	}
	v := homeView(h)
	blocks := v.Blocks.BlockSet
	if len(blocks) > maxHomeBlocks {
		t.Fatalf("%d blocks, Slack takes %d", len(blocks), maxHomeBlocks)
	}
	shown, ids := 0, map[string]bool{}
	for _, b := range blocks {
		a, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		shown++
		for _, e := range a.Elements.ElementSet {
			id := e.(*slack.ButtonBlockElement).ActionID
			if ids[id] {
				t.Errorf("action_id %s twice", id)
			}
			ids[id] = true
		}
	}
	if shown < 47 {
		t.Errorf("%d of 60 notebooks shown; two blocks each should fit 47 or more", shown)
	}
	last, ok := blocks[len(blocks)-1].(*slack.ContextBlock)
	if !ok {
		t.Fatalf("the last block is %T, want the \"more\" line", blocks[len(blocks)-1])
	}
	if txt := last.ContextElements.Elements[0].(*slack.TextBlockObject).Text; !strings.Contains(txt, strconv.Itoa(60-shown)+" more") {
		t.Errorf("the last line says %q; %d are not shown", txt, 60-shown)
	}
}
