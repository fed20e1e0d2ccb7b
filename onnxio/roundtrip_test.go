package onnxio

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// fixtureFiles lists every committed model fixture.
func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"../testdata/models/*/*.onnx", "../testdata/models/*/*.onnx.gz"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d fixture models under testdata/models", len(files))
	}
	return files
}

func plainBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(path) == ".gz" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// TestRoundTripFixtures reads every fixture into the IR, writes it back and
// checks that the result decodes to the same protobuf message as the
// original file: nothing lost, nothing added.
func TestRoundTripFixtures(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		t.Run(path[len("../testdata/models/"):], func(t *testing.T) {
			orig := plainBytes(t, path)
			m, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			want, got := &pb.ModelProto{}, &pb.ModelProto{}
			if err := proto.Unmarshal(orig, want); err != nil {
				t.Fatal(err)
			}
			if err := proto.Unmarshal(out, got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(want, got) {
				// Diff without tensor contents: the diff of megabytes of raw
				// data is unreadable and slow.
				for _, m := range []*pb.ModelProto{want, got} {
					for _, t := range m.GetGraph().GetInitializer() {
						t.RawData = []byte(fmt.Sprintf("<%d bytes, hash %x>", len(t.RawData), sha256.Sum256(t.RawData)))
					}
				}
				t.Fatalf("round trip changed the model:\n%s", cmp.Diff(want, got, protocmp.Transform()))
			}
		})
	}
}

// TestWriteFixtures writes every fixture through WriteFile — inline, and
// with every initializer in external data, however small (Threshold 1:
// the default 1024 bytes would leave small fixtures such as bicubic_cnn
// entirely inline) — and reads each back. With NNKIT_ROUNDTRIP_OUT set,
// the files go to that directory so that .ci/check_onnx.py can run ONNX's
// own checker on them and compare them with the originals.
func TestWriteFixtures(t *testing.T) {
	out := os.Getenv("NNKIT_ROUNDTRIP_OUT")
	if out == "" {
		out = t.TempDir()
	}
	for _, path := range fixtureFiles(t) {
		rel := strings.TrimSuffix(strings.TrimPrefix(path, "../testdata/models/"), ".gz")
		m, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []struct {
			dir string
			opt *WriteOptions
		}{{"inline", nil}, {"external", &WriteOptions{External: ExternalAll, Threshold: 1}}} {
			dst := filepath.Join(out, mode.dir, strings.ReplaceAll(rel, "/", "__"))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := WriteFile(dst, m, mode.opt); err != nil {
				t.Fatalf("%s: %v", dst, err)
			}
			back, err := ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if len(back.Graph.Nodes) != len(m.Graph.Nodes) || len(back.Graph.Initializers) != len(m.Graph.Initializers) {
				t.Fatalf("%s: structure changed", dst)
			}
			for _, v := range m.Graph.Initializers {
				if !bytes.Equal(back.Graph.Initializer(v.Name).Raw, v.Init.Raw) {
					t.Fatalf("%s: initializer %s changed", dst, v.Name)
				}
			}
		}
	}
}
