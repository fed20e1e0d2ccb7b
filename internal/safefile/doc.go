// Package safefile opens and writes the files nnkit's commands are pointed
// at without letting the file system turn that into a hang or into damage.
//
// Reading: Open refuses anything but a regular file (after following
// symbolic links) before opening it, and opens with O_NONBLOCK and checks
// the opened descriptor again, so a FIFO, device or socket put where a
// model, data file or image is expected is an error, never a read that
// blocks forever (and a file swapped between the check and the open is
// caught by the second check).
//
// Writing: a Tx writes every file of one output (a model and its external
// data files) to temporaries in the target's directory and renames them into
// place only when all were written. Targets that are not regular files are
// never renamed over: character devices, FIFOs and sockets (/dev/null,
// /dev/stdout, a pipe) are written directly, and directories and block
// devices are refused. Temporaries are named .<name>.tmp<digits> and locked
// while in use; temporaries of the same target left behind by a killed
// process (unlocked) are removed after the next successful write.
//
//	f, st, err := safefile.Open("data/train.csv")
//	...
//	err = safefile.WriteAtomic("out.npy", encoded)
package safefile
