package ir

import "fmt"

// Axis arguments, read the same way by shape inference and the executor.

// NormAxis normalizes axis a against rank (negative counts from the end);
// an axis outside [−rank, rank) is an error.
func NormAxis(a int64, rank int) (int, error) {
	if a < -int64(rank) || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", a, rank)
	}
	if a < 0 {
		a += int64(rank)
	}
	return int(a), nil
}

// AxesSet normalizes a list of distinct axes against rank: set[i] says
// whether axis i is listed. A repeated axis is an error.
func AxesSet(axes []int64, rank int) ([]bool, error) {
	set := make([]bool, rank)
	for _, a := range axes {
		x, err := NormAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if set[x] {
			return nil, fmt.Errorf("axis %d appears twice in %v", a, axes)
		}
		set[x] = true
	}
	return set, nil
}

// ReducedAxes returns which of rank axes a Reduce* node reduces, given its
// axes (the input, or the attribute before opset 18; given is false when
// it has neither): those axes, or all of them when none or an empty list
// is given, unless noop_with_empty_axes is set, then none.
func ReducedAxes(n *Node, rank int, axes []int64, given bool) ([]bool, error) {
	if given && len(axes) > 0 {
		return AxesSet(axes, rank)
	}
	reduced := make([]bool, rank)
	if n.Int("noop_with_empty_axes", 0) == 0 {
		for i := range reduced {
			reduced[i] = true
		}
	}
	return reduced, nil
}

// KeepDims is a reduction's keepdims attribute (default 1): whether the
// reduced axes stay, with size 1.
func KeepDims(n *Node) bool { return n.Int("keepdims", 1) != 0 }

// SliceAxis resolves one axis of a Slice over a dimension of size dim: the
// first index taken and how many, by ONNX's rule (a negative start or end
// counts from the end; then for a positive step both clamp to [0, dim],
// for a negative one start to [0, dim−1] and end to [−1, dim−1]). step
// must not be 0.
func SliceAxis(start, end, step, dim int64) (first, count int64) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start, end = min(max(start, 0), dim), min(max(end, 0), dim)
		if end > start {
			count = (end - start + step - 1) / step
		}
		return start, count
	}
	start, end = min(max(start, 0), dim-1), min(max(end, -1), dim-1)
	if start > end {
		count = (start - end - step - 1) / -step
	}
	return start, count
}

// TransposePerm returns a Transpose node's perm for an input of the given
// rank: the attribute, checked to be a permutation of 0..rank−1, or by
// default the reversed axes.
func TransposePerm(n *Node, rank int) ([]int64, error) {
	perm := n.Ints("perm", nil)
	if perm == nil {
		perm = make([]int64, rank)
		for i := range perm {
			perm[i] = int64(rank - 1 - i)
		}
		return perm, nil
	}
	if len(perm) != rank {
		return nil, fmt.Errorf("perm %v has %d entries for an input of rank %d", perm, len(perm), rank)
	}
	seen := make([]bool, rank)
	for _, p := range perm {
		if p < 0 || p >= int64(rank) || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation of 0..%d", perm, rank-1)
		}
		seen[p] = true
	}
	return perm, nil
}

// SoftmaxAxis is a Softmax, LogSoftmax or Hardmax node's axis at opset:
// the attribute, by default −1 from opset 13 and 1 before (when the
// operator flattened the axes from it on into one).
func SoftmaxAxis(n *Node, opset int64) int64 {
	def := int64(-1)
	if opset < 13 {
		def = 1
	}
	return n.Int("axis", def)
}
