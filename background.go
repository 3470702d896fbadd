package main

import (
	"context"
	"time"
)

// repeat is serve's one shape for background work (the janitor, WAL
// checkpoints, key rotation, back-channel logout delivery): pass runs after
// first and then every every until ctx ends. A pass that reports work left
// over (a full batch) runs again at once, so a burst drains quickly. Passes
// run one at a time: a slow one delays the next instead of piling up.
func repeat(ctx context.Context, first, every time.Duration, pass func(context.Context) (again bool)) {
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if pass(ctx) {
			timer.Reset(0)
		} else {
			timer.Reset(every)
		}
	}
}
