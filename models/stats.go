package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
)

// OverviewQuery asks for the overview page's figures.
type OverviewQuery struct {
	// Mode is "live" or "sandbox"; empty means both.
	Mode string
	// Now and Loc decide which calendar day is today: days and months are
	// Loc's (America/Santiago on the panel), while times are stored in UTC.
	Now time.Time
	Loc *time.Location
	// Days is how many calendar days the daily series covers, today last (30 if unset).
	Days int
}

// Overview is what the overview page shows for one mode.
type Overview struct {
	// Today and Month are the CLP collected by sessions paid today and this month.
	Today, Month int64
	// Days is the amount collected per calendar day, oldest first, today last;
	// days without payments are there with zero.
	Days []DayTotal
	// SessionsByStatus and LinksByStatus count rows per status (all time);
	// links as the links list shows them, expired ones apart from open ones.
	SessionsByStatus map[string]int64
	LinksByStatus    map[string]int64
	// LinksMade counts every link made, whatever its status.
	LinksMade int64
}

// DayTotal is the amount collected during one calendar day.
type DayTotal struct {
	// Day is the day's first instant, in the query's location.
	Day    time.Time
	Amount int64
}

// Conversion is the share of links made that were paid, in percent; ok is
// false when no link was made, so there is nothing to divide by.
func (o *Overview) Conversion() (percent float64, ok bool) {
	if o.LinksMade == 0 {
		return 0, false
	}
	return float64(o.LinksByStatus[LinkPaid]) * 100 / float64(o.LinksMade), true
}

// Empty reports whether the mode has no links and no sessions at all.
func (o *Overview) Empty() bool {
	var sessions int64
	for _, n := range o.SessionsByStatus {
		sessions += n
	}
	return o.LinksMade == 0 && sessions == 0
}

// Overview returns the collected amounts, counts and daily series for one
// mode, read from a single snapshot so the figures agree with each other.
func (s *Store) Overview(ctx context.Context, q OverviewQuery) (*Overview, error) {
	if q.Loc == nil {
		q.Loc = time.UTC
	}
	if q.Days <= 0 {
		q.Days = 30
	}
	y, m, d := q.Now.In(q.Loc).Date()
	today := DayStart(y, m, d, q.Loc)
	tomorrow := DayStart(y, m, d+1, q.Loc)
	month := DayStart(y, m, 1, q.Loc)
	starts := make([]time.Time, q.Days)
	for i := range starts {
		starts[i] = DayStart(y, m, d-(q.Days-1)+i, q.Loc)
	}

	o := &Overview{SessionsByStatus: map[string]int64{}, LinksByStatus: map[string]int64{}}
	err := s.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var sums struct{ Today, Month int64 }
		err := inMode(tx.Table(paidSessions), "mode", q.Mode).
			Select("COALESCE(SUM(CASE WHEN paid_at >= ? THEN amount END), 0) AS today, COALESCE(SUM(amount), 0) AS month", today.UTC()).
			Where("status = '"+StatusPaid+"' AND paid_at >= ? AND paid_at < ?", month.UTC(), tomorrow.UTC()).
			Scan(&sums).Error
		if err != nil {
			return err
		}
		o.Today, o.Month = sums.Today, sums.Month

		if o.Days, err = dailyCollected(tx, q.Mode, starts, tomorrow); err != nil {
			return err
		}
		if err := countByStatus(tx, &Session{}, q.Mode, o.SessionsByStatus); err != nil {
			return err
		}
		if err := countByStatus(tx, &Link{}, q.Mode, o.LinksByStatus); err != nil {
			return err
		}
		// Open links past their expiry are counted apart, as the links
		// list shows them, so that each count matches its filtered list.
		var expired int64
		err = inMode(tx.Model(&Link{}), "mode", q.Mode).Where("status = ? AND expires_at <= ?", LinkOpen, q.Now.UTC()).Count(&expired).Error
		if err != nil {
			return err
		}
		if expired > 0 {
			o.LinksByStatus[LinkOpen] -= expired
			o.LinksByStatus[LinkExpired] = expired
		}
		for _, n := range o.LinksByStatus {
			o.LinksMade += n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// dailyCollected sums paid sessions per day in one pass over the window
// [starts[0], end): each payment goes to the last day that starts at or before
// it. Day bounds come from Go because SQLite knows nothing of Santiago's
// daylight saving time.
func dailyCollected(tx *gorm.DB, mode string, starts []time.Time, end time.Time) ([]DayTotal, error) {
	values := make([]string, len(starts))
	args := make([]any, 0, len(starts)+4)
	for i, start := range starts {
		values[i] = "(?, ?)"
		if onPostgres(tx) {
			values[i] = "(?::integer, ?::timestamptz)"
		}
		args = append(args, i, start.UTC())
	}
	sql := "WITH days(i, start) AS (VALUES " + strings.Join(values, ", ") + ") " +
		"SELECT (SELECT MAX(days.i) FROM days WHERE days.start <= sessions.paid_at) AS i, SUM(sessions.amount) AS amount " +
		"FROM " + paidSessions + " WHERE sessions.status = '" + StatusPaid + "' AND sessions.paid_at >= ? AND sessions.paid_at < ?"
	args = append(args, starts[0].UTC(), end.UTC())
	if mode != "" {
		sql += " AND sessions.mode = ?"
		args = append(args, mode)
	}
	sql += " GROUP BY 1"
	var rows []struct {
		I      int
		Amount int64
	}
	if err := tx.Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	days := make([]DayTotal, len(starts))
	for i, start := range starts {
		days[i].Day = start
	}
	for _, r := range rows {
		if r.I >= 0 && r.I < len(days) {
			days[r.I].Amount = r.Amount
		}
	}
	return days, nil
}

// countByStatus counts model's rows per status into into.
func countByStatus(tx *gorm.DB, model any, mode string, into map[string]int64) error {
	var rows []struct {
		Status string
		N      int64
	}
	err := inMode(tx.Model(model), "mode", mode).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error
	for _, r := range rows {
		into[r.Status] = r.N
	}
	return err
}

// inMode narrows q to one mode; an empty mode means both.
// paidSessions reads sessions through the index of paid ones by paid_at, for
// sums over a window. Pinned, since without statistics SQLite prefers an
// index on status alone and reads every paid session; queries through it
// spell out status = 'paid', the index's condition.
const paidSessions = "sessions INDEXED BY idx_sessions_paid"

func inMode(q *gorm.DB, column, mode string) *gorm.DB {
	if mode == "" {
		return q
	}
	return q.Where(column+" = ?", mode)
}

// DayStart returns the first instant of the calendar day y-m-d in loc (d may
// run past the month, as in time.Date). Where midnight does not exist, as on
// the day Chile moves its clocks forward at 24:00, the day starts when the
// clocks jump, not at 23:00 of the day before, which time.Date may return.
func DayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, loc).Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if t.Day() != d {
		_, end := t.ZoneBounds()
		t = end
	}
	return t
}

// AttentionQuery asks for what needs a person.
type AttentionQuery struct {
	// Mode is "live" or "sandbox"; empty means both. Rejected notifications
	// are counted whatever the mode, since a forgery names no real session.
	Mode string
	// RejectedSince starts the window of rejected notifications counted.
	RejectedSince time.Time
	// PendingBefore: sessions created before it and still pending are stale.
	PendingBefore time.Time
	// Limit caps the links and sessions listed (20 if unset); counts are exact.
	Limit int
}

// Attention is what needs a person on the overview page.
type Attention struct {
	// Review lists links whose payment needs a person (ReviewReason set), newest first.
	Review      []Link
	ReviewCount int64
	// Conflicts lists sessions where ETpay contradicted a confirmed payment, newest first.
	Conflicts     []Session
	ConflictCount int64
	// Rejected counts rejected notifications per reason, most frequent first.
	Rejected []RejectedReason
	// RejectedWithoutBody counts the rejected notifications of the window
	// stored without their body because the hourly budget was spent.
	RejectedWithoutBody int64
	// StalePending counts sessions still pending since before PendingBefore.
	StalePending int64
}

// RejectedReason counts rejected notifications for one reason.
type RejectedReason struct {
	Reason string
	// Count is deliveries in the window. An identical rejected body is counted
	// on its first row; when that row is older than the window, only its last
	// delivery is known to fall inside it, so it adds one.
	Count int64
	// Last is when the latest of them arrived.
	Last time.Time
}

// Any reports whether anything needs attention.
func (a *Attention) Any() bool {
	return a.ReviewCount > 0 || a.ConflictCount > 0 || len(a.Rejected) > 0 || a.StalePending > 0
}

// NeedsAttention returns links to review, conflicting sessions, recently
// rejected notifications and stale pending sessions.
func (s *Store) NeedsAttention(ctx context.Context, q AttentionQuery) (*Attention, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	a := &Attention{}
	err := s.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		review := func() *gorm.DB { return inMode(tx.Model(&Link{}), "mode", q.Mode).Where("review_reason <> ''") }
		if err := review().Count(&a.ReviewCount).Error; err != nil {
			return err
		}
		if err := review().Order("id DESC").Limit(q.Limit).Find(&a.Review).Error; err != nil {
			return err
		}
		conflicts := func() *gorm.DB { return inMode(tx.Model(&Session{}), "mode", q.Mode).Where("conflict") }
		if err := conflicts().Count(&a.ConflictCount).Error; err != nil {
			return err
		}
		if err := conflicts().Order("id DESC").Limit(q.Limit).Find(&a.Conflicts).Error; err != nil {
			return err
		}
		err := inMode(tx.Model(&Session{}), "mode", q.Mode).
			Where("status = ? AND created_at < ?", StatusPending, q.PendingBefore.UTC()).
			Count(&a.StalePending).Error
		if err != nil {
			return err
		}
		a.Rejected, a.RejectedWithoutBody, err = rejectedBetween(tx, q.RejectedSince.UTC(), time.Time{})
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// rejectedBetween counts rejected deliveries after since (and up to until,
// unless zero) by reason, and how many of them were kept without a body.
func rejectedBetween(tx *gorm.DB, since, until time.Time) ([]RejectedReason, int64, error) {
	var rows []struct {
		Reason  string
		Total   int64
		Dropped int64
		Last    string
	}
	err := tx.Model(&Notification{}).
		Select("reason, SUM(CASE WHEN received_at >= ? THEN count ELSE 1 END) AS total, "+
			"SUM(CASE WHEN body_dropped THEN 1 ELSE 0 END) AS dropped, MAX(last_received_at) AS last", since).
		Where("verdict = ? AND last_received_at >= ?", VerdictRejected, since).
		Where("? OR last_received_at <= ?", until.IsZero(), until).
		Group("reason").Order("total DESC, reason").
		Scan(&rows).Error
	if err != nil {
		return nil, 0, err
	}
	out := make([]RejectedReason, len(rows))
	var dropped int64
	for i, r := range rows {
		out[i] = RejectedReason{Reason: r.Reason, Count: r.Total, Last: parseStoredTime(r.Last)}
		dropped += r.Dropped
	}
	return out, dropped, nil
}

// parseStoredTime reads a time as the SQLite driver writes it; an aggregate
// such as MAX() comes back as text because it has no declared column type.
func parseStoredTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
