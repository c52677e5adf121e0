package models

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"etpay-dashboard/testdb"
)

// whileHeld runs each of fns at once on its own goroutine while lockSQL's
// lock is held on url: once len(fns) backends wait behind it, it is
// released. It returns each fn's error. Two instances' transactions then
// both read before either writes, the moment READ COMMITTED lets them.
func whileHeld(t *testing.T, url, lockSQL string, fns ...func() error) []error {
	t.Helper()
	raw, holder, release := holdRow(t, url, lockSQL)
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}
	waitForLockWaiters(t, raw, holder, len(fns))
	release()
	wg.Wait()
	return errs
}

// oneRefused checks that of errs one is nil and the other is want.
func oneRefused(t *testing.T, errs []error, want error) {
	t.Helper()
	if !(errs[0] == nil && errors.Is(errs[1], want) || errs[1] == nil && errors.Is(errs[0], want)) {
		t.Errorf("errors %v; want one nil and one %v", errs, want)
	}
}

// TestLastAdminKeptAcrossInstances: two admins taking each other's powers
// away at once on two instances (one demoting, one disabling) leave one.
func TestLastAdminKeptAcrossInstances(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	s := openInstances(t, url, 2)
	ctx := context.Background()
	var admins [2]*User
	for i, email := range []string{"ana@shop.cl", "beto@shop.cl"} {
		u, err := s[0].CreateUser(ctx, email, "x", RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		admins[i] = u
	}
	errs := whileHeld(t, url, "LOCK TABLE users IN SHARE MODE",
		func() error { return s[0].SetRole(ctx, admins[1].ID, RoleStaff) },
		func() error { return s[1].DisableUser(ctx, admins[0].ID) })
	oneRefused(t, errs, ErrLastAdmin)
	var left int64
	if err := s[0].read.Model(&User{}).Where("role = ? AND NOT disabled", RoleAdmin).Count(&left).Error; err != nil {
		t.Fatal(err)
	}
	if left != 1 {
		t.Errorf("%d enabled admins left, want 1", left)
	}
}

// TestUserEmailTakenAcrossInstances: the same email added on two instances
// at once makes one user; the other is told the email is taken.
func TestUserEmailTakenAcrossInstances(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	s := openInstances(t, url, 2)
	add := func(st *Store) func() error {
		return func() error {
			_, err := st.CreateUser(context.Background(), "ana@shop.cl", "x", RoleStaff)
			return err
		}
	}
	oneRefused(t, whileHeld(t, url, "LOCK TABLE users IN SHARE MODE", add(s[0]), add(s[1])), ErrEmailTaken)
}

// TestLoginCompletedOnceAcrossInstances: a login awaiting its second factor
// completed on two instances at once (a form posted twice) becomes one
// login; the other finds it gone.
func TestLoginCompletedOnceAcrossInstances(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	s := openInstances(t, url, 2)
	ctx := context.Background()
	u, err := s[0].CreateUser(ctx, "ana@shop.cl", "x", RoleStaff)
	if err != nil {
		t.Fatal(err)
	}
	if err := s[0].CreatePendingLogin(ctx, "pending", u.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	complete := func(st *Store, id string) func() error {
		return func() error { return st.CompleteLogin(ctx, "pending", id, time.Hour) }
	}
	errs := whileHeld(t, url, "SELECT id FROM staff_sessions WHERE id = 'pending' FOR UPDATE",
		complete(s[0], "login-a"), complete(s[1], "login-b"))
	oneRefused(t, errs, ErrNotFound)
	if n, err := s[0].CountStaffSessions(ctx, u.ID); err != nil || n != 1 {
		t.Errorf("%d logins stored (%v), want 1", n, err)
	}
}

// TestSecretRotatedTwiceAcrossInstances: two rotations of an endpoint's
// secret at once on two instances (a form posted twice) keep every secret
// signing: the current one and both it replaced.
func TestSecretRotatedTwiceAcrossInstances(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	s := openInstances(t, url, 2)
	ctx := context.Background()
	e := mustEndpoint(t, s[0], "https://shop.example/hook", EventLinkCreated)
	now := time.Now()
	rotate := func(st *Store, secret string) func() error {
		return func() error { return st.RotateWebhookSecret(ctx, e.ID, secret, now) }
	}
	errs := whileHeld(t, url, "LOCK TABLE webhook_endpoints IN SHARE MODE",
		rotate(s[0], "whsec_one"), rotate(s[1], "whsec_two"))
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s[0].WebhookEndpointByID(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	signing := got.Secrets(now)
	for _, want := range []string{e.Secret, "whsec_one", "whsec_two"} {
		if !slices.Contains(signing, want) {
			t.Errorf("secrets signing %q; %q missing", signing, want)
		}
	}
}

// TestExpiredOnceByStaffAndJobAcrossInstances: staff setting a past expiry on
// a link whose expiry has just passed, while another instance's expiry job
// queues its link.expired, queue one link.expired between them. The events
// table is held so that both have looked for the link's event before either
// inserts one.
func TestExpiredOnceByStaffAndJobAcrossInstances(t *testing.T) {
	onlyOnPostgres(t)
	url := testdb.URL(t, "test.db")
	s := openInstances(t, url, 2)
	ctx := context.Background()
	mustEndpoint(t, s[0], "https://shop.example/hook", EventLinkExpired)
	s[1].loadHookSubs(ctx)
	l := mustLink(t, s[0], "OC-1", "live")
	passed := time.Now()
	if err := s[0].write.Model(&Link{}).Where("id = ?", l.ID).Update("expires_at", passed.UTC()).Error; err != nil {
		t.Fatal(err)
	}
	raw, holder, release := holdRow(t, url, "LOCK TABLE webhook_events IN SHARE MODE")
	errs := make(chan error, 2)
	go func() { _, err := s[1].QueueLinkExpiries(ctx, time.Now()); errs <- err }()
	waitForLockWaiters(t, raw, holder, 1) // the job has read the link, and waits to insert
	go func() { errs <- s[0].SetLinkExpiry(ctx, l.ID, &passed) }()
	waitForLockWaiters(t, raw, holder, 2)
	release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, e := range queuedEvents(t, s[0]) {
		if e.Type == EventLinkExpired {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d link.expired queued, want 1", n)
	}
}
