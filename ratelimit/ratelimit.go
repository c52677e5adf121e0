// Package ratelimit keeps a token bucket per key (an API key's id) in
// memory: each key may make rate requests a second on average, in bursts of
// up to burst. A restart refills every bucket; each process keeps its own.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// maxBuckets bounds the memory kept: past it, buckets that have filled up
// again (keys idle long enough to be back at a full burst) are forgotten.
const maxBuckets = 10_000

// Limiter is a set of token buckets, safe for concurrent use.
type Limiter struct {
	rate  float64 // tokens added a second
	burst float64 // most tokens a bucket holds

	mu      sync.Mutex
	buckets map[uint]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// New makes a limiter of rate requests a second, in bursts of up to burst.
func New(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: float64(burst), buckets: map[uint]*bucket{}}
}

// Take spends one of key's tokens at now. When none is left it spends
// nothing and says how long until one is there.
func (l *Limiter) Take(key uint, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
}

// refill adds the tokens earned since b was last brought up to date. A
// clock that went back earns nothing.
func (l *Limiter) refill(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.at = now
	}
}

// forgetFull drops the buckets that are full at now: a new bucket starts
// full, so forgetting them changes no answer.
func (l *Limiter) forgetFull(now time.Time) {
	for key, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, key)
		}
	}
}
