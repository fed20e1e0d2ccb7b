// Package ir is nnkit's in-memory graph representation of an ONNX model.
//
// A Model holds one Graph; a Graph holds Nodes (operator applications) and
// Values (named edges). Every Value knows its producer and its consumers, so
// passes walk the graph in either direction without maps of names. Constant
// tensors (initializers, Constant attributes) are Tensors whose contents stay
// as little-endian bytes until a typed accessor is asked for them; the bytes
// may alias the file they were read from.
//
// The IR keeps everything an ONNX file can say (doc strings, metadata,
// value_info, opset imports, unknown protobuf fields, and messages the IR does
// not interpret, as opaque encoded bytes), so that onnxio can write back what
// it read without loss.
//
// Operator semantics live here once: the schema table (LookupSchema,
// CheckNode: arity and attributes per opset), shape inference (InferShapes
// for a model, InferNode for one node from numbers, ElemTypes and EachElemType for element
// types only) and the attribute rules both inference and the executor's
// planners read (Window for convolution and pooling geometry,
// RecurrentAttrs, NormAxis, AxesSet, ReducedAxes, KeepDims, SliceAxis,
// TransposePerm, SoftmaxAxis). Which operators nnkit runs is the
// executor's list, exec.SupportedOps; InferredOps covers it and more.
//
// ir imports nothing else from nnkit. A short example:
//
//	m, err := onnxio.ReadFile("model.onnx") // returns *ir.Model
//	if err != nil { ... }
//	order, err := m.Graph.TopoOrder()
//	for _, n := range order {
//		fmt.Println(n.Name, n.OpType, n.Int("axis", 1))
//	}
//	params := m.Graph.Parameters() // trainable weights; Buffers() for BN stats
//
//	// Shape inference with symbolic dimensions: "batch", "4*batch".
//	rep, err := ir.InferShapes(m)
//	out := m.Graph.Outputs[0].Shape()               // [batch, 10]
//	dims, _ := out.Eval(map[string]int64{"batch": 32}) // [32, 10]
package ir
