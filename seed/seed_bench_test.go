package seed

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"etpay-dashboard/models"
)

// BenchmarkSeed seeds SEED_N demo links (default 20,000) into a fresh
// database per iteration: `go test ./seed -run '^$' -bench Seed -benchtime
// 1x -cpuprofile cpu.out` with SEED_N=200000 is the load script's seed
// without the process around it.
func BenchmarkSeed(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("SEED_N")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := models.Open(ctx, filepath.Join(b.TempDir(), "seed.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Run(ctx, s, n); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
	}
}
