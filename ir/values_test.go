package ir

import (
	"fmt"
	"testing"
)

// The value table finds every value by name (as a string and as bytes)
// through its growth, replaces a value of the same name, and reports
// absent names as nil; presizing does not change what it holds.
func TestValueTable(t *testing.T) {
	for _, pre := range []int{0, 1000} {
		var tb valueTable
		tb.grow(pre)
		vals := map[string]*Value{}
		for i := 0; i < 5000; i++ {
			v := &Value{Name: fmt.Sprintf("/layers/layers.%d/Relu_output_0", i)}
			tb.put(v)
			vals[v.Name] = v
			if i%7 == 0 { // a second value of the same name replaces the first
				w := &Value{Name: v.Name}
				tb.put(w)
				vals[v.Name] = w
			}
		}
		if tb.len() != len(vals) {
			t.Fatalf("presized %d: %d values, want %d", pre, tb.len(), len(vals))
		}
		for name, v := range vals {
			if got := tb.get(name); got != v {
				t.Fatalf("presized %d: get(%q) = %p, want %p", pre, name, got, v)
			}
			if got := tb.getBytes([]byte(name)); got != v {
				t.Fatalf("presized %d: getBytes(%q) = %p, want %p", pre, name, got, v)
			}
		}
		for _, name := range []string{"", "x", "/layers/layers.5000/Relu_output_0"} {
			if tb.get(name) != nil || tb.getBytes([]byte(name)) != nil {
				t.Errorf("presized %d: found absent name %q", pre, name)
			}
		}
		n := 0
		tb.each(func(v *Value) {
			if vals[v.Name] != v {
				t.Errorf("each visited %q, not the table's value", v.Name)
			}
			n++
		})
		if n != len(vals) {
			t.Errorf("each visited %d values, want %d", n, len(vals))
		}
		if 4*tb.len() > 3*len(tb.slots) {
			t.Errorf("table %d/%d full, more than 3/4", tb.len(), len(tb.slots))
		}
	}
	var empty valueTable
	if empty.get("x") != nil || empty.getBytes([]byte("x")) != nil || empty.len() != 0 {
		t.Error("the zero table is not empty")
	}
}
