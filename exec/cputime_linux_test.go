package exec

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time the calling OS thread has used (getrusage
// RUSAGE_THREAD): unlike wall time it does not grow while other processes
// hold the cores, so per-core kernel speed can be measured on a busy
// machine.
func threadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
