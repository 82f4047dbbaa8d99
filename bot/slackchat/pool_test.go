package slackchat

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leasebot/leasebot/internal/syncbuf"
)

// lockedBuffer is a buffer the test reads while the code writes to it.
type lockedBuffer = syncbuf.Buffer

// With the queue full, a flood of envelopes starts at most maxBusyReplies
// "busy" replies at once; the others are dropped, and logged.
func TestBusyRepliesAreBounded(t *testing.T) {
	var logs lockedBuffer
	a := New(Options{Queue: 1, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	a.jobs <- func(context.Context) {} // no workers run: the queue stays full
	release := make(chan struct{})
	var running, peak, replies atomic.Int32
	const flood = 20
	for range flood {
		a.enqueue(func(context.Context) { t.Error("a job was queued in a full queue") }, func(context.Context) {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			replies.Add(1)
			<-release
			running.Add(-1)
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < maxBusyReplies && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for any reply beyond the bound to start
	if p := peak.Load(); p != maxBusyReplies {
		t.Errorf("%d busy replies in flight at once, want %d", p, maxBusyReplies)
	}
	close(release)
	a.busy.Wait()
	if n := replies.Load(); n != maxBusyReplies {
		t.Errorf("%d busy replies sent, want %d", n, maxBusyReplies)
	}
	if n := strings.Count(logs.String(), "gets no answer"); n != flood-maxBusyReplies {
		t.Errorf("%d dropped replies logged, want %d:\n%s", n, flood-maxBusyReplies, logs.String())
	}

	// Once they are done, busy replies go out again.
	done := make(chan struct{})
	a.enqueue(func(context.Context) {}, func(context.Context) { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("no busy reply after the earlier ones finished")
	}
	a.busy.Wait()
}
