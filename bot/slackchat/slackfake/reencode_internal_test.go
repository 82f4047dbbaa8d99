package slackfake

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestReencode(t *testing.T) {
	for _, in := range []string{
		`[]`, `{}`, `"x"`, `1.50e3`, `null`,
		` [ {"type" : "section", "text":{"type":"mrkdwn","text":"\u003c@U1\u003e \u0026 <!subteam^S1|@a>"}},` +
			`{"b":[1,2.5,-3e2,true,false,null,{}],"a":{"z":[[]],"y":"\"quoted\"\\back\nline é"}} ]`,
	} {
		out, err := reencode([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var want, got any
		_ = json.Unmarshal([]byte(in), &want)
		if err := json.Unmarshal(out, &got); err != nil || !reflect.DeepEqual(want, got) {
			t.Errorf("%s -> %s (%v)", in, out, err)
		}
	}
	out, _ := reencode([]byte(`{"z":"\u003c@U1\u003e","a":1}`))
	if string(out) != `{"z":"<@U1>","a":1}` {
		t.Errorf("got %s", out)
	}
	for _, bad := range []string{`[1,`, `{"a":`, `1 2`, ``, `]`} {
		if _, err := reencode([]byte(bad)); err == nil {
			t.Errorf("broken JSON %q accepted", bad)
		}
	}
}
