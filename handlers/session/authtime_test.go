package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"oidcd/models"
	"oidcd/models/modelstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	modelstest.StopPostgres()
	os.Exit(code)
}

// TestAuthTimePrecision: a login's time comes back to the microsecond, in
// UTC, and a session saved before that change, with whole Unix seconds,
// still reads.
func TestAuthTimePrecision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := modelstest.Open(t)
	u := &models.User{Username: "alice", Active: true}
	if err := store.CreateUser(ctx, u, "alice password 1"); err != nil {
		t.Fatalf("create user: %v", err)
	}
	m, err := New(ctx, store, time.Hour, false, func() time.Time { return time.Now().UTC() })
	if err != nil {
		t.Fatalf("session manager: %v", err)
	}
	e := echo.New()
	// authTimeAfter saves a session through save and reads the auth time
	// back from a new request that carries the cookie it set.
	authTimeAfter := func(t *testing.T, save func(c echo.Context) error) time.Time {
		t.Helper()
		rec := httptest.NewRecorder()
		if err := save(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)); err != nil {
			t.Fatalf("save session: %v", err)
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, ck := range rec.Result().Cookies() {
			req.AddCookie(ck)
		}
		got, at, err := m.User(e.NewContext(req, httptest.NewRecorder()))
		if err != nil || got == nil || got.ID != u.ID {
			t.Fatalf("user = %v, %v; want alice", got, err)
		}
		return at
	}

	loc := time.FixedZone("UTC-5", -5*3600)
	login := time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, loc)
	at := authTimeAfter(t, func(c echo.Context) error { return m.Start(c, u, login) })
	if want := login.Truncate(time.Microsecond); !at.Equal(want) || at.Location() != time.UTC {
		t.Errorf("auth time after Start = %v, want %v in UTC", at, want.UTC())
	}

	old := authTimeAfter(t, func(c echo.Context) error {
		s := sessions.NewSession(m, cookieName)
		s.Options = &sessions.Options{Path: "/", MaxAge: 3600}
		s.Values = map[any]any{keyUserID: u.ID, keyAuthTime: login.Unix()}
		return s.Save(c.Request(), c.Response())
	})
	if want := time.Unix(login.Unix(), 0); !old.Equal(want) {
		t.Errorf("auth time of a session with whole seconds = %v, want %v", old, want)
	}
}
