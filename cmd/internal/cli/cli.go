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

// NewFlagSet returns the flag set of the command called name (in its
// usage and errors) for Parse: it continues on error and writes to stderr.
func NewFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses args with fs, allowing flags anywhere among the positional
// arguments. "--" ends flag parsing; everything after it is positional. It
// returns the positional arguments in order. fs should use
// flag.ContinueOnError (as NewFlagSet's do). A flag error is a UsageError already shown; -h and
// --help return one wrapping flag.ErrHelp after fs.Usage ran (ExitCode
// maps it to ExitOK).
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
		return nil, &UsageError{Err: err, Shown: true} // fs printed it (or the help)
	}
	return append(pos, fs.Args()...), nil
}

// UsageError is a bad command line, or an input the command cannot use (a
// model or data file that does not load): exit code ExitUsage. Shown says
// its message has been printed already (the flag package prints its own).
type UsageError struct {
	Err   error
	Shown bool
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }
func (e *UsageError) ExitCode() int { return ExitUsage }

// Usagef makes a UsageError; %w wraps an error as in fmt.Errorf.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// Usage marks err as a usage or input error. nil stays nil, and an error
// that already chooses its exit code keeps it.
func Usage(err error) error {
	var ec ExitCoder
	if err == nil || errors.As(err, &ec) {
		return err
	}
	return &UsageError{Err: err}
}

// IsUsage reports whether err is a usage error (including flag errors).
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// ExitCoder is an error that chooses the command's exit code.
type ExitCoder interface {
	error
	ExitCode() int
}

// Code is an exit code as an error, for an outcome whose messages have
// been printed already (nnlint's per-file problems and findings, an
// interrupted training): Reporter.Report prints nothing for it.
type Code int

func (c Code) Error() string { return fmt.Sprintf("exit status %d", int(c)) }
func (c Code) ExitCode() int { return int(c) }

// ExitCode is the exit code for err: ExitOK for nil and for -h
// (flag.ErrHelp), the code of the first ExitCoder in err's chain
// (ExitUsage for a UsageError), else ExitFindings: the command ran and
// failed.
func ExitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitFindings
}

// Reporter prints a command's error and decides its exit code, the same
// way for every nnkit command.
type Reporter struct {
	W      io.Writer
	Prefix string // "nntrain", "nnlint rules"
	// Clean, when set, makes a message that names the user's files and
	// nodes safe to print (control characters escaped).
	Clean func(string) string
}

// Report prints "Prefix: message" for err, unless there is nothing to
// print (nil, -h, a message already shown, a Code), and returns the exit
// code (ExitCode).
func (r Reporter) Report(err error) int {
	code := ExitCode(err)
	var u *UsageError
	var c Code
	if code == ExitOK || (errors.As(err, &u) && u.Shown) || errors.As(err, &c) {
		return code
	}
	msg := err.Error()
	if r.Clean != nil {
		msg = r.Clean(msg)
	}
	fmt.Fprintf(r.W, "%s: %s\n", r.Prefix, msg)
	return code
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
