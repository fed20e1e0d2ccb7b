package ir

import "fmt"

// Recurrent is what an LSTM, GRU or RNN node's attributes say about its
// shapes, with ONNX's defaults: shape inference and the executor's
// planners both read them here.
type Recurrent struct {
	Gates      int  // gates per hidden unit: LSTM 4, GRU 3, RNN 1
	Directions int  // 1 (forward, reverse) or 2 (bidirectional)
	Reverse    bool // the one direction runs backwards in time
	// HiddenSize is the hidden_size attribute, 0 when absent (then W's
	// shape gives it).
	HiddenSize int64
	BatchFirst bool // layout=1: X [N, T, I], Y [N, T, D, H], states [N, D, H]
}

// RecurrentAttrs reads node n's recurrent attributes (direction default
// forward, layout 0); a direction other than forward, reverse or
// bidirectional is an error.
func RecurrentAttrs(n *Node) (*Recurrent, error) {
	r := &Recurrent{
		Gates:      map[string]int{"LSTM": 4, "GRU": 3, "RNN": 1}[n.OpType],
		Directions: 1,
		HiddenSize: n.Int("hidden_size", 0),
		BatchFirst: n.Int("layout", 0) != 0,
	}
	switch dir := n.String("direction", "forward"); dir {
	case "forward":
	case "reverse":
		r.Reverse = true
	case "bidirectional":
		r.Directions = 2
	default:
		return nil, fmt.Errorf("direction %q is not forward, reverse or bidirectional", dir)
	}
	return r, nil
}
