package bot

import (
	"context"

	"github.com/leasebot/leasebot/store"
)

// keepsByNotebook returns the active keeps by notebook ID.
func (b *Bot) keepsByNotebook(ctx context.Context) (map[string]store.Keep, error) {
	ks, err := b.store.Keeps(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Keep, len(ks))
	for _, k := range ks {
		out[k.Notebook] = k
	}
	return out, nil
}
