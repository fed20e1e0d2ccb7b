// Package cli holds what nnkit's commands share: flag parsing that accepts
// flags before or after positional arguments (as people type them:
// `nntrain model.onnx data/ --epochs 3`), exit codes, and TTY detection.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes shared by every nnkit command.
const (
	ExitOK       = 0 // success, nothing at or above the failure threshold
	ExitFindings = 1 // findings (nnlint) or training failed (nntrain)
	ExitUsage    = 2 // usage error or unreadable input
	// ExitInternal reports a bug in nnkit itself (a recovered panic), so
	// that CI can tell it from bad input. It wins over the other codes.
	ExitInternal = 3
)

// boolFlag is the interface flag's boolean values implement.
type boolFlag interface{ IsBoolFlag() bool }

// Parse parses args with fs, allowing flags anywhere among the positional
// arguments. "--" ends flag parsing; everything after it is positional. It
// returns the positional arguments in order. fs should use
// flag.ContinueOnError; -h/--help returns flag.ErrHelp after fs.Usage ran.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // let fs report the unknown flag
		}
		if bf, ok := f.Value.(boolFlag); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return append(pos, fs.Args()...), nil
}

// UsageError is returned for bad command lines; commands exit 2 on it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef makes a UsageError.
func Usagef(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

// IsUsage reports whether err is a usage error (including flag errors).
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Recorder is a Writer that remembers the first write error, so that a
// command can report output it could not write (a full disk, a closed
// pipe, /dev/full) and exit non-zero instead of succeeding silently.
type Recorder struct {
	W   io.Writer
	Err error
}

func (r *Recorder) Write(p []byte) (int, error) {
	n, err := r.W.Write(p)
	if err != nil && r.Err == nil {
		r.Err = err
	}
	return n, err
}

// IsTerminal reports whether w is a terminal (asked of the kernel, so
// that /dev/null and other character devices do not count), so that
// colour and progress lines are used only there. NO_COLOR disables colour
// whatever the output is.
func IsTerminal(w io.Writer) bool {
	if r, ok := w.(*Recorder); ok {
		w = r.W
	}
	f, ok := w.(*os.File)
	return ok && isTTY(f)
}

// ColorEnabled reports whether to colour output written to w.
func ColorEnabled(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	return IsTerminal(w)
}
