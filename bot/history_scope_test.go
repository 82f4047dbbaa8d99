package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leasebot/leasebot/store"
)

// A quiet channel's history is found however many newer entries other
// notebooks have: its notebooks' entries, deleted notebooks' included (by
// their name in the history), and nothing of other channels' notebooks.
func TestQuietChannelHistoryFindsOldEntries(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	live := w.addRunning("team-b-live", 3*time.Hour)
	ctx := context.Background()
	err := w.opts.Store.Update(ctx, func(tx *store.Tx) error {
		old := []store.Entry{
			{User: "U0ALICE", Channel: "C0TEAMB", Notebook: live.ID, NotebookName: live.Name, Verb: "extend", Requested: "1h", Outcome: "extended"},
			{User: "U0ALICE", Channel: "C0TEAMB", Notebook: "0badc0de-0000-4000-8000-000000000001", NotebookName: "team-b-gone", Verb: "extend", Requested: "2h", Outcome: "extended"},
			{User: "U0ALICE", Channel: "C0ML", Notebook: "0badc0de-0000-4000-8000-000000000002", NotebookName: "team-a-gone", Verb: "extend", Requested: "3h", Outcome: "extended"},
		}
		for i := range old {
			if err := tx.AddHistory(&old[i]); err != nil {
				return err
			}
		}
		for i := range 20_500 { // newer entries about other notebooks, more than a scan would read
			e := store.Entry{User: "U0CAROL", Channel: "C0ML", Notebook: fmt.Sprintf("0badc0de-0000-4000-8000-%012d", 100+i%50), NotebookName: fmt.Sprint("busy-", i%50), Verb: "extend", Outcome: "extended"}
			if err := tx.AddHistory(&e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(command(w.bot, "U0ALICE", "C0TEAMB", "history").Text)
	for _, want := range []string{"team-b-live", "team-b-gone", "newest first (2)"} {
		if !strings.Contains(got, want) {
			t.Errorf("history in the quiet channel lacks %q: %s", want, got)
		}
	}
	for _, not := range []string{"team-a-gone", "busy-"} {
		if strings.Contains(got, not) {
			t.Errorf("history in the quiet channel shows %q: %s", not, got)
		}
	}
	if got := fmt.Sprint(command(w.bot, "U0ALICE", "C0ML", "history 3").Text); !strings.Contains(got, "busy-") || !strings.Contains(got, "newest first (3)") {
		t.Errorf("history in a \"*\" channel: %s", got)
	}
}
