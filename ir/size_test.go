package ir

import (
	"testing"
	"unsafe"
)

// TestNodeValueSize guards the fixed size of the two structs a graph has
// one of per node and per value (issue 9: a 200k-node graph must cost
// near its file size, a few dozen bytes a node). Counted in machine words
// so that the bound holds on 32- and 64-bit platforms: a Node is three
// strings, three slices and three words (Extra, Graph, Index), 18 words
// (144 bytes on 64-bit; 30 words, 240 bytes, before doc strings, metadata,
// overload, device configurations and unknown fields moved behind Extra).
// A Value is a string, a slice, six words and the flags' word, 12 words
// (96 bytes; 20 words before).
func TestNodeValueSize(t *testing.T) {
	word := unsafe.Sizeof(uintptr(0))
	if got := unsafe.Sizeof(Node{}); got > 18*word {
		t.Errorf("ir.Node is %d bytes, want ≤ %d (18 words): move what few nodes carry into NodeExtra", got, 18*word)
	}
	if got := unsafe.Sizeof(Value{}); got > 12*word {
		t.Errorf("ir.Value is %d bytes, want ≤ %d (12 words): move what few values carry into ValueExtra", got, 12*word)
	}
}
