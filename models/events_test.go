package models_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"oidcd/models"
)

// TestRecordEventStoresAnyInput: an audit event with an over-long
// username, an invalid-UTF-8 address or detail is stored, bounded.
func TestRecordEventStoresAnyInput(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	e := &models.Event{
		Kind: models.EventLoginFailed, Username: strings.Repeat("ü", 300) + "\xff",
		RemoteIP: strings.Repeat("1.2.3.4, ", 1000) + "\xff", Detail: "bad\xff\x00detail",
	}
	if err := store.RecordEvent(context.Background(), e); err != nil {
		t.Fatalf("record event: %v", err)
	}
	var got models.Event
	if err := store.DB().Take(&got, e.ID).Error; err != nil {
		t.Fatalf("read back: %v", err)
	}
	for name, v := range map[string]string{"username": got.Username, "remote_ip": got.RemoteIP, "detail": got.Detail} {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			t.Errorf("%s = %q, want valid UTF-8 without NUL", name, v)
		}
	}
	if len(got.Username) > 150 || !strings.HasPrefix(got.Username, "üü") {
		t.Errorf("username: %d bytes %q, want the start of it within 150 bytes", len(got.Username), got.Username)
	}
	if len(got.RemoteIP) > 64 {
		t.Errorf("remote_ip: %d bytes, want at most 64", len(got.RemoteIP))
	}
}

// TestRecordsLandAfterHangUp: a client that hangs up cancels its
// request's context, but what already happened is still recorded: the
// audit event, the counted attempt, and an attempt given back.
func TestRecordsLandAfterHangUp(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := store.RecordEvent(ctx, &models.Event{Kind: models.EventLoginFailed, Username: "gone"}); err != nil {
		t.Errorf("record event after hang-up: %v", err)
	}
	var n int64
	store.DB().Model(&models.Event{}).Where("username = ?", "gone").Count(&n)
	if n != 1 {
		t.Errorf("events recorded: %d, want 1", n)
	}
	keys := []models.ThrottleKey{{Kind: "login", Subject: "gone", Address: "192.0.2.1", Limit: 5, Window: time.Minute}}
	res, err := store.ReserveAttempt(ctx, keys, time.Now())
	if err != nil {
		t.Fatalf("reserve after hang-up: %v", err)
	}
	if err := store.ReleaseAttempt(ctx, res); err != nil {
		t.Errorf("release after hang-up: %v", err)
	}
}
