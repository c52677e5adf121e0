package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

// enrol gives u a confirmed second factor accepted up to step, with recovery hashes.
func enrol(t *testing.T, s *Store, u *User, step int64, hashes ...string) {
	t.Helper()
	ctx := context.Background()
	if err := s.StartSecondFactor(ctx, u.ID, "sealed-"+u.Email); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableSecondFactor(ctx, u.ID, "sealed-"+u.Email, step, hashes, ""); err != nil {
		t.Fatal(err)
	}
}

func TestEachTimeStepIsAcceptedOnce(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u := mustUser(t, s, "staff@shop.cl", RoleStaff)
	if err := s.UseSecondFactorStep(ctx, u.ID, 100); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("a step for a user without a second factor: %v, want ErrCodeUsed", err)
	}
	enrol(t, s, u, 100)
	for _, tt := range []struct {
		step int64
		want error
	}{{100, ErrCodeUsed}, {99, ErrCodeUsed}, {101, nil}, {101, ErrCodeUsed}, {103, nil}, {102, ErrCodeUsed}} {
		if err := s.UseSecondFactorStep(ctx, u.ID, tt.step); !errors.Is(err, tt.want) {
			t.Errorf("step %d: %v, want %v", tt.step, err, tt.want)
		}
	}
}

func TestRecoveryCodesAreSpentOnce(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u := mustUser(t, s, "staff@shop.cl", RoleStaff)
	other := mustUser(t, s, "other@shop.cl", RoleStaff)
	enrol(t, s, u, 1, "h1", "h2")
	enrol(t, s, other, 1, "h3")
	if err := s.UseRecoveryCode(ctx, u.ID, "h3"); !errors.Is(err, ErrCodeUsed) {
		t.Errorf("another user's code: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, "h1"); err != nil {
		t.Fatal(err)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, "h1"); !errors.Is(err, ErrCodeUsed) {
		t.Errorf("a spent code again: %v", err)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 1 {
		t.Errorf("%d codes left, want 1", n)
	}
	// A new enrolment replaces the codes.
	enrol(t, s, u, 2, "h4")
	if err := s.UseRecoveryCode(ctx, u.ID, "h2"); !errors.Is(err, ErrCodeUsed) {
		t.Errorf("a code of the previous enrolment: %v", err)
	}
}

func TestALoginAwaitingItsCodeIsNoLogin(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u := mustUser(t, s, "staff@shop.cl", RoleStaff)
	if err := s.CreatePendingLogin(ctx, "p1", u.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if loggedIn(s, "p1") {
		t.Fatal("UserBySession accepts a login awaiting its code")
	}
	if got, err := s.UserAwaitingCode(ctx, "p1"); err != nil || got.ID != u.ID {
		t.Fatalf("UserAwaitingCode = %v, %v", got, err)
	}
	mustLogin(t, s, u, "full")
	if _, err := s.UserAwaitingCode(ctx, "full"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a whole login is taken as awaiting a code: %v", err)
	}
	if err := s.CompleteLogin(ctx, "p1", "p2", time.Hour); err != nil {
		t.Fatal(err)
	}
	if !loggedIn(s, "p2") || loggedIn(s, "p1") {
		t.Error("CompleteLogin did not replace the waiting login by a whole one under the new id")
	}
	if err := s.CompleteLogin(ctx, "p1", "p3", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("completing the same waiting login twice: %v", err)
	}
	if err := s.CompleteLogin(ctx, "full", "p4", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("completing a whole login: %v", err)
	}
}

func TestRemovingASecondFactorEndsLogins(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u := mustUser(t, s, "staff@shop.cl", RoleStaff)
	enrol(t, s, u, 1, "h1")
	mustLogin(t, s, u, "here")
	mustLogin(t, s, u, "elsewhere")
	if err := s.CreatePendingLogin(ctx, "waiting", u.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	before := s.LoginsEnded()
	if err := s.RemoveSecondFactor(ctx, u.ID, "here"); err != nil {
		t.Fatal(err)
	}
	if !loggedIn(s, "here") || loggedIn(s, "elsewhere") {
		t.Error("want the kept login alive and the other ended")
	}
	if _, err := s.UserAwaitingCode(ctx, "waiting"); !errors.Is(err, ErrNotFound) {
		t.Error("a login awaiting its code survived")
	}
	if s.LoginsEnded() == before {
		t.Error("LoginsEnded did not move: open live tables would not notice")
	}
	if on, _ := s.HasSecondFactor(ctx, u.ID); on {
		t.Error("the second factor is still on")
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Errorf("%d recovery codes left", n)
	}
}

func TestEnablingNeedsThePendingSecret(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u := mustUser(t, s, "staff@shop.cl", RoleStaff)
	if err := s.EnableSecondFactor(ctx, u.ID, "", 1, nil, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("enabling without a pending secret: %v", err)
	}
	if err := s.StartSecondFactor(ctx, u.ID, "first"); err != nil {
		t.Fatal(err)
	}
	if err := s.StartSecondFactor(ctx, u.ID, "second"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableSecondFactor(ctx, u.ID, "first", 1, []string{"h"}, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("enabling a replaced pending secret: %v", err)
	}
	if on, _ := s.HasSecondFactor(ctx, u.ID); on {
		t.Fatal("on before confirmation")
	}
	if err := s.EnableSecondFactor(ctx, u.ID, "second", 1, []string{"h"}, ""); err != nil {
		t.Fatal(err)
	}
	f, _ := s.SecondFactorOf(ctx, u.ID)
	if f.Secret != "second" || f.PendingSecret != "" || f.LastStep != 1 || f.EnabledAt == nil {
		t.Errorf("after enabling: %+v", f)
	}
}

func TestSecondFactorRequirementIsOffUntilSet(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	if on, err := s.SecondFactorRequired(ctx); err != nil || on {
		t.Fatalf("a new database requires a second factor: %v, %v", on, err)
	}
	for _, want := range []bool{true, false, true} {
		if err := s.SetSecondFactorRequired(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SecondFactorRequired(ctx); err != nil || got != want {
			t.Errorf("required = %v, %v; want %v", got, err, want)
		}
	}
}
