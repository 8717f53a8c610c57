package dump

import (
	"context"
	"fmt"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/store"
)

// Reconcile gives tickets that came without a channel (channel_basis
// 'none') the channel their Open311 feed recorded (open311_seen), with
// channel_basis 'open311'. It returns how many tickets it changed.
func Reconcile(ctx context.Context, st *store.Store) (int64, error) {
	r, err := st.DB().ExecContext(ctx, `UPDATE tickets SET channel = s.channel, channel_basis = 'open311',
		resident_initiated = `+equity311.ResidentSQL("s.channel")+`
		FROM open311_seen s
		WHERE tickets.city = s.city AND tickets.ticket_id = s.ticket_id AND tickets.channel_basis = 'none'`)
	if err != nil {
		return 0, fmt.Errorf("reconcile channels: %w", err)
	}
	return r.RowsAffected()
}
