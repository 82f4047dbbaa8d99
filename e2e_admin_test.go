package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitStatus polls url until it answers want, or fails after timeout.
func waitStatus(t *testing.T, url string, want int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := get(t, url)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %d (%q), want %d", url, code, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	h := newHarness(t, harnessOptions{noStart: true})
	nb := h.sim.AddRunning("observed", 3*time.Hour)
	addr := freeAddr(t)
	h.start("-listen", addr)
	base := "http://" + addr

	waitStatus(t, base+"/healthz", http.StatusOK, 5*time.Second)
	h.command(alice, chML, "extend "+nb.ID+" 1h")
	h.command(bob, chML, "extend "+nb.ID+" 1h")
	// The watcher's first listing may come after the commands on a busy machine.
	var code int
	var metrics string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, metrics = get(t, base+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics: %d", code)
		}
		if strings.Contains(metrics, `leasebot_modelarts_request_duration_seconds_bucket{call="list"`) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		`leasebot_commands_total{outcome="ok",verb="extend"} 1`,
		`leasebot_commands_total{outcome="refused",verb="extend"} 1`,
		`leasebot_modelarts_requests_total{call="renew",status="200"} 1`,
		`leasebot_modelarts_request_duration_seconds_bucket{call="list"`,
		`leasebot_slack_connected 1`,
		`leasebot_slack_reconnects_total 0`,
		`leasebot_warnings_posted_total 0`,
		`leasebot_pool_queue_depth`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A dropped socket is counted as a reconnect; a refused connection makes health fail.
	h.slack.FailConnectionsOpen("internal_error")
	h.slack.DropConnection()
	body := waitStatus(t, base+"/healthz", http.StatusServiceUnavailable, 10*time.Second)
	if !strings.Contains(body, "slack") {
		t.Errorf("unhealthy body %q should name Slack", body)
	}
	h.slack.FailConnectionsOpen("")
	if !h.slack.WaitConnected(2, 20*time.Second) {
		t.Fatal("no reconnection")
	}
	waitStatus(t, base+"/healthz", http.StatusOK, 5*time.Second)
	if _, m := get(t, base+"/metrics"); !strings.Contains(m, "leasebot_slack_reconnects_total 1") {
		t.Error("the reconnect was not counted")
	}
}

func TestHealthFailsWhenModelArtsRefusesTheCredentials(t *testing.T) {
	h := newHarness(t, harnessOptions{noStart: true})
	h.env["MODELARTS_SK"] = "wrong-secret-key"
	addr := freeAddr(t)
	h.start("-listen", addr)
	body := waitStatus(t, "http://"+addr+"/healthz", http.StatusServiceUnavailable, 5*time.Second)
	if !strings.Contains(body, "modelarts") {
		t.Errorf("unhealthy body %q should name ModelArts", body)
	}
	if strings.Contains(h.stderr.String(), "wrong-secret-key") {
		t.Error("the secret key was logged")
	}
}
