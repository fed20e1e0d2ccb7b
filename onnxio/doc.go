// Package onnxio reads and writes ONNX model files as ir.Models.
//
// Reading accepts a path, bytes or an io.Reader, plain or gzip-compressed,
// with tensors inline or in external data files (resolved relative to the
// model's directory; locations that are absolute, contain "..", or resolve
// outside that directory, symlinks included, are refused). Large initializer
// contents are not copied: the ir.Tensors alias the bytes read from the file.
//
// Writing is lossless: doc strings, metadata, opset imports, value_info,
// unknown protobuf fields and the parts of the format the IR does not
// interpret (functions, training info, sparse initializers) come back out.
// WriteFile writes to a temporary file and renames it, so a failed write
// never leaves a half-written model behind. It never replaces an external
// data file the model was read from (fine-tuning model.onnx leaves what
// model.onnx reads untouched), writes devices and pipes directly instead of
// renaming over them, and reading refuses FIFOs and devices without
// blocking.
//
//	m, err := onnxio.ReadFile("model.onnx")
//	if err != nil {
//		log.Fatal(err) // names the file and what is wrong
//	}
//	// ... edit m ...
//	err = onnxio.WriteFile("model.out.onnx", m, nil)
package onnxio
