package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

func TestUserPrefs(t *testing.T) {
	st := openSQLite(t)
	ctx := context.Background()
	u := core.User{Name: "hana", Role: core.RoleReporter, CreatedAt: time.Now()}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, &u, "") }); err != nil {
		t.Fatal(err)
	}
	p, err := st.UserPrefs(ctx, u.ID)
	if err != nil || p != (store.UserPrefs{Language: "", TimeZone: "Asia/Tokyo"}) {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	want := store.UserPrefs{Language: "en", TimeZone: "Europe/Berlin"}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SetUserPrefs(ctx, u.ID, want) }); err != nil {
		t.Fatal(err)
	}
	if p, err := st.UserPrefs(ctx, u.ID); err != nil || p != want {
		t.Fatalf("after set: %+v %v", p, err)
	}
	if _, err := st.UserPrefs(ctx, u.ID+100); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("prefs of a missing user: %v", err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.SetUserPrefs(ctx, u.ID+100, want) })
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("set prefs of a missing user: %v", err)
	}
}
