// Package onnxpb holds the Go bindings of the ONNX protobuf schema in
// onnx.proto. The .pb.go file is generated; do not edit it by hand.
//
// Regenerate (needs Debian's protobuf-compiler; protoc-gen-go is built from
// the module version pinned in go.mod):
//
//	go generate ./onnxio/internal/onnxpb
package onnxpb

//go:generate sh -c "go build -o \"${TMPDIR:-/tmp}/nnkit-protoc-gen-go\" google.golang.org/protobuf/cmd/protoc-gen-go && protoc --plugin=protoc-gen-go=\"${TMPDIR:-/tmp}/nnkit-protoc-gen-go\" --go_out=. --go_opt=paths=source_relative onnx.proto"
