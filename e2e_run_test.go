package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/lease/simulator"
	"github.com/leasebot/leasebot/store"
)

func TestRunSimulateNeedsNoCloudCredentials(t *testing.T) {
	h := newHarness(t, harnessOptions{noStart: true})
	delete(h.env, "MODELARTS_AK")
	delete(h.env, "MODELARTS_SK")
	h.start("-simulate")
	resp := h.command(alice, chML, "list")
	for _, want := range []string{"llm-finetune", "team-a-sandbox", "data-prep"} {
		if !strings.Contains(resp.Text, want) {
			t.Errorf("-simulate list %q lacks the demo notebook %s", resp.Text, want)
		}
	}
	resp = h.command(alice, chML, "extend eval-benchmarks 1h")
	if resp.ResponseType != "in_channel" {
		t.Errorf("extend under -simulate: %q", resp.Text)
	}
	if h.sim.Count("list") != 0 {
		t.Error("-simulate talked to the configured endpoint")
	}
}

func TestCheck(t *testing.T) {
	h := newHarness(t, harnessOptions{noStart: true})
	getenv := func(k string) string { return h.env[k] }
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"check", "-config", h.config}, nil, &out, &errOut, getenv); code != exitOK {
		t.Fatalf("check on a good setup: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"OK", chML, alice, "S0DATASCI", "team-b-*", "modelarts: OK", "slack: OK", "does not exist yet"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	// check looks at the store and changes nothing: no file is created.
	dbPath := filepath.Join(filepath.Dir(h.config), "leasebot.db")
	if _, err := os.Stat(dbPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("check created the store: %v", err)
	}
	db, err := store.Open(context.Background(), store.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, errOut = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"check", "-config", h.config}, nil, &out, &errOut, getenv); code != exitOK || !strings.Contains(out.String(), "(up to date)") {
		t.Errorf("check on an existing store: exit %d\n%s", code, out.String())
	}

	h.env["MODELARTS_SK"] = "not-the-key"
	out, errOut = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"check", "-config", h.config}, nil, &out, &errOut, getenv); code != exitFail {
		t.Errorf("check with a refused key: exit %d, want 1\n%s", code, out.String())
	}
	if strings.Contains(out.String()+errOut.String(), "not-the-key") {
		t.Error("check printed the secret key")
	}

	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("modelarts:\n  endpoint: http://example.com\n  project_id: nope\nchannels:\n  general:\n    users: [alice]\n    notebooks: [\"*\"]\n"), 0o600)
	out, errOut = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"check", "-config", bad}, nil, &out, &errOut, getenv); code != exitFail {
		t.Errorf("check on a bad config: exit %d, want 1", code)
	}
	for _, want := range []string{"bad.yml:2:", "bad.yml:3:", "bad.yml:5:", "bad.yml:6:"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("check errors lack %q:\n%s", want, errOut.String())
		}
	}
}

// check tries the app-level token too (apps.connections.open), so a wrong
// SLACK_APP_TOKEN fails check instead of passing it and stopping run; it
// prints neither the token nor the Socket Mode URL Slack answers with.
func TestCheckAppToken(t *testing.T) {
	h := newHarness(t, harnessOptions{noStart: true})
	getenv := func(k string) string { return h.env[k] }
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"check", "-config", h.config}, nil, &out, &errOut, getenv); code != exitOK {
		t.Fatalf("check on a good setup: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "slack: OK: the app-level token opens Socket Mode connections") {
		t.Errorf("check did not say the app token works:\n%s", out.String())
	}
	if n := h.slack.Calls("apps.connections.open"); n != 1 {
		t.Errorf("check called apps.connections.open %d times, want 1", n)
	}

	const wrong = "xapp-1-A0FAKE-1-revokedrevokedrevoked"
	h.env["SLACK_APP_TOKEN"] = wrong
	out, errOut = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"check", "-config", h.config}, nil, &out, &errOut, getenv); code != exitFail {
		t.Errorf("check with a wrong app token: exit %d, want 1\n%s", code, out.String())
	}
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "slack: ERROR: SLACK_APP_TOKEN") {
			line = l
		}
	}
	if !strings.Contains(line, "invalid_auth") || !strings.Contains(line, "apps.connections.open") {
		t.Errorf("no clear line about the app token:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "slack: OK: bot ") {
		t.Errorf("the bot token still works, and check should say so:\n%s", out.String())
	}
	everything := out.String() + errOut.String()
	for _, secret := range []string{wrong, "revoked", testAppToken, testBotToken, "appsecret", "botsecret", "ticket=", "/link/"} {
		if strings.Contains(everything, secret) {
			t.Errorf("check printed %q:\n%s", secret, everything)
		}
	}
}

func TestRunRefusesABadConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("channels:\n  C0ML:\n    users: [U0A]\n"), 0o600)
	var errOut syncBuffer
	code := run(context.Background(), []string{"run", "-config", bad}, nil, &syncBuffer{}, &errOut, func(string) string { return "" })
	if code != exitConfig || !strings.Contains(errOut.String(), "bad.yml:") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	errOut = syncBuffer{}
	code = run(context.Background(), []string{"run"}, nil, &syncBuffer{}, &errOut, func(k string) string {
		if k == "LEASEBOT_CONFIG" {
			return bad
		}
		return ""
	})
	if code != exitConfig || !strings.Contains(errOut.String(), "bad.yml") {
		t.Errorf("LEASEBOT_CONFIG was not used: exit %d, stderr %q", code, errOut.String())
	}
}

// A command line leasebot cannot read exits 2 whatever the sub-command,
// check included (which otherwise says 1 for every problem it finds).
func TestCommandLineMistakesExit2(t *testing.T) {
	for _, args := range [][]string{{"check", "-badflag"}, {"run", "-badflag"}, {"-badflag"}, {"nosuchcommand"}} {
		var errOut syncBuffer
		if code := run(context.Background(), args, nil, &syncBuffer{}, &errOut, func(string) string { return "" }); code != exitConfig {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitConfig, errOut.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out syncBuffer
	if code := run(context.Background(), []string{"version"}, nil, &out, &syncBuffer{}, os.Getenv); code != 0 || !strings.HasPrefix(out.String(), "leasebot ") {
		t.Errorf("version: exit %d, %q", code, out.String())
	}
}

func TestWarningsSurviveSlackRateLimits(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: warnDefaults, noStart: true})
	nb := h.sim.AddRunning("rate-limited", 20*time.Minute)
	h.slack.RateLimit("chat.postMessage", time.Second, 1)
	start := time.Now()
	h.start()
	h.warningFor(chML, nb.ID)
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("the warning was posted %v after start, before Retry-After (1s) had passed", waited)
	}
	if n := h.slack.Calls("chat.postMessage"); n != 2 {
		t.Errorf("want 2 chat.postMessage calls (429, then the retry), got %d", n)
	}
}

func TestIAMPasswordAuth(t *testing.T) {
	h := newHarness(t, harnessOptions{noStart: true, simOptions: func(o *simulator.Options) {
		o.IAM = &simulator.IAMUser{Name: "bot-user", Password: "iam-secret-password", Domain: "acme"}
	}})
	delete(h.env, "MODELARTS_AK")
	delete(h.env, "MODELARTS_SK")
	h.env["MODELARTS_USERNAME"], h.env["MODELARTS_PASSWORD"], h.env["MODELARTS_DOMAIN"] = "bot-user", "iam-secret-password", "acme"
	nb := h.sim.AddRunning("iam-nb", 3*time.Hour)
	h.start()
	before := stopOf(t, h.sim, nb.ID)
	if resp := h.command(alice, chML, "extend iam-nb 1h"); resp.ResponseType != "in_channel" {
		t.Fatalf("extend with IAM auth: %q", resp.Text)
	}
	if !near(stopOf(t, h.sim, nb.ID), before.Add(time.Hour), 2*time.Second) {
		t.Error("the stop time did not move")
	}
	if n := h.sim.Count(simulator.RouteToken); n != 1 {
		t.Errorf("want one token request (then cached), got %d", n)
	}
	if strings.Contains(h.stderr.String(), "iam-secret-password") {
		t.Error("the IAM password was logged")
	}
}

func TestWarningToAChannelTheBotIsNotInIsNotRetriedForever(t *testing.T) {
	h := newHarness(t, harnessOptions{defaults: strings.Replace(warnDefaults, "5s", "1s", 1), noStart: true})
	h.sim.AddRunning("lonely", 20*time.Minute)
	h.slack.FailMethod("chat.postMessage", "not_in_channel", 100)
	h.start()
	time.Sleep(3500 * time.Millisecond) // three more cycles
	if n := h.slack.Calls("chat.postMessage"); n != 1 {
		t.Errorf("chat.postMessage called %d times for a channel the bot is not in, want 1", n)
	}
	if !strings.Contains(h.stderr.String(), "is the bot a member") {
		t.Error("the operator was not told why the warning failed")
	}
}

// A wrong endpoint answers with the API gateway's 404 (APIG.0101): check
// calls it a configuration error, and a command says leasebot is
// misconfigured, not that the notebook does not exist. An endpoint with a
// path is refused by the config, with its line.
func TestWrongEndpointIsAConfigurationError(t *testing.T) {
	h := newHarness(t, harnessOptions{noStart: true})
	data, _ := os.ReadFile(h.config)
	i := strings.Index(string(data), "  endpoint: ")
	j := i + strings.Index(string(data[i:]), "\n")
	line := strings.Count(string(data[:i]), "\n") + 1

	withPath := string(data[:j]) + "/wrong-prefix" + string(data[j:])
	os.WriteFile(h.config, []byte(withPath), 0o600)
	var out, errOut syncBuffer
	code := run(context.Background(), []string{"check", "-config", h.config}, nil, &out, &errOut, func(k string) string { return h.env[k] })
	all := out.String() + errOut.String()
	if want := fmt.Sprintf("leasebot.yml:%d: endpoint in modelarts must have no path", line); code != exitFail || !strings.Contains(all, want) {
		t.Errorf("check of an endpoint with a path: exit %d, want %q in\n%s", code, want, all)
	}

	// A host where no ModelArts API is published.
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error_code":"APIG.0101","error_msg":"The API does not exist or has not been published in the environment."}`))
	}))
	defer gw.Close()
	wrong := string(data[:i]) + "  endpoint: " + gw.URL + string(data[j:])
	os.WriteFile(h.config, []byte(wrong), 0o600)
	var out2 syncBuffer
	code = run(context.Background(), []string{"check", "-config", h.config}, nil, &out2, &syncBuffer{}, func(k string) string { return h.env[k] })
	if code != exitFail || !strings.Contains(out2.String(), "modelarts: ERROR") || !strings.Contains(out2.String(), "configuration error") {
		t.Errorf("check against a wrong endpoint: exit %d\n%s", code, out2.String())
	}
	h.start()
	r := h.command(alice, chML, "extend 00000000-0000-4000-8000-000000000000 1h")
	if !strings.Contains(r.Text, "misconfigured") || strings.Contains(r.Text, "No such notebook") {
		t.Errorf("a command against a wrong endpoint: %q", r.Text)
	}
}
