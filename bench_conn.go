package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// benchConn is a worker's back-channel connection (token, userinfo): one
// keep-alive HTTP/1.1 connection over plain http that the worker writes
// to and reads from itself. net/http's Transport hands every request to a
// write goroutine and every response back from a read goroutine; on a
// machine the generator shares with the server it measures, those
// hand-offs cost more CPU than the requests. The requests on the wire are
// the ones the Transport would send, gzip negotiation included.
type benchConn struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration

	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

// do sends req and reads at most 1 MiB of the answer's body into body.
// Any failure closes the connection; the next request dials a new one.
func (c *benchConn) do(req *http.Request, body *bytes.Buffer) (status int, err error) {
	ctx := req.Context()
	if c.conn == nil {
		conn, err := c.dial(ctx, "tcp", canonicalAddr(req))
		if err != nil {
			return 0, ctxErr(ctx, err)
		}
		c.conn = conn
		if c.br == nil {
			c.br, c.bw = bufio.NewReaderSize(conn, 8<<10), bufio.NewWriterSize(conn, 8<<10)
		} else {
			c.br.Reset(conn)
			c.bw.Reset(conn)
		}
	}
	defer func() {
		if err != nil {
			c.close()
			err = ctxErr(ctx, err)
		}
	}()
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn := c.conn
	if err := conn.SetDeadline(deadline); err != nil {
		return 0, err
	}
	// A run stopped early (Ctrl-C) cuts the request off at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	if err := req.Write(c.bw); err != nil {
		return 0, err
	}
	if err := c.bw.Flush(); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return 0, err
	}
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return 0, err
		}
		r = zr
	}
	body.Reset()
	if _, err := body.ReadFrom(io.LimitReader(r, 1<<20)); err != nil {
		return 0, err
	}
	// What the limit left unread would be taken for the next response.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	if err := resp.Body.Close(); err != nil {
		return 0, err
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, nil
}

// ctxErr is the context's error for a request that failed once the
// context was done or past its deadline: the connection's deadline is
// the context's, and may fire a moment before the context's own timer,
// so that a run's deadline is not taken for the server's failure.
func ctxErr(ctx context.Context, err error) error {
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (c *benchConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// canonicalAddr is req's host:port, with the scheme's port when the URL
// has none.
func canonicalAddr(req *http.Request) string {
	if req.URL.Port() != "" {
		return req.URL.Host
	}
	return net.JoinHostPort(req.URL.Hostname(), "80")
}
