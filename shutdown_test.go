package main

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeStopsOnSIGTERM: the real binary, stopped with SIGTERM while a
// client trickles a request body, closes that connection once the grace
// period is over and exits with status 0: a stop that was asked for is
// not a failure (it used to wait out its drain timeout and exit 1).
func TestServeStopsOnSIGTERM(t *testing.T) {
	t.Parallel() // it waits out the grace period
	db := filepath.Join(t.TempDir(), "oidcd.db")
	p := startProcess(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", db)
	cmd, addr, logs, done := p.cmd, strings.TrimPrefix(p.base, "http://"), p.logs, p.done

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	// The deadline only keeps a broken test from hanging.
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	// With Expect: 100-continue the server says "100 Continue" when the
	// handler starts reading the body: from then on the request is in
	// progress, and the stop has to deal with it.
	if _, err := fmt.Fprintf(conn, "POST /token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: 60000\r\nExpect: 100-continue\r\n\r\n", addr); err != nil {
		t.Fatalf("send the request head: %v", err)
	}
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("after the request head: %q, %v; want 100 Continue", line, err)
	}
	// One byte at a time, until the server drops the connection.
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		for range 60000 {
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	// A generous bound, as a test timeout only: the grace period is
	// seconds.
	select {
	case err := <-done:
		done <- err // for Cleanup
		if err != nil {
			t.Errorf("oidcd exited with %v after SIGTERM, want status 0\nlog:\n%s", err, logs)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("oidcd did not exit after SIGTERM\nlog:\n%s", logs)
	}
	<-trickled
	out := logs.String()
	if !strings.Contains(out, `msg="oidcd shutting down"`) {
		t.Errorf("log lacks the shutdown line:\n%s", out)
	}
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "oidcd: ") {
		t.Errorf("the stop logged a failure:\n%s", out)
	}
}
