// Package ptytest opens pseudo-terminals for tests of what the commands
// print when their output is a terminal (Linux only; tests only import
// it).
//
//	master, slave := ptytest.Open(t) // write to slave, read from master
package ptytest
