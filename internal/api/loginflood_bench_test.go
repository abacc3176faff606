package api_test

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/server/servertest"
)

// memoryPeak samples the process's resident memory (Linux) and live heap
// every few milliseconds until stop is closed, then sends the peaks.
func memoryPeak(stop <-chan struct{}) <-chan [2]uint64 {
	out := make(chan [2]uint64, 1)
	go func() {
		var peak [2]uint64
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak[0] = max(peak[0], residentBytes())
			peak[1] = max(peak[1], sample[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// residentBytes is the process's resident set size, from /proc (0 elsewhere).
func residentBytes() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkLoginFlood sends 128 concurrent wrong-password logins for one
// account per iteration (the attack that took an unbounded server from 111
// MiB to 3.2 GiB) and reports the peak resident memory and live heap of the
// process serving them, with the default limits and with the login budgets
// off, where the hashing bound alone holds memory.
func BenchmarkLoginFlood(b *testing.B) {
	for _, tc := range []struct {
		name  string
		tweak func(*server.Config)
	}{
		{"default-limits", func(*server.Config) {}},
		{"budgets-off", limits(0, 0, 0)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			env := servertest.New(b, servertest.SQLite, tc.tweak)
			env.NewUser(b, "victim@example.com")
			runtime.GC()
			base := residentBytes()
			stop := make(chan struct{})
			peaks := memoryPeak(stop)
			refused := 0
			b.ResetTimer()
			for b.Loop() {
				got := flood(b, []*servertest.Env{env}, 128, func(int) map[string]any { return wrong("victim@example.com") })
				refused += got[429]
			}
			b.StopTimer()
			close(stop)
			peak := <-peaks
			_, hashes := env.App.Identity.PasswordHashes()
			b.ReportMetric(float64(base)/(1<<20), "base-rss-MiB")
			b.ReportMetric(float64(peak[0])/(1<<20), "peak-rss-MiB")
			b.ReportMetric(float64(peak[1])/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(hashes), "peak-hashes")
			b.ReportMetric(float64(refused)/float64(128*b.N), "refused/op")
		})
	}
}
