package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"
)

// connectionBurst is how many connections must have gone since the busiest
// moment before memory is handed back.
const connectionBurst = 500

// releaseAfterBursts hands memory back to the system once a burst of
// connections has gone. Go keeps what it freed for reuse and returns it only
// slowly, and the next collection may be minutes away on a quiet server: after
// a flood of connections the process would keep its peak size. open reports
// the connections open now; it is sampled every tick.
func releaseAfterBursts(ctx context.Context, open func() int32, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var peak int32
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := open()
		peak = max(peak, n)
		if peak-n >= connectionBurst {
			runtime.GC() // pooled buffers outlive one collection
			debug.FreeOSMemory()
			peak = n
		}
	}
}
