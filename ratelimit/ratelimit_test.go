package ratelimit

import (
	"testing"
	"time"
)

func TestBucketSpendsBurstThenRefillsAtRate(t *testing.T) {
	l := New(2, 4) // 2 a second, bursts of 4
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		if ok, _ := l.Take(1, now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Take(1, now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("fifth request at once: ok=%v wait=%v, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.Take(2, now); !ok {
		t.Fatal("another key shares the first one's bucket")
	}
	if ok, _ := l.Take(1, now.Add(499*time.Millisecond)); ok {
		t.Fatal("a token came back early")
	}
	if ok, _ := l.Take(1, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("no token after 500ms at 2 a second")
	}
	if ok, _ := l.Take(1, now.Add(time.Hour)); !ok {
		t.Fatal("an idle key stays refused")
	}
	for range 3 {
		l.Take(1, now.Add(time.Hour))
	}
	if ok, _ := l.Take(1, now.Add(time.Hour)); ok {
		t.Fatal("a bucket idle for an hour holds more than its burst")
	}
	if ok, _ := l.Take(1, now); ok {
		t.Fatal("a clock that went back earned tokens")
	}
}

func TestForgetsOnlyFullBuckets(t *testing.T) {
	l := New(1, 2)
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for key := range uint(maxBuckets) {
		l.Take(key, now)
	}
	l.Take(0, now) // key 0 is empty now; the others hold one token
	l.Take(maxBuckets, now.Add(time.Second))
	if _, kept := l.buckets[0]; !kept {
		t.Fatal("a bucket that was not full was forgotten")
	}
	if len(l.buckets) != 2 {
		t.Fatalf("%d buckets kept, want key 0 and the new one", len(l.buckets))
	}
}
