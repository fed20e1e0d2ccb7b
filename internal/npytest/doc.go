// Package npytest builds .npy files byte by byte for the tests of the
// readers of untrusted arrays (tensor, train/data): any descr, byte order,
// Fortran flag and shape text, with data that need not match the header,
// which is what hostile and fuzz seeds need and what a real encoder
// (tensor.EncodeNpy) never writes.
//
//	b := npytest.NpyFile(">i2", true, "(2, 1)", []byte{0, 1, 0, 2})
//	x := npytest.NpyFile("<f4", false, "(2,)", npytest.F32Bytes(1, 2))
package npytest
