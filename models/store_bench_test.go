package models_test

import (
	"context"
	"testing"

	"oidcd/models"
)

// The store's hot write paths alone, without HTTP: one refresh rotation
// and one code redemption (with the code's creation), each with its
// token_issued audit row, as /token runs them.

func BenchmarkStoreRotateRefreshToken(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	tok, err := f.store.RedeemCode(ctx, f.newCode(b).CodeHash, f.now, accept, f.mintFamily)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tok, err = f.store.RotateRefreshToken(ctx, *tok.RefreshTokenHash, f.now, acceptToken, f.mintNext,
			&models.Event{Kind: models.EventTokenIssued, Username: "alice"})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreRedeemCode(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.store.RedeemCode(ctx, f.newCode(b).CodeHash, f.now, accept, f.mintFamily,
			&models.Event{Kind: models.EventTokenIssued, Username: "alice"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreActiveAccessToken(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	tok, err := f.store.RedeemCode(ctx, f.newCode(b).CodeHash, f.now, accept, f.mintFamily)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.store.ActiveAccessToken(ctx, tok.AccessTokenHash, f.now); err != nil {
			b.Fatal(err)
		}
	}
}
