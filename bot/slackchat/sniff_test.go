package slackchat

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// chunkConn is a net.Conn whose reads return the given chunks, one per Read
// (cut further when the caller's buffer is smaller), then io.EOF.
type chunkConn struct {
	net.Conn // nil: only Read is used
	chunks   [][]byte
	eofLast  bool // return io.EOF together with the last bytes
}

func (c *chunkConn) Read(p []byte) (int, error) {
	for len(c.chunks) > 0 && len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if c.eofLast && len(c.chunks) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// sniff reads everything from chunks through a sniffConn with a buffer of
// bufSize, reusing (and scribbling over) the buffer between reads as bufio
// does, and returns what was read and how often onMatch ran.
func sniff(t *testing.T, chunks []string, bufSize int, eofLast bool) (string, int32) {
	t.Helper()
	cc := &chunkConn{eofLast: eofLast}
	for _, c := range chunks {
		cc.chunks = append(cc.chunks, []byte(c))
	}
	var matches atomic.Int32
	sc := &sniffConn{Conn: cc, onMatch: func() { matches.Add(1) }}
	var out bytes.Buffer
	buf := make([]byte, bufSize)
	for {
		n, err := sc.Read(buf)
		out.Write(buf[:n])
		for i := range buf {
			buf[i] = '#'
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	return out.String(), matches.Load()
}

const disconnectFrame = `{"type":"disconnect","reason":"link_disabled","debug_info":{"host":"applink-1"}}`

// frame wraps a JSON text in a server WebSocket text frame header (unmasked),
// as the sniffer sees it on the wire.
func frame(s string) string {
	if len(s) > 125 {
		panic("test frame too long")
	}
	return string([]byte{0x81, byte(len(s))}) + s
}

func TestSniffEverySplitPoint(t *testing.T) {
	userText := `{"envelope_id":"e1","type":"events_api","payload":{"event":{"text":"\"reason\":\"link_disabled\""}}}`
	tests := []struct {
		name   string
		stream string
		want   int32
	}{
		{"disconnect frame", frame(disconnectFrame), 1},
		{"after other traffic", strings.Repeat("x", 100) + frame(`{"type":"hello"}`) + frame(disconnectFrame), 1},
		{"compact field alone", `"reason":"link_disabled"`, 1},
		{"twice, reported once", frame(disconnectFrame) + frame(disconnectFrame), 1},
		{"escaped form typed by a user", userText, 0},
		{"escaped form alone", `\"reason\":\"link_disabled\"`, 0},
		{"bare word", `link_disabled`, 0},
		{"word in a message", `{"text":"why is link_disabled set?"}`, 0},
		{"other reason", frame(`{"type":"disconnect","reason":"refresh_requested"}`), 0},
		{"other reason warning", frame(`{"type":"disconnect","reason":"warning"}`), 0},
		{"longer value", `"reason":"link_disabled_not"`, 0},
		{"near miss", `"reason":"link_disable"d"`, 0},
		{"near miss across the gap", `"reason":"link_XYZdisabled"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One read.
			if out, got := sniff(t, []string{tt.stream}, 4096, false); got != tt.want || out != tt.stream {
				t.Fatalf("one read: matches = %d, want %d (passed through intact: %v)", got, tt.want, out == tt.stream)
			}
			// Two reads, split at every point.
			for i := 0; i <= len(tt.stream); i++ {
				out, got := sniff(t, []string{tt.stream[:i], tt.stream[i:]}, 4096, false)
				if got != tt.want {
					t.Fatalf("split at %d (%q | %q): matches = %d, want %d", i, tt.stream[:i], tt.stream[i:], got, tt.want)
				}
				if out != tt.stream {
					t.Fatalf("split at %d: read %q, want %q", i, out, tt.stream)
				}
			}
			// Byte by byte, and with every small buffer size.
			for size := 1; size <= len(linkDisabled)+2; size++ {
				out, got := sniff(t, []string{tt.stream}, size, false)
				if got != tt.want || out != tt.stream {
					t.Fatalf("buffer of %d: matches = %d, want %d", size, got, tt.want)
				}
			}
			// The last bytes arrive together with EOF.
			if _, got := sniff(t, []string{tt.stream}, 4096, true); got != tt.want {
				t.Fatalf("data with EOF: matches = %d, want %d", got, tt.want)
			}
		})
	}
}

// Three reads with both cuts inside the marker.
func TestSniffThreeWaySplits(t *testing.T) {
	stream := frame(disconnectFrame)
	at := strings.Index(stream, string(linkDisabled))
	for i := at; i <= at+len(linkDisabled); i++ {
		for j := i; j <= at+len(linkDisabled); j++ {
			if _, got := sniff(t, []string{stream[:i], stream[i:j], stream[j:]}, 4096, false); got != 1 {
				t.Fatalf("cuts at %d and %d: matches = %d, want 1", i, j, got)
			}
		}
	}
}

// Over a real (in-memory) connection, with a writer that sends the marker in
// pieces and a reader with a small buffer.
func TestSniffOverPipe(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   bool
	}{
		{"disconnect in pieces", []string{`{"type":"disconnect","rea`, `son":"link_`, `disab`, `led","debug_info":{}}`}, true},
		{"escaped in pieces", []string{`{"text":"\"rea`, `son\":\"link_`, `disabled\""}`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			matched := make(chan struct{}, 4)
			sc := &sniffConn{Conn: client, onMatch: func() { matched <- struct{}{} }}
			go func() {
				defer server.Close()
				for _, w := range tt.writes {
					if _, err := server.Write([]byte(w)); err != nil {
						return
					}
				}
			}()
			_ = sc.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(io.LimitReader(readerFunc(func(p []byte) (int, error) {
				return sc.Read(p[:min(len(p), 7)])
			}), 1<<20))
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if want := strings.Join(tt.writes, ""); string(got) != want {
				t.Errorf("read %q, want %q", got, want)
			}
			if n := len(matched); (n > 0) != tt.want || n > 1 {
				t.Errorf("onMatch ran %d times, want match=%v once", n, tt.want)
			}
		})
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// repeatConn answers every Read with a full buffer of filler, as a busy
// socket does.
type repeatConn struct{ net.Conn }

func (repeatConn) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// A socket read through the sniffer allocates nothing and copies only the
// seam, not the read buffer.
func TestSniffReadDoesNotAllocate(t *testing.T) {
	sc := &sniffConn{Conn: repeatConn{}, onMatch: func() { t.Error("matched filler") }}
	buf := make([]byte, 4096)
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := sc.Read(buf); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("%v allocations per read, want 0", allocs)
	}
}

func BenchmarkSniffRead(b *testing.B) {
	sc := &sniffConn{Conn: repeatConn{}, onMatch: func() {}}
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = sc.Read(buf)
	}
}
