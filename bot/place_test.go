package bot

import "testing"

// Commands and clicks name the place they came from the same way, so the
// audit log and the history agree on where a change was made.
func TestPlaceOfCommandsAndClicksAgree(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Event
		want string
	}{
		{"channel", Event{User: "U1", Channel: "C1", Surface: InChannel}, "C1"},
		{"direct message", Event{User: "U1", Channel: "D1", Surface: InDirect}, "@U1"},
		{"home view", Event{User: "U1", Surface: InHome}, "@U1"},
		{"channel unknown", Event{User: "U1", Surface: InChannel}, "@U1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &request{Event: tc.e}
			c := &click{Event: tc.e}
			if r.place() != tc.want || c.place() != tc.want {
				t.Errorf("command at %q, click at %q; want %q for both", r.place(), c.place(), tc.want)
			}
		})
	}
}
