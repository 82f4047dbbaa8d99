package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/leasebot/leasebot/store"
)

// oldWarning is one warning in the JSON state file earlier versions kept.
type oldWarning struct {
	Notebook string                   `json:"notebook"`
	Name     string                   `json:"name"`
	Stop     int64                    `json:"stop_ms"`
	Warned   map[string]time.Duration `json:"warned"` // channel -> smallest threshold warned
	Posts    []struct {
		Channel string `json:"channel"`
		Ref     string `json:"ref"`
	} `json:"posts"`
	Outcome string        `json:"outcome"`
	By      string        `json:"by"`
	Amount  time.Duration `json:"amount"`
	NewStop int64         `json:"new_stop_ms"`
}

// ImportStateFile imports the warnings of an earlier version's state file
// into the store, once: the file is renamed path + ".imported" afterwards.
// A missing file is no error; it returns how many warnings it imported.
func ImportStateFile(ctx context.Context, s store.API, path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the state file: %w", err)
	}
	var old []oldWarning
	if err := json.Unmarshal(data, &old); err != nil {
		return 0, fmt.Errorf("the state file %s is not leasebot's warning state: %w", path, err)
	}
	var ws []store.Warning
	for _, o := range old {
		if o.Notebook == "" || o.Stop <= 0 {
			continue
		}
		w := store.Warning{Notebook: o.Notebook, Stop: time.UnixMilli(o.Stop), Name: o.Name, Outcome: o.Outcome, By: o.By, Amount: o.Amount}
		if o.NewStop > 0 {
			w.NewStop = time.UnixMilli(o.NewStop)
		}
		posted := map[string]bool{}
		for _, p := range o.Posts {
			w.Posts = append(w.Posts, store.Post{Target: p.Channel, Threshold: o.Warned[p.Channel], Conversation: p.Channel, Ref: p.Ref})
			posted[p.Channel] = true
		}
		for target, th := range o.Warned {
			if !posted[target] { // warned, but the post never landed: keep it claimed
				w.Posts = append(w.Posts, store.Post{Target: target, Threshold: th})
			}
		}
		ws = append(ws, w)
	}
	if err := s.ImportWarnings(ctx, ws); err != nil {
		return 0, err
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return len(ws), fmt.Errorf("imported the state file, but could not rename it: %w", err)
	}
	return len(ws), nil
}
