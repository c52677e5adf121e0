package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"etpay-dashboard/models"
)

// runUsers is `users add`, `users password` and `users reset-2fa`: what a
// merchant with a shell on the server needs when nobody can log in (the
// only admin forgot the password or lost the phone). Passwords come from
// standard input, never argv.
func runUsers(ctx context.Context, env environment, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "add":
		return runUsersAdd(ctx, env, args[1:])
	case "password":
		return runUsersPassword(ctx, env, args[1:])
	case "reset-2fa":
		return runUsersResetSecondFactor(ctx, env, args[1:])
	}
	return errUsage
}

func runUsersAdd(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("users add", env.stderr)
	email := fs.String("email", "", "the user's email")
	role := fs.String("role", "", "admin, staff or viewer")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !models.ValidEmail(*email) {
		return flagError(env, "email", nil, "invalid.email")
	}
	switch *role {
	case models.RoleAdmin, models.RoleStaff, models.RoleViewer:
	default:
		return flagError(env, "role", nil, "cli.invalid.role")
	}
	password, err := passwordFromStdin(env, *fromStdin)
	if err != nil {
		return err
	}
	_, store, err := openStore(ctx, env)
	if err != nil {
		return err
	}
	defer store.Close()
	hash, err := store.HashPassword(password)
	if err != nil {
		return passwordError(env, err)
	}
	if _, err := store.CreateUser(ctx, *email, hash, *role); errors.Is(err, models.ErrEmailTaken) {
		return flagError(env, "email", err, "users.invalid.email_taken")
	} else if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "user %s added as %s\n", strings.ToLower(*email), *role)
	return nil
}

// runUsersPassword sets a user's password and ends every login they have,
// so a browser that knew the old one is out too.
func runUsersPassword(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("users password", env.stderr)
	email := fs.String("email", "", "the user's email")
	fromStdin := fs.Bool("password-stdin", false, "read the new password from standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password, err := passwordFromStdin(env, *fromStdin)
	if err != nil {
		return err
	}
	store, user, err := openUser(ctx, env, *email)
	if err != nil {
		return err
	}
	defer store.Close()
	hash, err := store.HashPassword(password)
	if err != nil {
		return passwordError(env, err)
	}
	if err := store.SetPassword(ctx, user.ID, hash, ""); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "password of %s changed; their logins were ended\n", user.Email)
	return afterRecovery(ctx, env, store, user, models.AuditPassword)
}

// runUsersResetSecondFactor removes a user's two-step verification (a lost
// phone and no recovery codes, and no other admin to reset it on the panel)
// and ends their logins: they log in with the password and set it up again.
func runUsersResetSecondFactor(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("users reset-2fa", env.stderr)
	email := fs.String("email", "", "the user's email")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, user, err := openUser(ctx, env, *email)
	if err != nil {
		return err
	}
	defer store.Close()
	has, err := store.HasSecondFactor(ctx, user.ID)
	if err != nil {
		return err
	}
	if !has {
		return flagError(env, "email", nil, "twofactor.error.none")
	}
	if err := store.RemoveSecondFactor(ctx, user.ID, ""); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "two-step verification of %s removed; their logins were ended\n", user.Email)
	return afterRecovery(ctx, env, store, user, models.AuditSecondFactorReset)
}

// afterRecovery finishes a change made so a locked-out user gets back in:
// it forgets the failed logins at the account (the user has likely been
// failing for a while, and would still be refused for up to 15 minutes)
// and records the change in the audit log. The change itself is done by
// then: an error here says so.
func afterRecovery(ctx context.Context, env environment, store *models.Store, user *models.User, action string) error {
	// On PostgreSQL the failures are counted in the database; on SQLite a
	// running server counts them in its memory, out of this command's reach.
	if err := store.UnlockLogins(ctx, user.Email); err != nil {
		return fmt.Errorf("done, but the failed logins were not forgotten: %w", err)
	}
	if !store.OnPostgres() {
		fmt.Fprintln(env.stdout, "a running server still counts earlier failed logins: if it refuses the login, wait 15 minutes or restart it")
	}
	if err := store.RecordAudit(ctx, nil, user.Email, action, "command line", ""); err != nil {
		return fmt.Errorf("done, but the audit log entry was not written: %w", err)
	}
	return nil
}

// passwordFromStdin reads one line from standard input as a password,
// refusing to run without --password-stdin (a password in argv would stay
// in the shell's history) and refusing what the forms refuse.
func passwordFromStdin(env environment, fromStdin bool) (string, error) {
	if !fromStdin {
		return "", sentence(env, "cli.users.password_stdin")
	}
	line, err := bufio.NewReader(io.LimitReader(env.stdin, 1024)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	password := strings.TrimRight(line, "\r\n")
	if err := models.ValidatePassword(password); err != nil {
		return "", passwordError(env, err)
	}
	return password, nil
}

// openUser opens the database and finds the user --email names.
func openUser(ctx context.Context, env environment, email string) (*models.Store, *models.User, error) {
	if !models.ValidEmail(email) {
		return nil, nil, flagError(env, "email", nil, "invalid.email")
	}
	_, store, err := openStore(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	user, err := store.UserByEmail(ctx, email)
	if errors.Is(err, models.ErrNotFound) {
		store.Close()
		return nil, nil, flagError(env, "email", err, "cli.users.unknown", strings.ToLower(email))
	}
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, user, nil
}
