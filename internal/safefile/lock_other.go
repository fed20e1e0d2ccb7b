//go:build !unix

package safefile

import (
	"os"
	"time"
)

func lockFile(*os.File, bool) error { return nil }

// stale: without flock, a temporary untouched for an hour counts as left
// behind.
func stale(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && time.Since(st.ModTime()) > time.Hour
}
