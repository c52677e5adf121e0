package models

import (
	"math/bits"
	"strconv"
	"strings"
	"sync/atomic"
)

// groupBuckets is how many power-of-two sizes NoteGroups counts groups by:
// 1, 2–3, 4–7, …, 128–255 and 256 (maxNoteBatch).
const groupBuckets = 9

// groupCounter counts the writer's groups by size; only the writer adds,
// anyone may read.
type groupCounter struct {
	groups, notes atomic.Int64
	bySize        [groupBuckets]atomic.Int64
}

func (c *groupCounter) add(n int) {
	c.groups.Add(1)
	c.notes.Add(int64(n))
	c.bySize[min(bits.Len(uint(n))-1, groupBuckets-1)].Add(1)
}

// NoteGroups is how the writer has grouped notifications since the Store
// opened: a group is one transaction and one commit (see notifier), so its
// size is what a commit's cost is shared by.
type NoteGroups struct {
	Groups, Notifications int64
	// BySize counts groups of 1, 2–3, 4–7, … 128–255 notifications, then 256.
	BySize [groupBuckets]int64
}

// NoteGroups reads the writer's group counters.
func (s *Store) NoteGroups() NoteGroups {
	c := &s.notes.groups
	g := NoteGroups{Groups: c.groups.Load(), Notifications: c.notes.Load()}
	for i := range g.BySize {
		g.BySize[i] = c.bySize[i].Load()
	}
	return g
}

// Mean is the notifications per group (0 before the first).
func (g NoteGroups) Mean() float64 {
	if g.Groups == 0 {
		return 0
	}
	return float64(g.Notifications) / float64(g.Groups)
}

// Since is what happened between an earlier reading and g.
func (g NoteGroups) Since(earlier NoteGroups) NoteGroups {
	d := NoteGroups{Groups: g.Groups - earlier.Groups, Notifications: g.Notifications - earlier.Notifications}
	for i := range d.BySize {
		d.BySize[i] = g.BySize[i] - earlier.BySize[i]
	}
	return d
}

// String lists the non-empty sizes, e.g. "1:3 16-31:120 32-63:4".
func (g NoteGroups) String() string {
	var b strings.Builder
	for i, n := range g.BySize {
		if n == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		lo, hi := 1<<i, 1<<(i+1)-1
		b.WriteString(strconv.Itoa(lo))
		if hi > lo && i < groupBuckets-1 {
			b.WriteString("-" + strconv.Itoa(hi))
		}
		b.WriteString(":" + strconv.FormatInt(n, 10))
	}
	return b.String()
}
