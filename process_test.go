package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// The environment variables that turn this test binary into `oidcd`: a
// child process started by startProcess runs main() itself, with its real
// signal handling, time zone and exit status.
const (
	helperEnv     = "OIDCD_TEST_RUN_MAIN"
	helperArgsEnv = "OIDCD_TEST_MAIN_ARGS" // JSON list of arguments
)

// TestRunMainHelper is not a test: in a child process started with
// helperEnv set, it is the oidcd binary (the standard library's own
// helper-process pattern), and exits through main's os.Exit.
func TestRunMainHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv(helperArgsEnv)), &args); err != nil {
		fmt.Fprintf(os.Stderr, "helper: bad %s: %v\n", helperArgsEnv, err)
		os.Exit(3)
	}
	os.Args = append([]string{"oidcd"}, args...)
	main()
}

// oidcdProcess is `oidcd serve` running in a process of its own.
type oidcdProcess struct {
	cmd  *exec.Cmd
	base string // http://host:port
	logs *syncBuffer
	done chan error // the exit; whoever takes it puts it back
}

// startProcess starts this test binary as `oidcd args...` with env added
// to the environment, and waits (polling a bounded number of times) until
// it logs its address. The process is killed when the test ends.
func startProcess(t *testing.T, env []string, args ...string) *oidcdProcess {
	t.Helper()
	encoded, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunMainHelper$")
	cmd.Env = append(append(os.Environ(), env...), helperEnv+"=1", helperArgsEnv+"="+string(encoded))
	p := &oidcdProcess{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oidcd: %v", err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // an error when it has exited already
		<-p.done
	})
	for range 3000 {
		if m := servingRE.FindStringSubmatch(p.logs.String()); m != nil {
			p.base = "http://" + m[1]
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("oidcd exited before serving: %v\nlog:\n%s", err, p.logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("oidcd never logged its address; log:\n%s", p.logs)
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (p *oidcdProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal oidcd: %v", err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("oidcd exited with %v; log:\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("oidcd did not exit after SIGTERM; log:\n%s", p.logs)
	}
}
