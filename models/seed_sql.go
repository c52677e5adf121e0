package models

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DemoBatch is a batch of demo rows with their INSERT statements written
// out, ready for InsertDemoBatch. PrepareDemo makes one on the caller's
// goroutine, so a seed writes the text of a batch while the writer
// connection inserts the one before.
//
// The rows' values, ids included, are in the statements' text as SQL
// literals, not bound parameters: the driver prepares every statement anew
// and binds parameters in quadratic time (each parameter looked for among
// all the arguments), so binding a 16-row INSERT cost the writer half as
// much as parsing it, and a bigger one more. The values are demo data made
// by this program, never text from outside, and sqlLiteral writes every
// kind they come in exactly as the driver would bind it.
//
// The ids are the ones the batch expects to get (first): those after the
// previous batch. The writer checks them once it holds the lock, and if
// another writer took some meanwhile it writes the statements again with
// the right ones (InsertDemoBatch), so a batch never holds a wrong id.
// (With the ids as parameters plus each row's place, ?1+k, SQLite compares
// every such expression with all the others of the statement, to compute
// equal ones once: quadratic again, 0.8 s of a 200,000-link seed.)
type DemoBatch struct {
	rows                   []DemoLink
	first                  DemoIDs
	links, sessions, notes []string // the INSERTs, demoChunk rows each
	nNotes                 int
}

// DemoIDs are the ids the next rows of each demo table get.
type DemoIDs struct {
	Link, Session, Notification uint
}

// Next is the ids of the rows after b's.
func (b *DemoBatch) Next() DemoIDs {
	n := uint(len(b.rows))
	return DemoIDs{b.first.Link + n, b.first.Session + n, b.first.Notification + uint(b.nNotes)}
}

// NextDemoIDs reads the ids the next rows of each demo table would get
// now: the first guess of a seed's first batch.
func (s *Store) NextDemoIDs(ctx context.Context) (DemoIDs, error) {
	db, err := s.read.DB()
	if err != nil {
		return DemoIDs{}, err
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return DemoIDs{}, err
	}
	defer tx.Rollback()
	last, err := lastDemoIDs(ctx, tx)
	return last.next(), err
}

// demoChunk is how many rows one INSERT carries. Parsing costs about the
// same per row whatever the size; what a statement costs beside its rows
// (preparing, opening the table, finalizing) is shared by more of them.
// Measured on 60,000 demo links, the writer's CPU: 16 rows 4.3 s, 32 rows
// 4.0–4.2 s, 128 rows 3.4–3.8 s, 256 rows 3.9 s, 600 rows 4.8–5.0 s (a
// multi-row VALUES is a compound SELECT of one term per row).
const demoChunk = 128

// errNulInDemo: SQLite ends a statement's text at a NUL byte, so a string
// holding one cannot be written as a literal (demo data never holds one).
var errNulInDemo = errors.New("demo row text holds a NUL byte")

// PrepareDemo writes out the INSERT statements of rows, their ids from first.
func PrepareDemo(rows []DemoLink, first DemoIDs) (*DemoBatch, error) {
	links, sessions, notes := newDemoStmts("links", linkColumns), newDemoStmts("sessions", demoSessionColumns), newDemoStmts("notifications", notificationColumns)
	b := &DemoBatch{rows: rows, first: first}
	note := first.Notification
	for k := range rows {
		d := &rows[k]
		link, session := strconv.FormatUint(uint64(first.Link)+uint64(k), 10), strconv.FormatUint(uint64(first.Session)+uint64(k), 10)
		if err := links.row(link, demoLinkValues(&d.Link)[1:]); err != nil {
			return nil, err
		}
		if err := sessions.row(session+","+link, demoSessionValues(&d.Session)[2:]); err != nil {
			return nil, err
		}
		for j := range d.Notifications {
			if err := notes.row(strconv.FormatUint(uint64(note), 10)+","+session, demoNotificationValues(&d.Notifications[j], 0)[2:]); err != nil {
				return nil, err
			}
			note++
		}
	}
	b.nNotes = int(note - first.Notification)
	b.links, b.sessions, b.notes = links.done(), sessions.done(), notes.done()
	return b, nil
}

// demoStmts writes the INSERTs of one table, demoChunk rows each.
type demoStmts struct {
	head  string // the INSERT up to VALUES
	buf   []byte // the statement being written
	rows  int    // and how many rows it holds
	stmts []string
}

func newDemoStmts(table string, columns []string) *demoStmts {
	return &demoStmts{head: "INSERT INTO " + table + " (" + strings.Join(columns, ",") + ") VALUES "}
}

// row adds a row: ids (its id and the ids it refers to, written out),
// then its other values, in the columns' order.
func (t *demoStmts) row(ids string, values []any) error {
	if t.rows == 0 {
		t.buf = append(t.buf[:0], t.head...)
	} else {
		t.buf = append(t.buf, ',')
	}
	t.buf = append(append(t.buf, '('), ids...)
	for _, v := range values {
		var err error
		if t.buf, err = sqlLiteral(append(t.buf, ','), v); err != nil {
			return err
		}
	}
	t.buf = append(t.buf, ')')
	if t.rows++; t.rows == demoChunk {
		t.end()
	}
	return nil
}

// end closes the statement being written, if any.
func (t *demoStmts) end() {
	if t.rows > 0 {
		t.stmts = append(t.stmts, string(t.buf))
		t.rows = 0
	}
}

// done is every statement of the table.
func (t *demoStmts) done() []string {
	t.end()
	return t.stmts
}

// sqlLiteral appends v, one of the kinds of value demo rows hold, as the
// SQL literal of what the driver binds for it: a string as text ('
// doubled, the one character a string literal escapes), an integer as an
// integer, a bool as 0 or 1, a time as text in the driver's format, nil
// as NULL.
func sqlLiteral(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "NULL"...), nil
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			return buf, errNulInDemo
		}
		return appendQuoted(buf, x), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(buf, uint64(x), 10), nil
	case bool: // SQLite reads TRUE and FALSE as 1 and 0; PostgreSQL needs them
		if x {
			return append(buf, "TRUE"...), nil
		}
		return append(buf, "FALSE"...), nil
	case time.Time:
		return appendQuoted(buf, x.Format(driverTimeFormat)), nil
	}
	return buf, errors.New("demo row value of an unexpected type")
}

// appendQuoted appends s as an SQL string literal.
func appendQuoted(buf []byte, s string) []byte {
	buf = append(buf, '\'')
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			break
		}
		buf = append(append(buf, s[:i+1]...), '\'')
		s = s[i+1:]
	}
	return append(append(buf, s...), '\'')
}

// driverTimeFormat is how the driver writes a time.Time it binds (its
// default, the first of the formats it reads back), so demo rows keep
// their times exactly as rows written through GORM do.
const driverTimeFormat = "2006-01-02 15:04:05.999999999-07:00"
