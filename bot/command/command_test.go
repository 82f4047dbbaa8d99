package command

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSyntaxErrorText(t *testing.T) {
	e := &SyntaxError{Msg: "How long?", Hint: "/notebook extend nb 2h"}
	if got, want := e.Error(), "How long? Try: /notebook extend nb 2h"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &SyntaxError{Msg: "How long?"}
	if got := e.Error(); got != "How long?" {
		t.Errorf("Error() = %q", got)
	}
}

func TestShow(t *testing.T) {
	if got := show("a\x00b\u202ec\xff"); got != `"a?b?c?"` {
		t.Errorf("show = %q", got)
	}
	long := show(strings.Repeat("é", 100))
	if utf8.RuneCountInString(long) != maxShown+3 || !strings.HasSuffix(long, `…"`) {
		t.Errorf("show(long) = %q", long)
	}
}
