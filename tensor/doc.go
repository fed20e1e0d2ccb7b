// Package tensor holds nnkit's arrays and their NumPy files: the dense
// row-major Tensor that the executor (exec) runs on, that training data
// (train/data) is loaded into and that nntrain predict reads and writes,
// and the .npy and .npz formats, read and written.
//
// It sits below exec and imports only ir (for element types) and
// internal/safefile (to open files without blocking on FIFOs).
//
// Every file is treated as hostile. .npy headers are parsed here rather
// than by npyio and checked before anything is allocated (MaxNpyHeader,
// MaxArrayElements, MaxArrayBytes); an .npz member must be exactly as large
// as its header says and fit in its compressed bytes, so a zip bomb is
// refused before it is inflated; FIFOs and devices are refused without
// blocking.
//
//	x, err := tensor.ReadNpyFile("input.npy")    // float arrays as float32, integers and bools as int64
//	if err != nil { ... }                          // e.g. "input.npy: dtype <c8 is not supported (...)"
//	b, err := tensor.EncodeNpy(x)                 // an .npy (format 1.0) file NumPy loads
package tensor
