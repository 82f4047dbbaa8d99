// Command leasebench runs every benchmark side by side in one
// process and prints the table kept in bench/README.md (Markdown, on
// stdout; progress on stderr):
//
//	go run ./bench/cmd/leasebench > /tmp/table.md
//
// It builds leasebot, bench/floor and bench/variant as released, then
// measures start-up and size, ack latency against the floor, reply latency
// with 50 commands in flight, a burst of 1 000 commands, and the watcher
// cycle at 10 000 notebooks and 200 channels (also re-running
// BenchmarkWatcherCycle of ./bot). With -whatif (the default) it adds rows
// for the changes it recommends. -short runs everything small, in about 15
// seconds. -watcher-profile FILE also profiles the watcher in a real process.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/leasebot/leasebot/bench"
)

type options struct {
	short                 bool
	historyRows           int
	historyCmds, quiet    int
	replicas              int
	redeliver             float64
	before                string
	whatif                bool
	acks                  int
	replies, inflight     int
	latency               time.Duration
	burst                 int
	burstOver             time.Duration
	notebooks, channels   int
	cycles, startups      int
	botBenchtime, profile string
}

func main() {
	var o options
	flag.BoolVar(&o.short, "short", false, "small sizes everywhere (a smoke run, not for the table)")
	flag.BoolVar(&o.whatif, "whatif", true, "also measure the recommended changes (bench/variant, GOEXPERIMENT=jsonv2, GOGC)")
	flag.IntVar(&o.acks, "acks", 2000, "figure 1: commands per client")
	flag.IntVar(&o.replies, "replies", 500, "figure 2: commands measured")
	flag.IntVar(&o.inflight, "inflight", 50, "figure 2: commands in flight")
	flag.DurationVar(&o.latency, "latency", bench.DefaultLatency, "figures 2, 3: mean simulated ModelArts time per call")
	flag.IntVar(&o.burst, "burst", 1000, "figure 3: commands")
	flag.DurationVar(&o.burstOver, "burst-over", 10*time.Second, "figure 3: spread over")
	flag.IntVar(&o.notebooks, "notebooks", 10000, "figure 4: running notebooks")
	flag.IntVar(&o.channels, "channels", 200, "figure 4: channels")
	flag.IntVar(&o.cycles, "cycles", 3, "figure 4: steady cycles measured")
	flag.IntVar(&o.startups, "startups", 10, "figure 5: start-ups per binary")
	flag.StringVar(&o.botBenchtime, "bot-benchtime", "5x", "figure 4: -benchtime for ./bot's BenchmarkWatcherCycle")
	flag.IntVar(&o.historyRows, "history-rows", 1_000_000, "figure 7: history entries seeded into the SQLite store")
	flag.IntVar(&o.historyCmds, "history-commands", 200, "figure 7: commands of each kind measured")
	flag.IntVar(&o.quiet, "history-quiet", 20, "figure 7: commands in a channel whose notebooks have no history")
	flag.IntVar(&o.replicas, "replicas", 3, "figure 9: leasebot replicas on one PostgreSQL schema")
	flag.Float64Var(&o.redeliver, "redeliver", 0.05, "figure 9: fraction of the burst redelivered on another connection")
	flag.StringVar(&o.before, "before", "d057824", "figure 2: also measure leasebot built from this commit, the last before the core used the store (empty: skip)")
	flag.StringVar(&o.profile, "watcher-profile", "", "figure 4: also run the watcher in bench/variant (leasebot's wiring) with -cpuprofile FILE, for `go tool pprof FILE`")
	flag.Parse()
	if o.short {
		o.acks, o.replies, o.inflight, o.burst, o.burstOver = 30, 40, 10, 50, time.Second
		o.notebooks, o.cycles, o.startups, o.botBenchtime = 1000, 1, 3, "1x"
		o.historyRows, o.historyCmds, o.quiet = 20_000, 20, 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "leasebench:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

type row struct{ fig, what, goal, measured, ratio, verdict string }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func run(ctx context.Context, o options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "leasebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	progress("building leasebot, bench/floor, bench/variant (release flags)")
	bins, err := bench.Build(dir, true)
	if err != nil {
		return err
	}
	var v2 *bench.Binaries
	if o.whatif {
		progress("building leasebot with GOEXPERIMENT=jsonv2 (what-if)")
		if err := os.Mkdir(dir+"/jsonv2", 0o755); err != nil {
			return err
		}
		if v2, err = bench.Build(dir+"/jsonv2", true, "GOEXPERIMENT=jsonv2"); err != nil {
			return err
		}
	}
	var rows []row
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
	started := time.Now()

	// 5 first, on a quiet machine.
	progress("5. start-up, %d runs each", o.startups)
	st, err := bench.Startup(ctx, bins, dir, o.startups)
	if err != nil {
		return err
	}

	variants := [][]string{{"-adapter"}, {"-work", "200us"}, {"-work", "200us", "-yield"}}
	labels := []string{
		"— leasebot's Slack adapter alone (`floor -adapter`: bot/slackchat, core answers at once)",
		"— floor that hands 200 µs of CPU work to a worker after each ack (`floor -work 200us`)",
		"— the same with runtime.Gosched() between ack and hand-off (`floor -work 200us -yield`)",
	}
	progress("1. ack latency, %d commands each to leasebot, the floor and %d floor variants", o.acks, len(variants))
	ack, err := bench.AckLatency(ctx, bins, dir, o.acks, variants...)
	if err != nil {
		return err
	}
	p99ratio := float64(ack.Leasebot.P(0.99)) / float64(ack.Floor.P(0.99))
	rows = append(rows,
		row{"1", fmt.Sprintf("Ack latency p50 / p90 / p99, idle, %d commands per client, in rotation", o.acks), "p99 ≤ 1.5× floor",
			fmt.Sprintf("leasebot %s; floor (bare slack-go) %s", ack.Leasebot.PPP(), ack.Floor.PPP()),
			ratios(ack.Leasebot, ack.Floor), verdict(p99ratio <= 1.5)},
		row{"1", "Reply latency p50 / p99, idle: envelope sent → response_url post received", "–",
			fmt.Sprintf("%s; leasebot's own share %s", ack.Reply.PP(), ack.Own.PP()), "–", "–"},
	)
	for k, d := range ack.Variants {
		rows = append(rows[:len(rows)-1], row{"1", labels[k], "–", d.PPP(), ratios(d, ack.Floor) + " of floor", "diagnostic"}, rows[len(rows)-1])
	}

	progress("2. reply latency, %d commands, %d in flight, ModelArts ~%v per call", o.replies, o.inflight, o.latency)
	replyRow := func(label string, r *bench.ReplyResult) row {
		ok := r.Own.P(0.5) < 2*time.Millisecond && r.Own.P(0.99) < 10*time.Millisecond
		note("Figure 2, %s: %d commands at %.0f/s; end to end %s, of which in the simulator %s; own share %s = "+
			"intake (envelope → first ModelArts request) %s + between the two calls %s + tail (renew answered → reply received) %s; "+
			"ack under this load %s; bot CPU %s per command; %.2f new ModelArts connections per command.%s",
			r.Bot, r.N, r.Rate, r.E2E.PP(), r.Fake.PP(), r.Own.PP(), r.Intake.PP(), r.Between.PP(), r.Tail.PP(), r.Ack.PP(), bench.Ms(r.CPU), r.Conns, storeNote(r))
		return row{"2", label, "own share < 2 ms p50, < 10 ms p99", fmt.Sprintf("%s (end to end %s)", r.Own.PP(), r.E2E.PP()),
			fmt.Sprintf("%s of goal p50, %s p99", bench.Ratio(r.Own.P(0.5), 2*time.Millisecond), bench.Ratio(r.Own.P(0.99), 10*time.Millisecond)), verdict(ok)}
	}
	rep, err := bench.ReplyLatency(ctx, bench.Fleet{Bot: bins.LeasebotBot()}, dir, o.replies, o.inflight, o.latency)
	if err != nil {
		return err
	}
	rows = append(rows, replyRow(fmt.Sprintf("Reply latency, leasebot's own share p50 / p99, %d in flight, ModelArts ~%v per call", o.inflight, o.latency), rep))
	if o.whatif {
		for _, w := range []struct {
			label             string
			workers, idleConn int
		}{
			{"— what-if: adapter pool 64 workers (`variant -workers 64 -idle-conns 8`)", 64, 8},
			{"— what-if: adapter pool 64 workers, lease client 64 idle connections per host (`variant -workers 64 -idle-conns 64`)", 64, 64},
		} {
			bot := bins.VariantBot(w.workers, w.idleConn)
			progress("2'. what-if: %s", bot.Name)
			r, err := bench.ReplyLatency(ctx, bench.Fleet{Bot: bot}, dir, o.replies, o.inflight, o.latency)
			if err != nil {
				return err
			}
			rows = append(rows, replyRow(w.label, r))
		}
	}

	if o.before != "" {
		progress("2. before the store: building leasebot at %s", o.before)
		bin, err := bench.BuildAt(dir, o.before)
		if err != nil {
			return err
		}
		bot := bench.Bot{Name: "leasebot at " + o.before + " (before the store)", Bin: bin, Args: []string{"run"}}
		progress("2. before the store: %s", bot.Name)
		r, err := bench.ReplyLatency(ctx, bench.Fleet{Bot: bot}, dir, o.replies, o.inflight, o.latency)
		if err != nil {
			return err
		}
		rw := replyRow(fmt.Sprintf("— before the store, same run: leasebot built at %s, the last commit before the core used the store (warnings in memory, no claims, no history)", o.before), r)
		rw.ratio = fmt.Sprintf("with the store: p50 %s, p99 %s of this; CPU per command %s of this", bench.Ratio(rep.Own.P(0.5), r.Own.P(0.5)), bench.Ratio(rep.Own.P(0.99), r.Own.P(0.99)), bench.Ratio(rep.CPU, r.CPU))
		rw.verdict = "comparison"
		rows = append(rows, rw)
	}

	progress("3. burst: %d commands over %v", o.burst, o.burstOver)
	bu, err := bench.Burst(ctx, bench.Fleet{Bot: bins.LeasebotBot()}, dir, o.burst, o.burstOver, o.latency, 0)
	if err != nil {
		return err
	}
	rows = append(rows, row{"3", fmt.Sprintf("Burst: %d slash commands over %v (sent in %v), ModelArts ~%v per call", bu.N, bu.Over, bu.SendSpan.Round(time.Millisecond), bu.Latency),
		"every one acked ≤ 3 s, answered, none twice",
		fmt.Sprintf("acked once within 3 s: %d/%d (ack p50 / p99 / max %s / %s / %s); answered exactly once: %d/%d, with the extension: %d; Socket Mode violations: 0; reply p50 / p99 %s",
			bu.AckedIn3s, bu.N, bench.Ms(bu.Ack.P(0.5)), bench.Ms(bu.Ack.P(0.99)), bench.Ms(bu.Ack.Max()), bu.Answered, bu.N, bu.Extended, bu.Reply.PP()),
		fmt.Sprintf("max ack %s of 3 s", bench.Ratio(bu.Ack.Max(), 3*time.Second)), verdict(bu.AckedIn3s == bu.N && bu.Answered == bu.N)})

	pgBase := os.Getenv(bench.PostgresVar)
	pgVersion := ""
	if pgBase != "" {
		if pgVersion, err = bench.PostgresVersion(ctx, pgBase); err != nil {
			return err
		}
	}
	// onPostgres runs f on a fresh schema, dropped afterwards.
	onPostgres := func(f func(url string) error) error {
		s, err := bench.NewSchema(ctx, pgBase)
		if err != nil {
			return err
		}
		return errors.Join(f(s.URL), s.Drop())
	}
	goal2 := "own share < 2 ms p50, < 10 ms p99"
	rows = append(rows, row{"6", fmt.Sprintf("Store: extend, leasebot's own share p50 / p99, %d in flight, SQLite (the default; figure 2's run)", o.inflight), goal2,
		fmt.Sprintf("%s (end to end %s)", rep.Own.PP(), rep.E2E.PP()),
		fmt.Sprintf("%s of goal p50, %s p99", bench.Ratio(rep.Own.P(0.5), 2*time.Millisecond), bench.Ratio(rep.Own.P(0.99), 10*time.Millisecond)),
		verdict(rep.Own.P(0.5) < 2*time.Millisecond && rep.Own.P(0.99) < 10*time.Millisecond)})
	var pgRep *bench.ReplyResult
	if pgBase == "" {
		rows = append(rows, row{"6", "— the same on PostgreSQL", "–", bench.PostgresSkip, "–", "–"})
	} else {
		progress("6. store: reply latency on %s, %d commands, %d in flight", pgVersion, o.replies, o.inflight)
		if err := onPostgres(func(url string) (err error) {
			pgRep, err = bench.ReplyLatency(ctx, bench.Fleet{Bot: bins.LeasebotBot(), DatabaseURL: url}, dir, o.replies, o.inflight, o.latency)
			return err
		}); err != nil {
			return err
		}
		note("Figure 6, %s (%s, same machine, over loopback TCP): %d commands at %.0f/s; end to end %s; own share %s = intake %s + between the two calls %s + tail %s; ack under this load %s; bot CPU %s per command.%s",
			pgRep.Bot, pgVersion, pgRep.N, pgRep.Rate, pgRep.E2E.PP(), pgRep.Own.PP(), pgRep.Intake.PP(), pgRep.Between.PP(), pgRep.Tail.PP(), pgRep.Ack.PP(), bench.Ms(pgRep.CPU), storeNote(pgRep))
		rows = append(rows, row{"6", fmt.Sprintf("— the same on PostgreSQL (%s on this machine, LEASEBOT_DATABASE_URL)", pgVersion), "–",
			fmt.Sprintf("%s (end to end %s); bot CPU %s per command (SQLite %s)", pgRep.Own.PP(), pgRep.E2E.PP(), bench.Ms(pgRep.CPU), bench.Ms(rep.CPU)),
			fmt.Sprintf("p50 %s, p99 %s of SQLite", bench.Ratio(pgRep.Own.P(0.5), rep.Own.P(0.5)), bench.Ratio(pgRep.Own.P(0.99), rep.Own.P(0.99))), "–"})
	}

	progress("7. /notebook history: seeding %d entries, %d commands of each kind", o.historyRows, o.historyCmds)
	hi, err := bench.HistoryLatency(ctx, bins, dir, o.historyRows, 100, o.historyCmds, o.quiet)
	if err != nil {
		return err
	}
	hiP99 := max(hi.Channel.P(0.99), hi.Notebook.P(0.99))
	rows = append(rows,
		row{"7", fmt.Sprintf("`/notebook history`, SQLite store of %s entries over %d notebooks: envelope sent → reply, p50 / p99", thousands(hi.Rows), hi.Notebooks), "< 20 ms p99",
			fmt.Sprintf("`history` in a `\"*\"` channel %s; `history <notebook>` %s (own share %s)", hi.Channel.PP(), hi.Notebook.PP(), hi.NotebookOwn.PP()),
			bench.Ratio(hiP99, 20*time.Millisecond), verdict(hiP99 < 20*time.Millisecond)},
		row{"7", "— `history` in a channel none of whose notebooks has an entry (the most a channel's `history` reads: the newest 200 entries, then the history's notebooks by an index walk, none of them this channel's)", "< 20 ms p99",
			fmt.Sprintf("%s (%d commands)", hi.Quiet.PP(), hi.QuietN), bench.Ratio(hi.Quiet.P(0.99), 20*time.Millisecond), verdict(hi.Quiet.P(0.99) < 20*time.Millisecond)},
	)
	note("Figure 7: the store file was seeded with %s entries in %s (store.Open for the schema, then one INSERT … SELECT), before leasebot started on it.", thousands(hi.Rows), bench.Ms(hi.Seed))

	if pgBase == "" {
		rows = append(rows, row{"9", fmt.Sprintf("Replicas: %d leasebot processes on one PostgreSQL schema", o.replicas), "–", bench.PostgresSkip, "–", "–"})
	} else {
		fleet := bench.Fleet{Bot: bins.LeasebotBot(), Replicas: o.replicas}
		progress("9. replicas: %d processes on PostgreSQL, burst of %d commands over %v, %.0f%% redelivered", o.replicas, o.burst, o.burstOver, 100*o.redeliver)
		var rb *bench.BurstResult
		if err := onPostgres(func(url string) (err error) {
			fleet.DatabaseURL = url
			rb, err = bench.Burst(ctx, fleet, dir, o.burst, o.burstOver, o.latency, o.redeliver)
			return err
		}); err != nil {
			return err
		}
		progress("9. replicas: reply latency, %d in flight across %d processes", o.inflight, o.replicas)
		var rr *bench.ReplyResult
		if err := onPostgres(func(url string) (err error) {
			fleet.DatabaseURL = url
			rr, err = bench.ReplyLatency(ctx, fleet, dir, o.replies, o.inflight, o.latency)
			return err
		}); err != nil {
			return err
		}
		ok := rb.AckedIn3s == rb.N && rb.Answered == rb.N && rb.Once == rb.N
		rows = append(rows,
			row{"9", fmt.Sprintf("Replicas: %d leasebot processes on one PostgreSQL schema, one Socket Mode connection each; %d `extend` over %v, %d redelivered on another connection",
				o.replicas, rb.N, rb.Over, rb.Redelivered), "every delivery acked ≤ 3 s; each command answered once and carried out once",
				fmt.Sprintf("acked within 3 s (every delivery): %d/%d; answered exactly once: %d/%d; carried out exactly once (one renew per notebook): %d/%d (%d renews); deliveries per connection %s; ack p50 / p99 / max %s / %s / %s; reply p50 / p99 %s",
					rb.AckedIn3s, rb.N, rb.Answered, rb.N, rb.Once, rb.N, rb.Renewed, intList(rb.PerConn), bench.Ms(rb.Ack.P(0.5)), bench.Ms(rb.Ack.P(0.99)), bench.Ms(rb.Ack.Max()), rb.Reply.PP()),
				fmt.Sprintf("max ack %s of 3 s", bench.Ratio(rb.Ack.Max(), 3*time.Second)), verdict(ok)},
			row{"9", fmt.Sprintf("— extend, leasebot's own share p50 / p99, %d in flight across the %d replicas", o.inflight, o.replicas), "–",
				fmt.Sprintf("%s (end to end %s); CPU %s per command, all processes", rr.Own.PP(), rr.E2E.PP(), bench.Ms(rr.CPU)),
				ratioVs(rr.Own, pgRep, "one process on PostgreSQL"), "–"},
		)
		note("Figure 9, %s: %d commands at %.0f/s; own share %s = intake %s + between the two calls %s + tail %s; ack under this load %s.%s",
			rr.Bot, rr.N, rr.Rate, rr.Own.PP(), rr.Intake.PP(), rr.Between.PP(), rr.Tail.PP(), rr.Ack.PP(), storeNote(rr))
	}

	progress("4. watcher: go test -bench BenchmarkWatcherCycle ./bot/ -benchtime %s", o.botBenchtime)
	bb, err := botBench(o.botBenchtime)
	if err != nil {
		return err
	}
	progress("4. watcher: real binary, %d notebooks, %d channels, %d steady cycles", o.notebooks, o.channels, o.cycles)
	wr, err := bench.WatcherReal(ctx, bench.Fleet{Bot: bins.LeasebotBot()}, dir, o.notebooks, o.channels, o.cycles, 5*time.Second)
	if err != nil {
		return err
	}
	progress("4. watcher: in process, pre-rendered pages")
	own, err := bench.WatcherOwn(o.notebooks, o.channels, 10)
	if err != nil {
		return err
	}
	reqs := strings.Trim(strings.ReplaceAll(fmt.Sprint(wr.Requests), " ", ", "), "[]")
	reqsOK := wr.PerNotebook == 0
	for _, n := range wr.Requests {
		reqsOK = reqsOK && n == wr.Want
	}
	cpu := wr.CPU.P(0.5)
	rows = append(rows,
		row{"4", fmt.Sprintf("Watcher, %d running notebooks, %d channels: ModelArts requests per cycle", wr.Notebooks, wr.Channels),
			fmt.Sprintf("= ⌈N/50⌉ = %d", wr.Want), fmt.Sprintf("list: %s (every cycle); get/lease: %d", reqs, wr.PerNotebook), "1.00×", verdict(reqsOK)},
		row{"4", "— CPU per steady cycle, leasebot process (simulator in another process)", "< 100 ms",
			fmt.Sprintf("median %s (cycles: %s); first cycle with start-up and %d warnings %s; fetch of all pages %s (simulator-bound)",
				bench.Ms(cpu), msList(wr.CPU), wr.Warnings, bench.Ms(wr.FirstCPU), bench.Ms(wr.Fetch.P(0.5))),
			bench.Ratio(cpu, 100*time.Millisecond), verdict(cpu < 100*time.Millisecond)},
		row{"4", "— resident memory, leasebot process", "< 64 MB", fmt.Sprintf("%.1f MB (peak %.1f MB)", wr.RSS, wr.PeakRSS),
			fmt.Sprintf("%.2f×", wr.PeakRSS/64), verdict(wr.PeakRSS < 64)},
		row{"4", "— `go test -bench BenchmarkWatcherCycle ./bot/` (in process, simulator included)", "–",
			fmt.Sprintf("%s ms/op, %s requests/cycle, %s MB/op, %s allocs/op, heap %s MB, RSS %s MB (test process)",
				num(bb["ns/op"]/1e6, 1), num(bb["requests/cycle"], 0), num(bb["B/op"]/(1<<20), 1), num(bb["allocs/op"], 0), num(bb["heap-MB"], 1), num(bb["rss-MB"], 1)), "–", "reference"},
		row{"4", "— bot alone, in process, pages pre-rendered (no HTTP, no simulator)", "–",
			fmt.Sprintf("CPU %s, wall %s, %d allocs, %.1f MB allocated per cycle", bench.Ms(own.CPU), bench.Ms(own.Wall), own.Allocs, float64(own.Bytes)/(1<<20)),
			bench.Ratio(own.CPU, 100*time.Millisecond), "diagnostic"},
	)
	note("Figure 4, where a cycle goes (bot alone, in process, %d notebooks, %.1f MB of listing JSON per cycle): "+
		"encoding/json decoding of the pages into lease.Notebook %s (into only id/name/status/lease/tags: %s); "+
		"access.Index.Channels for every running notebook %s, of which the %d notebooks inside the largest warn_before need %s; the rest (thresholds, warning state, GC) %s.",
		own.Notebooks, float64(own.PageBytes)/(1<<20), bench.Ms(own.Decode), bench.Ms(own.DecodeSlim), bench.Ms(own.Match), own.Near, bench.Ms(own.MatchNear),
		bench.Ms(max(0, own.CPU-own.Decode-own.Match)))
	if o.whatif {
		progress("4'. what-if: GOEXPERIMENT=jsonv2 build, GOGC=400")
		bench.ExtraEnv = []string{"GOGC=400"}
		w2, err := bench.WatcherReal(ctx, bench.Fleet{Bot: v2.LeasebotBot()}, dir, o.notebooks, o.channels, o.cycles, 5*time.Second)
		bench.ExtraEnv = nil
		if err != nil {
			return err
		}
		c2 := w2.CPU.P(0.5)
		rows = append(rows, row{"4", "— what-if: built with GOEXPERIMENT=jsonv2, run with GOGC=400", "< 100 ms, < 64 MB",
			fmt.Sprintf("median %s (cycles: %s); RSS %.1f MB (peak %.1f MB)", bench.Ms(c2), msList(w2.CPU), w2.RSS, w2.PeakRSS),
			bench.Ratio(c2, 100*time.Millisecond), verdict(c2 < 100*time.Millisecond && w2.PeakRSS < 64)})
	}

	rows = append(rows, watcherStoreRows("8", fmt.Sprintf("Watcher with the store, SQLite (figure 4's run), %d notebooks, %d channels: store operations per steady cycle", wr.Notebooks, wr.Channels), wr)...)
	if pgBase == "" {
		rows = append(rows, row{"8", "— the leader's cycle on PostgreSQL", "–", bench.PostgresSkip, "–", "–"})
	} else {
		progress("8. watcher on PostgreSQL: %d notebooks, %d channels, %d steady cycles", o.notebooks, o.channels, o.cycles)
		var wp *bench.WatcherResult
		if err := onPostgres(func(url string) (err error) {
			wp, err = bench.WatcherReal(ctx, bench.Fleet{Bot: bins.LeasebotBot(), DatabaseURL: url}, dir, o.notebooks, o.channels, o.cycles, 5*time.Second)
			return err
		}); err != nil {
			return err
		}
		c := wp.CPU.P(0.5)
		rows = append(rows,
			row{"8", fmt.Sprintf("— the leader's cycle on PostgreSQL (%s): CPU per steady cycle, leasebot process", pgVersion), "< 100 ms",
				fmt.Sprintf("median %s (cycles: %s); first cycle with start-up and %d warnings %s; RSS %.1f MB (peak %.1f MB); list requests %s",
					bench.Ms(c), msList(wp.CPU), wp.Warnings, bench.Ms(wp.FirstCPU), wp.RSS, wp.PeakRSS, strings.Trim(strings.ReplaceAll(fmt.Sprint(wp.Requests), " ", ", "), "[]")),
				fmt.Sprintf("%s; %s of SQLite", bench.Ratio(c, 100*time.Millisecond), bench.Ratio(c, cpu)), verdict(c < 100*time.Millisecond && wp.PeakRSS < 64)})
		rows = append(rows, watcherStoreRows("8", "— the same on PostgreSQL: store operations per steady cycle", wp)...)
	}

	progress("10. home view: go test -bench BenchmarkHomeView ./bot/")
	hv, err := goBench("^BenchmarkHomeView$", "", "./bot/")
	if err != nil {
		return err
	}
	sl, core := hv["BenchmarkHomeView/slack"], hv["BenchmarkHomeView/core"]
	homeOwn := time.Duration(sl["ns/op"]-sl["stub-us/op"]*1e3) * time.Nanosecond
	rows = append(rows,
		row{"10", "Home view of a person with 50 notebooks (of 1 000), listing warm: leasebot's own time to build and publish (`BenchmarkHomeView/slack`: Handle → Block Kit → views.publish to an in-process stub, minus the stub's handler)", "< 5 ms",
			fmt.Sprintf("%s per view (%s ns/op, of which the stub %s µs); %s allocs, %s kB allocated; view %s kB", bench.Ms(homeOwn), num(sl["ns/op"], 0), num(sl["stub-us/op"], 1),
				num(sl["allocs/op"], 0), num(sl["B/op"]/1024, 0), num(sl["view-bytes/op"]/1024, 1)),
			bench.Ratio(homeOwn, 5*time.Millisecond), verdict(homeOwn < 5*time.Millisecond)},
		row{"10", "— the core alone (`BenchmarkHomeView/core`: the delivery claimed, the opened home recorded, the notebooks picked and described; no rendering)", "–",
			fmt.Sprintf("%s ns/op, %s allocs, %s kB allocated", num(core["ns/op"], 0), num(core["allocs/op"], 0), num(core["B/op"]/1024, 0)),
			fmt.Sprintf("%.2f× of the whole", core["ns/op"]/sl["ns/op"]), "diagnostic"},
	)

	if o.profile != "" {
		bot := bins.VariantBot(16, 8)
		bot.Args = append(bot.Args, "-cpuprofile", o.profile)
		progress("4. watcher CPU profile of %s → %s", bot.Name, o.profile)
		if _, err := bench.WatcherReal(ctx, bench.Fleet{Bot: bot}, dir, o.notebooks, o.channels, o.cycles, 5*time.Second); err != nil {
			return err
		}
	}

	rows = append(rows,
		row{"5", fmt.Sprintf("Start-up: process start → hello on the Socket Mode socket, median (max) of %d", st.Runs), "–",
			fmt.Sprintf("leasebot %s (%s); floor %s (%s)", bench.Ms(st.Leasebot.P(0.5)), bench.Ms(st.Leasebot.Max()), bench.Ms(st.Floor.P(0.5)), bench.Ms(st.Floor.Max())),
			bench.Ratio(st.Leasebot.P(0.5), st.Floor.P(0.5)), "–"},
		row{"5", "Binary size, `CGO_ENABLED=0 go build -trimpath -ldflags \"-s -w\"`", "–",
			fmt.Sprintf("leasebot %.1f MB; floor %.1f MB", float64(st.LeasebotSize)/(1<<20), float64(st.FloorSize)/(1<<20)),
			fmt.Sprintf("%.2f×", float64(st.LeasebotSize)/float64(st.FloorSize)), "–"},
	)

	host, _ := os.Hostname()
	fmt.Fprintf(out, "Run of %s on %s (%d CPUs, %s, %s), %s, load average before: %s.\n\n",
		started.UTC().Format("2006-01-02 15:04 UTC"), host, runtime.NumCPU(), runtime.Version(), runtime.GOARCH,
		time.Since(started).Round(time.Second), loadavg())
	sort.SliceStable(rows, func(i, j int) bool {
		a, _ := strconv.Atoi(rows[i].fig)
		b, _ := strconv.Atoi(rows[j].fig)
		return a < b
	})
	fmt.Fprintln(out, "| # | Figure | Goal | Measured | Ratio | Verdict |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s |\n", r.fig, r.what, r.goal, r.measured, r.ratio, r.verdict)
	}
	fmt.Fprintln(out)
	for _, n := range notes {
		fmt.Fprintf(out, "- %s\n", n)
	}
	return nil
}

// ratios formats a/b at p50, p90 and p99.
func ratios(a, b bench.Dist) string {
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s", bench.Ratio(a.P(0.5), b.P(0.5)), bench.Ratio(a.P(0.9), b.P(0.9)), bench.Ratio(a.P(0.99), b.P(0.99)))
}

func msList(d bench.Dist) string {
	var s []string
	for _, x := range d {
		s = append(s, bench.Ms(x))
	}
	return strings.Join(s, ", ")
}

func num(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// botBench runs ./bot's BenchmarkWatcherCycle and returns its metrics by unit.
func botBench(benchtime string) (map[string]float64, error) {
	m, err := goBench("^BenchmarkWatcherCycle$", benchtime, "./bot/")
	if err != nil {
		return nil, err
	}
	return m["BenchmarkWatcherCycle"], nil
}

// goBench runs `go test -run '^$' -bench pattern [-benchtime t] pkg` in
// leasebot's module and returns each benchmark's metrics by unit, keyed by
// its name without the -GOMAXPROCS suffix.
func goBench(pattern, benchtime, pkg string) (map[string]map[string]float64, error) {
	root, err := bench.ModuleRoot()
	if err != nil {
		return nil, err
	}
	args := []string{"test", "-run", "^$", "-bench", pattern}
	if benchtime != "" {
		args = append(args, "-benchtime", benchtime)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, outb)
	}
	res := map[string]map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(outb)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		res[name] = m
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no benchmark line in:\n%s", outb)
	}
	return res, nil
}

// watcherStoreRows describes the store operations of r's steady cycles:
// reads and writes by operation, leadership apart, and whether cycles
// that changed nothing in the chat wrote nothing.
func watcherStoreRows(fig, what string, r *bench.WatcherResult) []row {
	if len(r.Ops) == 0 {
		return []row{{fig, what, "–", "no steady cycle measured", "–", "–"}}
	}
	var per []string
	quiet, quietWrites := 0, 0.0
	for j, ops := range r.Ops {
		var names []string
		for op := range ops {
			names = append(names, op)
		}
		sort.Strings(names)
		var parts []string
		for _, op := range names {
			kind := "read"
			switch {
			case bench.Leadership[op]:
				kind = "leadership"
			case bench.Writes[op]:
				kind = "write"
			}
			parts = append(parts, fmt.Sprintf("%s %s×%s", op, num(ops[op], 0), map[string]string{"read": "", "write": " (write)", "leadership": " (leadership)"}[kind]))
		}
		per = append(per, fmt.Sprintf("cycle %d (%d chat changes): %s", j+1, r.Changes[j], strings.Join(parts, ", ")))
		if r.Changes[j] == 0 {
			quiet++
			quietWrites += bench.StoreWrites(ops)
		}
	}
	return []row{{fig, what, "a steady cycle that changes nothing writes nothing",
		strings.Join(per, "; ") + fmt.Sprintf("; writes in the %d cycles without a change: %s", quiet, num(quietWrites, 0)),
		"–", verdict(quiet > 0 && quietWrites == 0)}}
}

// storeNote is " Store operations per command: …" for a reply run that
// has them.
func storeNote(r *bench.ReplyResult) string {
	if r.Store == "" {
		return ""
	}
	return " Store operations per command (count, mean time including any wait): " + r.Store + "."
}

// intList formats numbers as "a, b, c".
func intList(xs []int) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ", ")
}

// thousands formats n with spaces between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// ratioVs is d's p50 and p99 as ratios of base's own share, or "–".
func ratioVs(d bench.Dist, base *bench.ReplyResult, label string) string {
	if base == nil {
		return "–"
	}
	return fmt.Sprintf("p50 %s, p99 %s of %s", bench.Ratio(d.P(0.5), base.Own.P(0.5)), bench.Ratio(d.P(0.99), base.Own.P(0.99)), label)
}
