package sgemm

import (
	"syscall"
	"time"
)

// threadCPU is the calling OS thread's CPU time (getrusage RUSAGE_THREAD),
// which other processes' load does not inflate.
func threadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
