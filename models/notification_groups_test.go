package models

import (
	"context"
	"strconv"
	"testing"
)

// TestNoteGroupsCountsTheWritersGroups: notifications recorded one after
// another are groups of one each, counted as the writer takes them.
func TestNoteGroupsCountsTheWritersGroups(t *testing.T) {
	s := mixedStore(t)
	before := s.NoteGroups()
	notes := mixedNotes()
	for _, in := range notes {
		if _, err := s.RecordNotification(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	g := s.NoteGroups().Since(before)
	n := int64(len(notes))
	if g.Groups != n || g.Notifications != n || g.Mean() != 1 || g.String() != "1:"+strconv.Itoa(len(notes)) {
		t.Errorf("after %d notifications one by one: %+v (%s), want %d groups of 1", n, g, g, n)
	}
}

func TestNoteGroupsBySize(t *testing.T) {
	s := &Store{notes: &notifier{}}
	for _, n := range []int{1, 3, 2, 32, 63, 255, 256} {
		s.notes.groups.add(n)
	}
	g := s.NoteGroups()
	if want := "1:1 2-3:2 32-63:2 128-255:1 256:1"; g.String() != want {
		t.Errorf("String() = %q, want %q", g.String(), want)
	}
	if g.Groups != 7 || g.Notifications != 612 {
		t.Errorf("groups, notifications = %d, %d; want 7, 612", g.Groups, g.Notifications)
	}
	if (NoteGroups{}).Mean() != 0 {
		t.Error("Mean of no groups is not 0")
	}
}
