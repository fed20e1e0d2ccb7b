//go:build !linux

package exec

import "time"

// threadCPU is not measured outside Linux; benchmarks then skip the
// CPU-time figures.
func threadCPU() time.Duration { return 0 }
