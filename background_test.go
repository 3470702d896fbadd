package main

import (
	"context"
	"testing"
	"time"
)

// TestRepeatRunsAgainAtOnceAfterFullPass: a pass that reports work left
// over runs again without waiting for every (an hour here), and repeat
// returns when its context ends.
func TestRepeatRunsAgainAtOnceAfterFullPass(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	passes := make(chan int, 10)
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		repeat(ctx, 0, time.Hour, func(context.Context) bool {
			n++
			passes <- n
			return n < 3
		})
	}()
	deadline := time.After(10 * time.Second)
	for want := 1; want <= 3; want++ {
		select {
		case got := <-passes:
			if got != want {
				t.Fatalf("pass %d, want %d", got, want)
			}
		case <-deadline:
			t.Fatalf("pass %d did not run at once after a full pass", want)
		}
	}
	select {
	case got := <-passes:
		t.Fatalf("pass %d ran although the last one left no work and every is an hour", got)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("repeat did not return when its context ended")
	}
}
