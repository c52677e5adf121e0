package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"etpay-dashboard/models"
)

// TestSearchCPU is the load script's search phase alone, on a copy of an
// already seeded database (SEARCHDB=path, made by `etpay-dashboard seed
// --sessions 200000`): a minute or two instead of the whole script, to
// measure a change to the search by its server CPU per request.
// SEARCH_FRESH=1 first adds the load script's 40,000 links opened minutes
// ago and pays them through the webhook, as its ingest phase does (their
// order ids share one new prefix, PED-<run>-, so its trigrams are in none of
// the older links and in every new one). The searches by id and the links'
// first page are timed too.
//
//	SEARCHDB=/tmp/base.db [SEARCH_FRESH=1] go test -run '^TestSearchCPU$' -count=1 -v .
func TestSearchCPU(t *testing.T) {
	src := os.Getenv("SEARCHDB")
	if src == "" {
		t.Skip("needs SEARCHDB, a seeded database to copy")
	}
	dir := t.TempDir()
	r := &loadRun{t: t, bin: filepath.Join(dir, "etpay-dashboard"), db: filepath.Join(dir, "load.db")}
	copyFile(t, src, r.db)
	r.buildServer()
	r.logFile, _ = os.Create(filepath.Join(dir, "server.log"))
	defer r.logFile.Close()
	r.start()
	defer r.stop()
	store, err := models.Open(context.Background(), r.databaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if os.Getenv("SEARCH_FRESH") != "" {
		r.goDeliveries(signedBodies(t, r.freshSessions(store, freshLinks)))
	}
	recent, err := store.ListSessions(context.Background(), models.SessionPage{SessionFilter: models.SessionFilter{Status: models.StatusPaid}, Limit: 500})
	if err != nil || len(recent) == 0 {
		t.Fatalf("recent paid sessions: %v", err)
	}
	clients := make([]*http.Client, staffConns)
	for i := range clients {
		clients[i] = r.login()
	}
	t.Logf("load average %s", loadAverage())
	r.idSearchesAndLinks(clients, recent, r.healthz())
	r.searches(store, clients, recent)
	t.Logf("load average %s", loadAverage())
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
