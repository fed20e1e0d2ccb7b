package cli

import (
	"io"
	"os"
)

// LiveProgress reports whether a progress line redrawn in place (carriage
// return, erase to end of line) should be written to w: only when w is a
// terminal that understands the erase sequence (TERM is not "dumb"). Piped
// or redirected output, /dev/null included, gets none.
func LiveProgress(w io.Writer) bool {
	return IsTerminal(w) && os.Getenv("TERM") != "dumb"
}

// TerminalWidth is the width in columns of the terminal w is, or 0 when w
// is not a terminal or does not say.
func TerminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !isTTY(f) {
		return 0
	}
	return termWidth(f)
}
