// Package reminders sends reminder emails for unpaid links: with
// REMIND_AFTER set, an open, unexpired link with a customer email whose last
// email (the link's, or its last reminder) went out REMIND_AFTER ago gets
// another, through the outbox, at most REMIND_MAX times. Staff may turn a
// link's reminders off. It knows nothing of HTTP.
package reminders

import (
	"context"
	"log/slog"
	"time"

	"etpay-dashboard/config"
	"etpay-dashboard/emails"
	"etpay-dashboard/models"
)

// Every is how often the job looks for links due a reminder.
const Every = time.Minute

// batch is how many reminders one look queues at most; the next look takes the rest.
const batch = 200

// Job queues the reminders that are due.
type Job struct {
	Config *config.Config
	Store  *models.Store
	Logger *slog.Logger
	// Shop names the shop in the reminders.
	Shop emails.Shop
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time
}

func (j *Job) now() time.Time {
	if j.Now == nil {
		return time.Now()
	}
	return j.Now()
}

// Run queues due reminders every Every until ctx ends; it does nothing
// when REMIND_AFTER is not set.
func (j *Job) Run(ctx context.Context) {
	if j.Config.RemindAfter <= 0 {
		return
	}
	j.Logger.Info("reminders on", "after", j.Config.RemindAfter.String(), "max", j.Config.RemindMax)
	ticker := time.NewTicker(Every)
	defer ticker.Stop()
	for {
		if _, err := j.Once(ctx); err != nil && ctx.Err() == nil {
			j.Logger.Error("reminders: queueing failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Once queues every reminder due now (up to a batch) and returns how many it
// queued. Each is queued in a transaction that checks again that its link
// is due one, so a link paid, cancelled or turned off meanwhile gets none,
// and none twice.
func (j *Job) Once(ctx context.Context) (int, error) {
	if j.Config.RemindAfter <= 0 {
		return 0, nil
	}
	rules := models.ReminderRules{Mode: string(j.Config.Mode), Now: j.now(), After: j.Config.RemindAfter, Max: j.Config.RemindMax}
	due, err := j.Store.DueReminders(ctx, rules, batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		msg, err := emails.Reminder(j.Config, j.Shop, &d.Link, d.Lang)
		if err != nil {
			return n, err
		}
		queued, err := j.Store.QueueReminder(ctx, rules, d, msg)
		if err != nil {
			return n, err
		}
		if queued {
			n++
			j.Logger.Info("reminder queued", "link_id", d.Link.ID, "number", d.Sent+1)
		}
	}
	return n, nil
}
