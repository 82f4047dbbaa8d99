package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/leasebot/leasebot/bot/config"
)

// TestREADMEConfigExample keeps the README's annotated config honest: it must
// load, and it must be the example file the config tests load.
func TestREADMEConfigExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) != 1 {
		t.Fatalf("want one yaml block in README.md, found %d", len(blocks))
	}
	if _, err := config.Parse([]byte(blocks[0][1]), "README.md"); err != nil {
		t.Errorf("the README's config does not load:\n%v", err)
	}
	example, err := os.ReadFile("bot/config/testdata/example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(blocks[0][1]) != strings.TrimSpace(string(example)) {
		t.Error("the README's config differs from bot/config/testdata/example.yml; copy it again")
	}
}

// TestREADMECommandsExist checks the sub-commands and flags the README shows.
func TestREADMECommandsExist(t *testing.T) {
	readme, _ := os.ReadFile("README.md")
	for _, want := range []string{"go run . demo", "go test -race ./...", "go run . check", "go run . run -simulate", "-listen", "go run . version"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md no longer mentions %q", want)
		}
	}
	if !strings.Contains(usage, "-listen") || !strings.Contains(usage, "demo") {
		t.Error("the usage text lacks -listen or demo")
	}
}
