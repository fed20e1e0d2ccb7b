package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
)

// Target says how an output path will be written.
type Target struct {
	// Path is where the data goes: the path itself, or for a symbolic link
	// to a regular file the file it points to (the link is kept).
	Path string
	// Direct is true for character devices, FIFOs and sockets: they are
	// opened and written, never replaced.
	Direct bool
}

// Resolve classifies an output path. A path that does not exist or names a
// regular file (directly or through symbolic links) is written by
// temporary file and rename; a character device, FIFO or socket is written
// directly; a directory, a block device or a dangling symbolic link is
// refused.
func Resolve(path string) (Target, error) {
	lst, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Target{Path: path}, nil
	}
	if err != nil {
		return Target{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return Target{}, fmt.Errorf("%s: is a symbolic link to %v", path, err)
	}
	m := st.Mode()
	switch {
	case m.IsRegular():
		if lst.Mode()&fs.ModeSymlink != 0 {
			real, err := filepath.EvalSymlinks(path)
			if err != nil {
				return Target{}, err
			}
			return Target{Path: real}, nil
		}
		return Target{Path: path}, nil
	case m&(fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0:
		return Target{Path: path, Direct: true}, nil
	}
	return Target{}, fmt.Errorf("%s: is %s; write to a regular file (or a character device or pipe such as /dev/stdout)", path, Describe(m))
}

// A Tx writes the files of one output all-or-nothing: Add writes each to a
// locked temporary next to its target, Commit renames them into place in
// the order they were added (so add a model's data files before the model
// that references them). Abort, or a failed Add or Commit, removes the
// temporaries.
type Tx struct {
	items []*item
}

type item struct {
	target Target
	tmp    string
	f      *os.File // the locked temporary, open until Commit or Abort
	data   []byte   // for direct targets, written at Commit
}

// Add writes data for path. Targets that are devices or pipes are written
// at Commit, and only as the single file of a Tx.
func (tx *Tx) Add(path string, data []byte) error {
	t, err := Resolve(path)
	if err != nil {
		tx.Abort()
		return err
	}
	if t.Direct || len(tx.items) > 0 && tx.items[0].target.Direct {
		if len(tx.items) > 0 {
			tx.Abort()
			return fmt.Errorf("%s: cannot write several files to a device or pipe", path)
		}
		tx.items = append(tx.items, &item{target: t, data: data})
		return nil
	}
	f, err := createTemp(t.Path)
	if err != nil {
		tx.Abort()
		return err
	}
	it := &item{target: t, tmp: f.Name(), f: f}
	tx.items = append(tx.items, it)
	perm := fs.FileMode(0o644)
	if st, err := os.Stat(t.Path); err == nil {
		perm = st.Mode().Perm() // keep the permissions of the file replaced
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(perm)
	}
	if err != nil {
		tx.Abort()
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Commit puts every file in place and then removes stale temporaries of
// the same targets.
func (tx *Tx) Commit() error {
	defer tx.Abort()
	for i, it := range tx.items {
		if it.target.Direct {
			if err := writeDirect(it.target.Path, it.data); err != nil {
				return err
			}
			continue
		}
		if err := os.Rename(it.tmp, it.target.Path); err != nil {
			return fmt.Errorf("%s: %w", it.target.Path, err)
		}
		tx.items[i].tmp = ""
		cleanStale(it.target.Path)
	}
	return nil
}

// Abort removes the temporaries not yet renamed. It is safe to call after
// Commit.
func (tx *Tx) Abort() {
	for _, it := range tx.items {
		if it.tmp != "" {
			os.Remove(it.tmp)
			it.tmp = ""
		}
		if it.f != nil {
			it.f.Close() // releases the lock
			it.f = nil
		}
	}
	tx.items = nil
}

// WriteAtomic writes data to path through a Tx: a reader never sees a
// partial file, a device or pipe is written directly.
func WriteAtomic(path string, data []byte) error {
	var tx Tx
	if err := tx.Add(path, data); err != nil {
		return err
	}
	return tx.Commit()
}

// writeDirect writes to an existing device, FIFO or socket without
// creating, truncating or replacing it. O_NONBLOCK makes opening a FIFO
// that no process reads fail at once (ENXIO) instead of hanging.
func writeDirect(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) {
		return fmt.Errorf("%s: no process is reading this pipe", path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// tempPattern is the name of a temporary for target base: .base.tmp<digits>
// (os.CreateTemp replaces the * by decimal digits).
func tempPattern(base string) string { return "." + base + ".tmp*" }

func tempRegexp(base string) *regexp.Regexp {
	return regexp.MustCompile(`^\.` + regexp.QuoteMeta(base) + `\.tmp[0-9]+$`)
}

// createTemp creates and locks a temporary for final in its directory. A
// temporary removed by another process's cleanup between its creation
// and its locking is replaced by a new one.
func createTemp(final string) (*os.File, error) {
	for range 5 {
		f, err := os.CreateTemp(filepath.Dir(final), tempPattern(filepath.Base(final)))
		if err != nil {
			return nil, err
		}
		if err := lockFile(f, true); err == nil {
			st1, err1 := f.Stat()
			st2, err2 := os.Stat(f.Name())
			if err1 == nil && err2 == nil && os.SameFile(st1, st2) {
				return f, nil
			}
		}
		f.Close()
		os.Remove(f.Name())
	}
	return nil, fmt.Errorf("%s: could not create a temporary file", final)
}

// cleanStale removes temporaries of target that no live process holds:
// those a killed writer left behind.
func cleanStale(target string) {
	dir, base := filepath.Dir(target), filepath.Base(target)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	re := tempRegexp(base)
	for _, e := range ents {
		if !e.Type().IsRegular() || !re.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		if stale(f) {
			os.Remove(p)
		}
		f.Close()
	}
}
