package safefile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// NotRegularError reports a path that names something other than a regular
// file where a file's contents were expected.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: is %s, not a regular file", e.Path, Describe(e.Mode))
}

// Describe names the kind of file a mode stands for ("a named pipe (FIFO)").
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file (mode " + m.String() + ")"
}

// Open opens path for reading if it is a regular file (symbolic links are
// followed) and returns it with its FileInfo. Anything else is a
// *NotRegularError, found without blocking: the path is checked with stat
// before opening, opened with O_NONBLOCK (which makes opening a FIFO
// return at once), and the opened descriptor is checked again.
func Open(path string) (*os.File, fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, &NotRegularError{path, st.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, &NotRegularError{path, st.Mode()}
	}
	return f, st, nil
}

// ReadFile reads a regular file whole, refusing files larger than limit
// bytes (limit ≤ 0: no limit) before reading them.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, st, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if limit > 0 && st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the limit of %d", path, st.Size(), limit)
	}
	buf := make([]byte, st.Size())
	n, err := readFull(f, buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return buf[:n], nil
}

// readFull reads until buf is full or EOF (a file that shrank since stat
// gives a shorter result, not an error).
func readFull(f *os.File, buf []byte) (int, error) {
	n, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return n, err
}
