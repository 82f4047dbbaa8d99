// Command fakeslack runs the fake Slack on its own, so that a real
// `leasebot run` (for example with -simulate) can be tried end to end with no
// Slack workspace: it prints the environment to give leasebot, then sends the
// /notebook commands typed here over Socket Mode and prints what the bot
// answers and posts, in channels, in DMs and in the App Home.
//
//	go run ./bot/slackchat/slackfake/fakeslack -user U0ALICE -channel C0ML
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
)

func main() {
	user := flag.String("user", "U0ALICE", "user ID that types the commands")
	channel := flag.String("channel", "C0ML", "channel ID the commands are typed in")
	tz := flag.String("tz", "Europe/Berlin", "the user's time zone (users.info)")
	flag.Parse()

	s := slackfake.New(slackfake.Options{AppToken: "xapp-1-fake", BotToken: "xoxb-fake"})
	defer s.Close()
	s.AddUser(*user, "you", *tz)
	fmt.Printf(`fake Slack is up. In another terminal, with a config whose channel %s lists user %s:

  export SLACK_API_URL=%s SLACK_APP_TOKEN=xapp-1-fake SLACK_BOT_TOKEN=xoxb-fake
  go run . run -simulate -config leasebot.yml

Then type here: /notebook list, /notebook extend <name> 2h, press N (a button),
home (open the App Home), as <user ID>, in <channel ID> (or: in dm), quit.
`, *channel, *user, s.APIURL())

	var mu sync.Mutex
	var buttons [][3]string // channel, ts, action_id|value; channel "" for the App Home
	shown := map[string]int{}
	go func() { // print channel messages as they are posted or replaced
		for {
			for _, m := range s.Messages() {
				if m.Ephemeral || shown[m.Channel+m.TS] == m.Updated+1 {
					continue
				}
				shown[m.Channel+m.TS] = m.Updated + 1
				mu.Lock()
				fmt.Printf("\n[#%s %s%s] %s\n", m.Channel, m.TS, map[bool]string{true: ", updated"}[m.Updated > 0], m.Text)
				for _, b := range blockButtons(m.Blocks, nil) {
					buttons = append(buttons, [3]string{m.Channel, m.TS, b[0] + "|" + b[1]})
					fmt.Printf("  [%d] %s\n", len(buttons), b[2])
				}
				mu.Unlock()
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		word, rest, _ := strings.Cut(line, " ")
		var env *slackfake.Envelope
		switch word {
		case "":
			continue
		case "quit", "exit":
			return
		case "as":
			*user = rest
			s.AddUser(rest, rest, *tz)
			continue
		case "in":
			if *channel = rest; rest == "dm" {
				*channel = slackfake.DMChannel(*user)
			}
			continue
		case "home":
			_, before, _ := s.Home(*user)
			env = s.AppHomeOpened(*user)
			if env.Sent.IsZero() {
				fmt.Println("leasebot is not connected yet")
				continue
			}
			view, ok := s.WaitHome(*user, func(json.RawMessage) bool {
				_, v, _ := s.Home(*user)
				return v > before
			}, 5*time.Second)
			if !ok {
				fmt.Println("(no view published)")
				continue
			}
			var v struct{ Blocks json.RawMessage }
			_ = json.Unmarshal(view, &v)
			fmt.Println("[App Home]")
			mu.Lock()
			for _, b := range blockButtons(v.Blocks, func(line string) { fmt.Println("  " + line) }) {
				buttons = append(buttons, [3]string{"", "", b[0] + "|" + b[1]})
				fmt.Printf("  [%d] %s\n", len(buttons), b[2])
			}
			mu.Unlock()
			continue
		case "press":
			n, err := strconv.Atoi(rest)
			mu.Lock()
			if err != nil || n < 1 || n > len(buttons) {
				mu.Unlock()
				fmt.Println("no such button")
				continue
			}
			b := buttons[n-1]
			mu.Unlock()
			action, value, _ := strings.Cut(b[2], "|")
			if b[0] == "" {
				env = s.ClickHome(*user, action, value)
			} else {
				env = s.Click(*user, b[0], b[1], action, value)
			}
		case "/notebook":
			env = s.SlashCommand(*user, *channel, rest)
		default:
			fmt.Println("type /notebook …, press N, home, as U…, in C… (or in dm), or quit")
			continue
		}
		if env.Sent.IsZero() {
			fmt.Println("leasebot is not connected yet")
			continue
		}
		if ack, ok := env.WaitAck(3 * time.Second); ok {
			fmt.Printf("(acked in %s)\n", ack.Latency.Round(time.Microsecond))
		}
		wait := 20 * time.Second
		if word == "press" {
			wait = 2 * time.Second // a click answers only the clicker, and only on refusal
		}
		if env.ResponseURL == "" { // a Home click: the bot answers by publishing the view again
			continue
		}
		if r, ok := s.WaitResponse(env, wait); ok {
			fmt.Printf("[%s] %s\n", r.ResponseType, r.Text)
		}
	}
}

// blockButtons lists (action_id, value, label) of the buttons in blocks and
// passes the text of the other blocks to show, if not nil.
func blockButtons(raw json.RawMessage, show func(string)) [][3]string {
	type text struct {
		Text string `json:"text"`
	}
	var blocks []struct {
		Text     *text  `json:"text"`
		Fields   []text `json:"fields"`
		Elements []struct {
			ActionID string          `json:"action_id"`
			Value    string          `json:"value"`
			Text     json.RawMessage `json:"text"` // a text object, or a string in context blocks
		} `json:"elements"`
	}
	_ = json.Unmarshal(raw, &blocks)
	if show == nil {
		show = func(string) {}
	}
	var out [][3]string
	for _, b := range blocks {
		if b.Text != nil {
			show(b.Text.Text)
		}
		for _, f := range b.Fields {
			show(f.Text)
		}
		for _, e := range b.Elements {
			var label text
			if json.Unmarshal(e.Text, &label) != nil {
				_ = json.Unmarshal(e.Text, &label.Text)
			}
			if e.ActionID != "" {
				out = append(out, [3]string{e.ActionID, e.Value, label.Text})
			} else if label.Text != "" {
				show(label.Text)
			}
		}
	}
	return out
}
