package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"oidcd/models"
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

// TestAbortedRequestsAreTheClientsFault: a client that announces more
// body than it sends, or half-closes its connection, or goes away
// altogether, made the server answer 500 and log an ERROR (`context
// canceled`), so every aborted request looked like a server fault to an
// operator's alerts. It is the client's doing: a 4xx where a response can
// still be written, and nothing above INFO in the log.
func TestAbortedRequestsAreTheClientsFault(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	b := env.signInAdmin()
	csrf := csrfFrom(t, b, "/admin/clients/new", "client-form-page").Get("_csrf")
	client, secret := env.createClient(models.ClientConfidential, []string{rpRedirect})
	cookie := sessionCookieName + "=" + jarCookie(b, sessionCookieName)
	requests := []struct{ path, body, cookie string }{
		{"/token", url.Values{"grant_type": {"authorization_code"}, "code": {"abc"}, "redirect_uri": {rpRedirect},
			"client_id": {client.ClientID}, "client_secret": {secret}}.Encode(), ""},
		{"/login", "_csrf=" + csrf + "&username=root&password=wrong", cookie},
		{"/authorize", "client_id=" + client.ClientID + "&redirect_uri=" + url.QueryEscape(rpRedirect) + "&response_type=code&scope=openid", ""},
		{"/admin/users", "_csrf=" + csrf + "&username=bob&password=bob+password+1&password_confirm=bob+password+1", cookie},
		{"/admin/tokens/revoke", "_csrf=" + csrf, cookie},
	}
	modes := []struct {
		name  string
		short bool // Content-Length announces 100 bytes more than are sent
		close func(*net.TCPConn) error
		read  bool // a response can still be read
	}{
		{"short body, then half-close", true, (*net.TCPConn).CloseWrite, true},
		{"short body, then close", true, (*net.TCPConn).Close, false},
		{"whole body, then half-close", false, (*net.TCPConn).CloseWrite, true},
	}
	sent := 0
	for _, m := range modes {
		for _, r := range requests {
			t.Run(m.name+" "+r.path, func(t *testing.T) {
				conn := dialServer(t, env).(*net.TCPConn)
				length := len(r.body)
				if m.short {
					length += 100
				}
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
					"Accept: text/html\r\nContent-Length: %d\r\nCookie: %s\r\n\r\n%s",
					r.path, env.srv.Listener.Addr(), length, r.cookie, r.body)
				sent++
				if err := m.close(conn); err != nil {
					t.Fatalf("close: %v", err)
				}
				if !m.read {
					return
				}
				if status, _ := readStatus(t, conn); status >= 500 {
					t.Errorf("status %d, want no 5xx", status)
				}
			})
		}
	}
	// Every request has been answered and logged, whether or not anyone
	// was left to read the answer; the loop only bounds the wait.
	var logs string
	for range 1000 {
		logs = env.logs.String()
		if strings.Count(logs, "msg=request method=POST path=") >= sent+1 { // +1: signInAdmin.s login
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := strings.Count(logs, "msg=request method=POST path="); got < sent+1 {
		t.Fatalf("the server logged %d POST requests, want %d", got, sent+1)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "status=5") {
			t.Errorf("log line: %s", line)
		}
	}
}
