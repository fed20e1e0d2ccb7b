//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking flock on f; it is released
// when f is closed or the process dies.
func lockFile(f *os.File, _ bool) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// stale reports whether a temporary is not held by a live writer.
func stale(f *os.File) bool { return lockFile(f, false) == nil }
