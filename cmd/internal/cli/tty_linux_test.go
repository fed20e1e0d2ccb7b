package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/nnkit/nnkit/internal/ptytest"
)

// The live progress line goes to terminals only: not to a pipe, a file,
// /dev/null (a character device, which a mode check alone would take for
// a terminal), a buffer, or a terminal that says TERM=dumb.
func TestLiveProgressOnlyOnTerminals(t *testing.T) {
	_, pty := ptytest.Open(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	t.Setenv("TERM", "xterm-256color")
	for name, c := range map[string]struct {
		w    any
		want bool
	}{
		"pty": {pty, true}, "pipe": {w, false}, "file": {file, false}, "/dev/null": {null, false}, "buffer": {&bytes.Buffer{}, false},
	} {
		out := c.w.(interface{ Write([]byte) (int, error) })
		if got := LiveProgress(out); got != c.want {
			t.Errorf("%s: LiveProgress %v, want %v", name, got, c.want)
		}
	}
	t.Setenv("TERM", "dumb")
	if LiveProgress(pty) {
		t.Error("TERM=dumb: live progress on")
	}
	// A terminal reports its width; anything else 0.
	ws := struct{ Row, Col, X, Y uint16 }{24, 97, 0, 0}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, pty.Fd(), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); e != 0 {
		t.Fatal(e)
	}
	if got := TerminalWidth(pty); got != 97 {
		t.Errorf("pty width %d, want 97", got)
	}
	if got := TerminalWidth(w); got != 0 {
		t.Errorf("pipe width %d", got)
	}
}
