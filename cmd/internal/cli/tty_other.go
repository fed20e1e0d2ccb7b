//go:build !linux && !darwin

package cli

import "os"

// isTTY: without a terminal ioctl, a character device other than the null
// device counts as a terminal.
func isTTY(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(st, null) {
		return false
	}
	return true
}

func termWidth(*os.File) int { return 0 }
