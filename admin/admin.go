// Package admin serves leasebot's optional admin listener: /healthz for
// orchestrators and /metrics in the Prometheus text format.
package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics counts what leasebot does. It implements bot.Observer,
// slackchat.Observer and, with ModelArts, the lease client's Observe hook.
type Metrics struct {
	reg          *prometheus.Registry
	commands     *prometheus.CounterVec
	clicks       *prometheus.CounterVec
	maRequests   *prometheus.CounterVec
	maLatency    *prometheus.HistogramVec
	reconnects   prometheus.Counter
	connected    prometheus.Gauge
	warnings     prometheus.Counter
	queueDepth   prometheus.Gauge
	leader       prometheus.Gauge
	storeOps     *prometheus.CounterVec
	storeErrors  *prometheus.CounterVec
	storeLatency *prometheus.HistogramVec
	leading      atomic.Bool
	lastAnswer   atomic.Int64 // unix nanos of ModelArts' last answer
	lastStatus   atomic.Int64 // HTTP status of that answer
	slackUp      atomic.Bool
}

// NewMetrics registers leasebot's metrics, with the Go and process collectors,
// on a registry of its own.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leasebot_commands_total", Help: "Slash commands by verb and outcome."}, []string{"verb", "outcome"})
	m.clicks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leasebot_clicks_total", Help: "Warning button clicks by action and outcome."}, []string{"action", "outcome"})
	m.maRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leasebot_modelarts_requests_total", Help: "ModelArts HTTP attempts by call and status (0: network error)."}, []string{"call", "status"})
	m.maLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "leasebot_modelarts_request_duration_seconds", Help: "ModelArts HTTP attempt latency by call.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"call"})
	m.reconnects = prometheus.NewCounter(prometheus.CounterOpts{Name: "leasebot_slack_reconnects_total", Help: "Socket Mode connections after the first."})
	m.connected = prometheus.NewGauge(prometheus.GaugeOpts{Name: "leasebot_slack_connected", Help: "1 while the Socket Mode connection is up."})
	m.warnings = prometheus.NewCounter(prometheus.CounterOpts{Name: "leasebot_warnings_posted_total", Help: "Expiry warnings posted."})
	m.queueDepth = prometheus.NewGauge(prometheus.GaugeOpts{Name: "leasebot_pool_queue_depth", Help: "Commands and clicks waiting for a worker."})
	m.leader = prometheus.NewGauge(prometheus.GaugeOpts{Name: "leasebot_leader", Help: "1 while this replica leads: it polls, warns, renews keeps and expires approvals."})
	m.storeOps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leasebot_store_operations_total", Help: "Store operations by operation."}, []string{"op"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leasebot_store_errors_total", Help: "Store operations that failed, by operation."}, []string{"op"})
	m.storeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "leasebot_store_operation_duration_seconds", Help: "Store operation latency by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"op"})
	for _, c := range []prometheus.Collector{m.commands, m.clicks, m.maRequests, m.maLatency, m.reconnects, m.connected, m.warnings, m.queueDepth,
		m.leader, m.storeOps, m.storeErrors, m.storeLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// Command counts a slash command (bot.Observer).
func (m *Metrics) Command(verb, outcome string) { m.commands.WithLabelValues(verb, outcome).Inc() }

// Click counts a button click (bot.Observer).
func (m *Metrics) Click(action, outcome string) { m.clicks.WithLabelValues(action, outcome).Inc() }

// WarningPosted counts a posted warning (bot.Observer).
func (m *Metrics) WarningPosted() { m.warnings.Inc() }

// Connected records a Socket Mode connection (slackchat.Observer).
func (m *Metrics) Connected(count int) {
	if count > 1 {
		m.reconnects.Inc()
	}
	m.connected.Set(1)
	m.slackUp.Store(true)
}

// Disconnected records a lost connection (slackchat.Observer).
func (m *Metrics) Disconnected() {
	m.connected.Set(0)
	m.slackUp.Store(false)
}

// QueueDepth records the worker pool's queue (slackchat.Observer).
func (m *Metrics) QueueDepth(n int) { m.queueDepth.Set(float64(n)) }

// Leader records whether this replica leads (bot.Leader's OnChange hook).
func (m *Metrics) Leader(leading bool) {
	m.leading.Store(leading)
	if leading {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// Store records one store operation (the store's Observe hook).
func (m *Metrics) Store(op string, err error, took time.Duration) {
	m.storeOps.WithLabelValues(op).Inc()
	if err != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
	m.storeLatency.WithLabelValues(op).Observe(took.Seconds())
}

// ModelArts records one HTTP attempt (the lease client's Observe hook).
func (m *Metrics) ModelArts(call string, status int, took time.Duration) {
	m.maRequests.WithLabelValues(call, strconv.Itoa(status)).Inc()
	m.maLatency.WithLabelValues(call).Observe(took.Seconds())
	if status != 0 && status < 500 && status != http.StatusTooManyRequests {
		m.lastAnswer.Store(time.Now().UnixNano())
		m.lastStatus.Store(int64(status))
	}
}

// Health says whether leasebot can do its job.
type Health struct {
	Metrics *Metrics
	// MaxSilence is how long ModelArts may go without answering the
	// leader; default 5m. Followers do not poll, so it applies to the
	// leader only.
	MaxSilence time.Duration
	// Store, if set, checks the store (a short ping); Where names it.
	Store func(ctx context.Context) error
	Where string
}

// Role is "leader" or "follower".
func (h Health) Role() string {
	if h.Metrics.leading.Load() {
		return "leader"
	}
	return "follower"
}

// Check returns nil when healthy, else the reasons.
func (h Health) Check(ctx context.Context, now time.Time) error {
	var why []string
	if !h.Metrics.slackUp.Load() {
		why = append(why, "slack: Socket Mode connection is down")
	}
	if h.Store != nil {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := h.Store(sctx)
		cancel()
		if err != nil {
			why = append(why, "store: unreachable ("+h.Where+")")
		}
	}
	max := h.MaxSilence
	if max <= 0 {
		max = 5 * time.Minute
	}
	last := h.Metrics.lastAnswer.Load()
	switch {
	case h.Metrics.lastStatus.Load() == http.StatusUnauthorized || h.Metrics.lastStatus.Load() == http.StatusForbidden:
		why = append(why, "modelarts: the bot's credentials were refused")
	case !h.Metrics.leading.Load():
		// A follower does not poll: ModelArts' silence says nothing about it.
	case last == 0:
		why = append(why, "modelarts: no answer yet")
	case now.Sub(time.Unix(0, last)) > max:
		why = append(why, fmt.Sprintf("modelarts: no answer for %s", now.Sub(time.Unix(0, last)).Round(time.Second)))
	}
	if len(why) > 0 {
		return fmt.Errorf("%s", strings.Join(why, "; "))
	}
	return nil
}

// Handler serves /healthz and /metrics.
func Handler(m *Metrics, h Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		role := h.Role()
		store := ""
		if h.Store != nil {
			store = "store: " + h.Where
		}
		if err := h.Check(r.Context(), time.Now()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "unhealthy:", err)
			fmt.Fprintln(w, "role:", role)
			return
		}
		fmt.Fprintln(w, "ok")
		fmt.Fprintln(w, "role:", role)
		if store != "" {
			fmt.Fprintln(w, store, "(reachable)")
		}
	})
	return mux
}

// Serve listens on addr and serves h in the background; it returns the
// server (to Close) and the address it listens on.
func Serve(addr string, h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("admin listener on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String(), nil
}
