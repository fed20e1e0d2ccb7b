package ir

import (
	"hash/maphash"
	"math/bits"
)

// valueTable finds the values of one graph by name: an open-addressing
// hash table of the values themselves, keyed by their Name, with linear
// probing, at most 3/4 full: 8 to 16 bytes a value, where a
// map[string]*Value costs ≈ 33 (issue 9: a tenth of a large graph's IR).
// Values are not removed; a value renamed after it was added is no longer
// found by either name (the map kept finding it by the old one; nothing
// in nnkit renames values).
type valueTable struct {
	slots []*Value
	n     int
}

var valueSeed = maphash.MakeSeed()

// home is the first slot to probe for hash h: h scaled to the table's
// length (any length, so that a presized table is 3/4 full, not half).
func (t *valueTable) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(t.slots)))
	return int(hi)
}

// next is the slot after i, wrapping around.
func (t *valueTable) next(i int) int {
	if i++; i == len(t.slots) {
		return 0
	}
	return i
}

func (t *valueTable) get(name string) *Value {
	if t.n == 0 {
		return nil
	}
	for i := t.home(maphash.String(valueSeed, name)); ; i = t.next(i) {
		if v := t.slots[i]; v == nil || v.Name == name {
			return v
		}
	}
}

// getBytes is get for a name in bytes, without converting it.
func (t *valueTable) getBytes(name []byte) *Value {
	if t.n == 0 {
		return nil
	}
	for i := t.home(maphash.Bytes(valueSeed, name)); ; i = t.next(i) {
		if v := t.slots[i]; v == nil || v.Name == string(name) {
			return v
		}
	}
}

// put adds v, or replaces the value of the same name.
func (t *valueTable) put(v *Value) {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.resize(max(8, 2*len(t.slots)))
	}
	t.insert(v)
}

func (t *valueTable) insert(v *Value) {
	for i := t.home(maphash.String(valueSeed, v.Name)); ; i = t.next(i) {
		switch s := t.slots[i]; {
		case s == nil:
			t.slots[i] = v
			t.n++
			return
		case s.Name == v.Name:
			t.slots[i] = v
			return
		}
	}
}

// grow makes room for n more values without resizing.
func (t *valueTable) grow(n int) {
	if size := (4*(t.n+n) + 2) / 3; size > len(t.slots) {
		t.resize(max(8, size))
	}
}

func (t *valueTable) resize(size int) {
	old := t.slots
	t.slots, t.n = make([]*Value, size), 0
	for _, v := range old {
		if v != nil {
			t.insert(v)
		}
	}
}

func (t *valueTable) len() int { return t.n }

func (t *valueTable) each(f func(*Value)) {
	for _, v := range t.slots {
		if v != nil {
			f(v)
		}
	}
}
