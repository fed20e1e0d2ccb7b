package exec

import (
	"testing"
	"unsafe"
)

// A plan's scratch gives every request for a key the same memory, grown
// to the largest request, earlier users re-pointed with their lengths.
func TestScratchSharesAndGrows(t *testing.T) {
	p := &plan[float32]{}
	var a, b, c []float32
	p.scratch(scratchKey{"col", 0}, 3, &a)
	p.scratch(scratchKey{"col", 0}, 5, &b)
	p.scratch(scratchKey{"col", 1}, 2, &c)
	if len(a) != 3 || len(b) != 5 || len(c) != 2 {
		t.Fatalf("lengths %d %d %d, want 3 5 2", len(a), len(b), len(c))
	}
	if &a[0] != &b[0] {
		t.Error("two requests for one key do not share memory after the buffer grew")
	}
	if uintptr(unsafe.Pointer(&c[0])) >= uintptr(unsafe.Pointer(&b[0])) && uintptr(unsafe.Pointer(&c[0])) < uintptr(unsafe.Pointer(&b[0]))+5*4 {
		t.Error("different keys (parts that run at once) share memory")
	}
}

// The convolutions of a VGG share their column buffers: the plan holds one
// per part, not one per convolution.
func TestConvolutionsShareColumnBuffers(t *testing.T) {
	_, _, p := trainStepsProg(t, "vgg_bn", "train.onnx", Options{Seed: 5}, 1)
	cols := map[*float32]bool{}
	convs, users := 0, 0
	for _, s := range p.e.last.steps {
		if s.node.OpType == "Conv" {
			convs++
		}
	}
	for _, sl := range p.e.last.scratches {
		for _, u := range sl.users {
			cols[&(*u)[0]] = true
			users++
		}
	}
	if convs < 2 || users < 2*len(p.e.last.scratches) || len(cols) != len(p.e.last.scratches) {
		t.Errorf("%d convolutions make %d scratch requests in %d distinct buffers for %d keys", convs, users, len(cols), len(p.e.last.scratches))
	}
}
