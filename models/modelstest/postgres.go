package modelstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"oidcd/models"
)

// pgServer is one PostgreSQL server per test binary, started on first use
// from Debian's package (initdb and pg_ctl) on a random loopback port.
var pgServer struct {
	once sync.Once
	dsn  func(db string) string
	stop func()
	err  error
	next int
	mu   sync.Mutex
}

// OpenPostgres returns a Store on a fresh database of a real PostgreSQL
// server that this test binary starts itself. Without PostgreSQL installed
// the test is skipped, except under CI=true, where it fails.
func OpenPostgres(t testing.TB) *models.Store {
	t.Helper()
	return Database{DSN: newPostgres(t), Key: NewKey()}.Open(t)
}

// newPostgres creates a fresh database on the test server and returns its
// DSN.
func newPostgres(t testing.TB) string {
	t.Helper()
	pgServer.once.Do(startPostgres)
	if pgServer.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postgres: %v", pgServer.err)
		}
		t.Skipf("postgres: %v", pgServer.err)
	}
	pgServer.mu.Lock()
	pgServer.next++
	name := fmt.Sprintf("oidcd_test_%d", pgServer.next)
	pgServer.mu.Unlock()

	admin, err := gorm.Open(postgres.Open(pgServer.dsn("postgres")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("postgres: connect: %v", err)
	}
	if err := admin.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatalf("postgres: create database: %v", err)
	}
	if sqlDB, err := admin.DB(); err == nil {
		_ = sqlDB.Close()
	}
	return pgServer.dsn(name)
}

// StopPostgres stops the server, if one was started; call it from TestMain.
func StopPostgres() {
	if pgServer.stop != nil {
		pgServer.stop()
	}
}

// pgBinDir finds the newest Debian PostgreSQL installation.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no /usr/lib/postgresql/*/bin/pg_ctl (apt-get install postgresql)")
}

func startPostgres() {
	bin, err := pgBinDir()
	if err != nil {
		pgServer.err = err
		return
	}
	// PostgreSQL refuses to run as root: as root, run it as the package's
	// postgres user, in a folder that user owns.
	var asUser []string
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			pgServer.err = fmt.Errorf("running as root and no postgres user: %w", err)
			return
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		asUser = []string{"/usr/sbin/runuser", "-u", "postgres", "--"}
	}
	dir, err := os.MkdirTemp("", "oidcd-pg-")
	if err != nil {
		pgServer.err = err
		return
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			pgServer.err = err
			return
		}
	}
	data := filepath.Join(dir, "data")
	port, err := freePort()
	if err != nil {
		pgServer.err = err
		return
	}
	run := func(args ...string) error {
		cmd := exec.Command(args[0], args[1:]...)
		if asUser != nil {
			cmd = exec.Command(asUser[0], append(asUser[1:], args...)...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", filepath.Base(args[0]), err, out)
		}
		return nil
	}
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		pgServer.err = err
		return
	}
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", port, dir)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		pgServer.err = err
		return
	}
	pgServer.stop = func() {
		_ = run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "-t", "30", "stop")
		_ = os.RemoveAll(dir)
	}
	pgServer.dsn = func(db string) string {
		return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, db)
	}
	// pg_ctl -w waited for the server; check it answers before going on.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			pgServer.err = fmt.Errorf("postgres did not answer on port %d", port)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
