package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The core and everything beneath it know no chat's wire format: adding a
// chat means one new adapter package and the wiring, nothing else. This
// test fails if a core package comes to depend on Slack.
func TestCoreImportsNothingSlackSpecific(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	core := []string{"./bot", "./bot/access", "./bot/command", "./bot/config", "./bot/duration", "./bot/suggest", "./lease/...", "./admin"}
	out, err := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, core...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "slack") {
			t.Errorf("a core package depends on %s", dep)
		}
	}
}
