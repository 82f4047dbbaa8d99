package main

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/leasebot/leasebot/bot/slackchat/slackfake"
)

// webAPIScopes maps each slack-go method the adapter may call to the Web API
// method and the bot scope it needs ("" for none).
var webAPIScopes = map[string]struct{ method, scope string }{
	"PostMessageContext":         {"chat.postMessage", "chat:write"},
	"PostEphemeralContext":       {"chat.postEphemeral", "chat:write"},
	"UpdateMessageContext":       {"chat.update", "chat:write"},
	"GetUserInfoContext":         {"users.info", "users:read"},
	"GetUserGroupMembersContext": {"usergroups.users.list", "usergroups:read"},
	"AuthTestContext":            {"auth.test", ""},
	"PublishViewContext":         {"views.publish", ""},
	// The app-level token's connections:write, not a bot scope (README, step 2).
	"StartSocketModeContext": {"apps.connections.open", ""},
}

type manifest struct {
	Features struct {
		AppHome struct {
			HomeTab     bool `yaml:"home_tab_enabled"`
			MessagesTab bool `yaml:"messages_tab_enabled"`
		} `yaml:"app_home"`
		SlashCommands []struct {
			Command     string `yaml:"command"`
			Description string `yaml:"description"`
			UsageHint   string `yaml:"usage_hint"`
		} `yaml:"slash_commands"`
		BotUser struct {
			DisplayName string `yaml:"display_name"`
		} `yaml:"bot_user"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Interactivity struct {
			IsEnabled bool `yaml:"is_enabled"`
		} `yaml:"interactivity"`
		SocketMode bool `yaml:"socket_mode_enabled"`
		Events     struct {
			Bot []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
	} `yaml:"settings"`
}

func TestManifestDeclaresWhatTheCodeUses(t *testing.T) {
	data, err := os.ReadFile("manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest.yml does not parse: %v", err)
	}
	if !m.Settings.SocketMode || !m.Settings.Interactivity.IsEnabled {
		t.Error("the manifest must enable Socket Mode and interactivity")
	}
	if m.Features.BotUser.DisplayName == "" {
		t.Error("the manifest needs a bot user")
	}
	var commands []string
	for _, c := range m.Features.SlashCommands {
		commands = append(commands, c.Command)
		if c.UsageHint == "" || c.Description == "" {
			t.Errorf("%s needs a description and a usage hint", c.Command)
		}
	}
	if !slices.Contains(commands, slackfake.Command) {
		t.Errorf("the manifest does not declare %s (declares %v)", slackfake.Command, commands)
	}

	// Every Web API method the adapter calls must be known, and its scope declared.
	need := map[string]bool{"commands": true}
	re := regexp.MustCompile(`\.api\.(\w+)\(`)
	files, _ := os.ReadDir("bot/slackchat")
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile("bot/slackchat/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range re.FindAllStringSubmatch(string(src), -1) {
			s, ok := webAPIScopes[call[1]]
			if !ok {
				t.Errorf("bot/slackchat/%s calls %s: add it to webAPIScopes with its scope", f.Name(), call[1])
				continue
			}
			if s.scope != "" {
				need[s.scope] = true
			}
		}
	}
	// The home view needs the Home tab and the app_home_opened event;
	// warnings to owners and their commands need the Messages tab.
	adapter := ""
	for _, f := range files {
		if src, err := os.ReadFile("bot/slackchat/" + f.Name()); err == nil && !strings.HasSuffix(f.Name(), "_test.go") {
			adapter += string(src)
		}
	}
	if strings.Contains(adapter, "PublishViewContext") && !m.Features.AppHome.HomeTab {
		t.Error("the adapter publishes home views, but the manifest does not enable the Home tab")
	}
	if strings.Contains(adapter, "AppHomeOpenedEvent") != slices.Contains(m.Settings.Events.Bot, "app_home_opened") {
		t.Errorf("the adapter's handling of app_home_opened and the manifest's bot_events %v disagree", m.Settings.Events.Bot)
	}
	if strings.Contains(adapter, "InDirect") && !m.Features.AppHome.MessagesTab {
		t.Error("the adapter takes direct messages, but the manifest does not enable the Messages tab")
	}
	var want []string
	for s := range need {
		want = append(want, s)
	}
	sort.Strings(want)
	got := slices.Clone(m.OAuth.Scopes.Bot)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("bot scopes %v, but the code needs exactly %v", got, want)
	}
}
