package main

import (
	"net"
	"testing"
	"time"
)

// dialServer opens a raw TCP connection to the test server, for requests
// no http.Client would send. The deadline only keeps a broken test from
// hanging; nothing is timed.
func dialServer(t *testing.T, env *testEnv) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", env.srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatalf("deadline: %v", err)
	}
	return conn
}
