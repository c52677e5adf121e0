package models

import (
	"context"
	"errors"
	"testing"
	"time"
)

// mustUser adds a user with a placeholder hash (these tests never log in).
func mustUser(t *testing.T, s *Store, email, role string) *User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), email, "hash-of-"+email, role)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func mustLogin(t *testing.T, s *Store, u *User, sid string) {
	t.Helper()
	if err := s.CreateStaffSession(context.Background(), sid, u.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
}

func loggedIn(s *Store, sid string) bool {
	_, err := s.UserBySession(context.Background(), sid)
	return err == nil
}

func TestDisableUserEndsAllTheirSessions(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	mustUser(t, s, "admin@shop.cl", RoleAdmin)
	staff := mustUser(t, s, "staff@shop.cl", RoleStaff)
	other := mustUser(t, s, "other@shop.cl", RoleStaff)
	mustLogin(t, s, staff, "s1")
	mustLogin(t, s, staff, "s2")
	mustLogin(t, s, other, "o1")

	if err := s.DisableUser(ctx, staff.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountStaffSessions(ctx, staff.ID); n != 0 {
		t.Errorf("disabled user still has %d session rows", n)
	}
	if loggedIn(s, "s1") || loggedIn(s, "s2") {
		t.Error("a disabled user's session still works")
	}
	if !loggedIn(s, "o1") {
		t.Error("disabling one user ended another user's session")
	}
	u, _ := s.UserByID(ctx, staff.ID)
	if !u.Disabled {
		t.Error("user not marked disabled")
	}

	if err := s.EnableUser(ctx, staff.ID); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx, staff.ID); u.Disabled {
		t.Error("EnableUser left the user disabled")
	}
	if err := s.DisableUser(ctx, 999999); !errors.Is(err, ErrNotFound) {
		t.Errorf("DisableUser(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.EnableUser(ctx, 999999); !errors.Is(err, ErrNotFound) {
		t.Errorf("EnableUser(unknown) = %v, want ErrNotFound", err)
	}
}

func TestTheLastEnabledAdminStays(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		change func(s *Store, id uint) error
	}{
		{"demote to staff", func(s *Store, id uint) error { return s.SetRole(ctx, id, RoleStaff) }},
		{"demote to viewer", func(s *Store, id uint) error { return s.SetRole(ctx, id, RoleViewer) }},
		{"disable", func(s *Store, id uint) error { return s.DisableUser(ctx, id) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t)
			first := mustUser(t, s, "first@shop.cl", RoleAdmin)
			second := mustUser(t, s, "second@shop.cl", RoleAdmin)
			mustLogin(t, s, first, "f1")
			// A disabled admin does not count: it cannot log in to administer.
			if err := s.DisableUser(ctx, second.ID); err != nil {
				t.Fatal(err)
			}
			if err := tc.change(s, first.ID); !errors.Is(err, ErrLastAdmin) {
				t.Fatalf("changing the last enabled admin: %v, want ErrLastAdmin", err)
			}
			u, _ := s.UserByID(ctx, first.ID)
			if u.Role != RoleAdmin || u.Disabled || !loggedIn(s, "f1") {
				t.Fatalf("the refused change still happened: %+v", u)
			}
			// With a second enabled admin, the same change goes through.
			if err := s.EnableUser(ctx, second.ID); err != nil {
				t.Fatal(err)
			}
			if err := tc.change(s, first.ID); err != nil {
				t.Fatalf("with another admin enabled: %v", err)
			}
		})
	}
}

func TestSetRole(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	mustUser(t, s, "admin@shop.cl", RoleAdmin)
	u := mustUser(t, s, "staff@shop.cl", RoleStaff)
	if err := s.SetRole(ctx, u.ID, RoleViewer); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.Role != RoleViewer {
		t.Errorf("role = %s, want viewer", got.Role)
	}
	if err := s.SetRole(ctx, u.ID, "root"); !errors.Is(err, ErrInvalidRole) {
		t.Errorf("SetRole(root) = %v, want ErrInvalidRole", err)
	}
	if err := s.SetRole(ctx, 999999, RoleStaff); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetRole(unknown) = %v, want ErrNotFound", err)
	}
}

func TestSetPasswordEndsSessions(t *testing.T) {
	cases := []struct {
		name      string
		keep      string
		wantAlive map[string]bool
	}{
		{"admin reset ends every session", "", map[string]bool{"a": false, "b": false, "other": true}},
		{"own change keeps the current one", "a", map[string]bool{"a": true, "b": false, "other": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t)
			ctx := context.Background()
			u := mustUser(t, s, "staff@shop.cl", RoleStaff)
			other := mustUser(t, s, "other@shop.cl", RoleStaff)
			mustLogin(t, s, u, "a")
			mustLogin(t, s, u, "b")
			mustLogin(t, s, other, "other")
			if err := s.SetPassword(ctx, u.ID, "new-hash", tc.keep); err != nil {
				t.Fatal(err)
			}
			for sid, want := range tc.wantAlive {
				if got := loggedIn(s, sid); got != want {
					t.Errorf("session %s alive = %v, want %v", sid, got, want)
				}
			}
			if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "new-hash" {
				t.Errorf("hash = %q, not stored", got.PasswordHash)
			}
		})
	}
	s := openTestStore(t)
	if err := s.SetPassword(context.Background(), 999999, "h", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword(unknown) = %v, want ErrNotFound", err)
	}
}

func TestSetLangAndListUsers(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	a := mustUser(t, s, "a@shop.cl", RoleAdmin)
	mustUser(t, s, "b@shop.cl", RoleViewer)
	if err := s.SetLang(ctx, a.ID, "en"); err != nil {
		t.Fatal(err)
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Email != "a@shop.cl" || users[1].Email != "b@shop.cl" {
		t.Fatalf("ListUsers = %+v", users)
	}
	if users[0].Lang != "en" {
		t.Errorf("lang = %q, want en", users[0].Lang)
	}
	if _, err := s.UserByID(ctx, 999999); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByID(unknown) = %v", err)
	}
}
