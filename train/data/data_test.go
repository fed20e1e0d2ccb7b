package data

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

const digits = "../../testdata/data/digits"

func TestDigitsNPZAndCSVAgree(t *testing.T) {
	dn, err := Load(digits, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if dn.Format != "npz" || dn.Split {
		t.Fatalf("format %q split %v, want npz from the directory's own val.npz", dn.Format, dn.Split)
	}
	if dn.Train.N != 1437 || dn.Val.N != 360 || !slices.Equal(dn.Train.Shape, []int{64}) {
		t.Fatalf("train %d×%v, val %d; want 1437×[64], 360", dn.Train.N, dn.Train.Shape, dn.Val.N)
	}
	dc, err := Load(digits, Options{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	// The CSV holds the same k/16 values printed exactly: identical data.
	if !slices.Equal(dn.Train.X, dc.Train.X) || !slices.Equal(dn.Train.Labels, dc.Train.Labels) ||
		!slices.Equal(dn.Val.X, dc.Val.X) || !slices.Equal(dn.Val.Labels, dc.Val.Labels) {
		t.Fatal("digits: train.csv/val.csv differ from train.npz/val.npz")
	}
	if err := dn.Train.CheckClasses(10); err != nil {
		t.Fatal(err)
	}
	err = dn.Train.CheckClasses(9)
	if err == nil || !strings.Contains(err.Error(), "train.npz sample ") || !strings.Contains(err.Error(), "label 9 is out of range for a model with 9 outputs") {
		t.Fatalf("labels 9 with a 9-output model: %v", err)
	}
	err = dc.Train.CheckClasses(9)
	if err == nil || !strings.Contains(err.Error(), "train.csv line ") {
		t.Fatalf("CSV label error does not name the line: %v", err)
	}
}

func TestReshape(t *testing.T) {
	d, err := Load(digits, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Train
	if err := s.Reshape([]int{1, 8, 8}); err != nil || !slices.Equal(s.Shape, []int{1, 8, 8}) {
		t.Fatalf("reshape to [1,8,8]: %v, shape %v", err, s.Shape)
	}
	if err := s.Reshape([]int{64}); err != nil {
		t.Fatal(err)
	}
	err = s.Reshape([]int{784})
	if err == nil || !strings.Contains(err.Error(), "[64]") || !strings.Contains(err.Error(), "[784]") {
		t.Fatalf("64 features into [784]: %v (want both shapes named)", err)
	}
	if err := s.Reshape([]int{-1, 8}); err != nil || !slices.Equal(s.Shape, []int{8, 8}) {
		t.Fatalf("reshape to [?,8]: %v, shape %v", err, s.Shape)
	}
}

func TestSplitDeterministic(t *testing.T) {
	d1, err := Load(filepath.Join(digits, "train.npz"), Options{ValSplit: 0.1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := Load(filepath.Join(digits, "train.npz"), Options{ValSplit: 0.1, Seed: 7})
	d3, _ := Load(filepath.Join(digits, "train.npz"), Options{ValSplit: 0.1, Seed: 8})
	if !d1.Split || d1.Val.N != 144 || d1.Train.N != 1437-144 {
		t.Fatalf("split %v: train %d val %d, want 1293/144", d1.Split, d1.Train.N, d1.Val.N)
	}
	if !slices.Equal(d1.Val.X, d2.Val.X) || !slices.Equal(d1.Train.Labels, d2.Train.Labels) {
		t.Fatal("same seed, different split")
	}
	if slices.Equal(d1.Val.X, d3.Val.X) {
		t.Fatal("different seeds, same split")
	}
	// Held-out samples keep their origin for messages.
	if w := d1.Val.Where(0); !strings.HasPrefix(w, filepath.Join(digits, "train.npz")+" sample ") {
		t.Fatalf("Where after split: %q", w)
	}
	// No validation at all with split 0 and no val file.
	d0, err := Load(filepath.Join(digits, "train.npz"), Options{})
	if err != nil || d0.Val != nil {
		t.Fatalf("split 0: val %v, err %v", d0.Val, err)
	}
}

func TestBatchesAndOrder(t *testing.T) {
	s := &Set{N: 5, Shape: []int{2}, X: []float32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, Labels: []int64{0, 1, 2, 3, 4}}
	var sizes []int
	var labels []int64
	for b := range s.Batches(2, Order(5, false, 0, 0)) {
		sizes = append(sizes, b.N)
		labels = append(labels, b.Labels...)
		if len(b.X) != 2*b.N || b.X[0] != float32(b.Labels[0]) {
			t.Fatalf("batch X %v labels %v", b.X, b.Labels)
		}
	}
	if !slices.Equal(sizes, []int{2, 2, 1}) || !slices.Equal(labels, []int64{0, 1, 2, 3, 4}) {
		t.Fatalf("sizes %v labels %v", sizes, labels)
	}
	o1, o2, o3 := Order(100, true, 1, 0), Order(100, true, 1, 0), Order(100, true, 1, 1)
	if !slices.Equal(o1, o2) || slices.Equal(o1, o3) {
		t.Fatal("shuffle is not seeded per epoch")
	}
	sorted := slices.Clone(o1)
	slices.Sort(sorted)
	if !slices.Equal(sorted, Order(100, false, 0, 0)) {
		t.Fatal("shuffle is not a permutation")
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCSVErrors(t *testing.T) {
	cases := []struct {
		name, train, val, labelCol string
		want                       []string
	}{
		{"ragged", "a,b,y\n1,2,0\n1,2\n3,4,1,5\n", "", "", []string{"train.csv line 3: 2 fields, the header has 3", "train.csv line 4: 4 fields"}},
		{"nan", "a,b,y\n1,nan,0\n1,2,1\n", "", "", []string{"train.csv line 2: column \"b\" is nan"}},
		{"inf", "a,b,y\n1,2,0\n1e39,2,1\n", "", "", []string{"train.csv line 3: column \"a\" is 1e39"}},
		{"text", "a,b,y\n1,x,0\n", "", "", []string{"train.csv line 2: column \"b\": \"x\" is not a number"}},
		{"empty", "a,b,y\n1,,0\n", "", "", []string{"train.csv line 2: column \"b\" is empty"}},
		{"no rows", "a,b,y\n", "", "", []string{"no data rows"}},
		{"label col", "a,b,y\n1,2,0\n", "", "z", []string{"no column named \"z\"", "a, b, y"}},
		{"val header", "a,b,y\n1,2,0\n", "a,c,y\n1,2,0\n", "", []string{"val.csv: the header differs"}},
		{"nan label", "a,b,y\n1,2,0.5\n1,2,nan\n", "", "", []string{"train.csv line 3: label \"nan\" is NaN or Inf"}},
		{"unknown class", "a,y\n1,cat\n2,dog\n", "a,y\n1,cow\n", "", []string{"val.csv line 2: label \"cow\" is not a class"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "train.csv", c.train)
			if c.val != "" {
				write(t, dir, "val.csv", c.val)
			}
			_, err := Load(dir, Options{LabelCol: c.labelCol})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCSVLabelKinds(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "train.csv", "y,a,b\n1.5,1,2\n-2,3,4\n")
	d, err := Load(dir, Options{LabelCol: "y"})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Train
	if s.Labels != nil || !slices.Equal(s.Targets, []float32{1.5, -2}) || !slices.Equal(s.X, []float32{1, 2, 3, 4}) {
		t.Fatalf("float labels in the first column: labels %v targets %v x %v", s.Labels, s.Targets, s.X)
	}
	dir = t.TempDir()
	write(t, dir, "train.csv", "a,y\n1,dog\n2,cat\n3,dog\n")
	d, err = Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Train.Classes, []string{"cat", "dog"}) || !slices.Equal(d.Train.Labels, []int64{1, 0, 1}) {
		t.Fatalf("named classes %v labels %v", d.Train.Classes, d.Train.Labels)
	}
}

func writeNPZ(t *testing.T, path string, arrays map[string]any) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := npz.NewWriter(f)
	for k, v := range arrays {
		if err := w.Write(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestNPZ(t *testing.T) {
	dir := t.TempDir()
	writeNPZ(t, filepath.Join(dir, "train.npz"), map[string]any{"x": []float64{1, 2, 3, 4, 5, 6}, "y": []uint8{0, 1, 1, 0, 1, 0}})
	d, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 6 || !slices.Equal(d.Train.Shape, []int{1}) || !slices.Equal(d.Train.Labels, []int64{0, 1, 1, 0, 1, 0}) {
		t.Fatalf("1-D x: N %d shape %v labels %v", d.Train.N, d.Train.Shape, d.Train.Labels)
	}
	if err := d.Train.CheckBinary(); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		arrays map[string]any
		want   string
	}{
		{"missing y", map[string]any{"x": []float32{1}, "labels": []int64{0}}, "need arrays x (samples) and y (labels or targets); the archive has"},
		{"length", map[string]any{"x": []float32{1, 2, 3}, "y": []int64{0, 1}}, "y has shape [2]; need [3]"},
		{"nan x", map[string]any{"x": []float32{1, float32(math.NaN()), 3}, "y": []int64{0, 1, 0}}, "train.npz sample 1: x[0] is NaN"},
		{"inf y", map[string]any{"x": []float32{1, 2}, "y": []float64{0, math.Inf(1)}}, "train.npz sample 1: y[0] is +Inf"},
		{"dtype", map[string]any{"x": []complex64{1}, "y": []int64{0}}, "array x: dtype"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNPZ(t, filepath.Join(dir, "train.npz"), c.arrays)
			_, err := Load(dir, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestNothingFound(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "readme.txt", "hi")
	_, err := Load(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "expected train.npz") || !strings.Contains(err.Error(), "train/<class>") {
		t.Fatalf("empty dir: %v", err)
	}
}

// TestImageFolderAgainstTorchvision compares with torchvision 0.14's
// ImageFolder + [Grayscale] + Resize((H, W)) + ToTensor + [Normalize] on
// PIL images (testdata/train/make_train_golden.py images).
func TestImageFolderAgainstTorchvision(t *testing.T) {
	b, err := os.ReadFile("../../testdata/train/images.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Configs []struct {
			Name      string
			Channels  int
			H, W      int
			Mean, Std []float32
			Splits    map[string][]struct {
				Path  string
				Label int64
				X     []float32
			}
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Configs {
		t.Run(c.Name, func(t *testing.T) {
			d, err := Load("../../testdata/train/images", Options{InputShape: []int{c.Channels, c.H, c.W}, Mean: c.Mean, Std: c.Std})
			if err != nil {
				t.Fatal(err)
			}
			if d.Format != "images" || !slices.Equal(d.Train.Classes, []string{"cat", "dog"}) {
				t.Fatalf("format %s classes %v", d.Format, d.Train.Classes)
			}
			for split, set := range map[string]*Set{"train": d.Train, "val": d.Val} {
				want := c.Splits[split]
				if set.N != len(want) {
					t.Fatalf("%s: %d samples, torchvision %d", split, set.N, len(want))
				}
				sz := set.SampleSize()
				for i, w := range want {
					if !strings.HasSuffix(set.Where(i), strings.TrimPrefix(w.Path, "testdata/train/images")) || set.Labels[i] != w.Label {
						t.Fatalf("%s sample %d: %s label %d, torchvision %s label %d", split, i, set.Where(i), set.Labels[i], w.Path, w.Label)
					}
					for j, v := range set.X[i*sz : (i+1)*sz] {
						// Pixels are bit-exact (Pillow's fixed-point resampler is
						// reproduced); ToTensor's division and Normalize's two
						// float32 operations are the same operations: exact.
						if v != w.X[j] {
							t.Fatalf("%s %s element %d: %v, torchvision %v", split, w.Path, j, v, w.X[j])
						}
					}
				}
			}
		})
	}
}

func TestImageFolderErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "train/cat/a.png", "not a png")
	_, err := Load(dir, Options{InputShape: []int{1, 4, 4}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join("train", "cat", "a.png")+": cannot decode image") {
		t.Fatalf("corrupt png: %v", err)
	}
	dir = t.TempDir()
	write(t, dir, "train/cat/readme.txt", "x")
	_, err = Load(dir, Options{InputShape: []int{1, 4, 4}})
	if err == nil || !strings.Contains(err.Error(), "no image files") {
		t.Fatalf("class without images: %v", err)
	}
	_, err = Load("../../testdata/train/images", Options{InputShape: []int{2, 4, 4}})
	if err == nil || !strings.Contains(err.Error(), "2 channels") {
		t.Fatalf("2-channel model: %v", err)
	}
	_, err = Load("../../testdata/train/images", Options{InputShape: []int{-1}})
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Option != OptImageSize || !strings.Contains(err.Error(), "does not say the image size; give ImageH/ImageW") {
		t.Fatalf("unknown size: %v", err)
	}
	// A flat model input: 784 = 28·28 grayscale with --image-size.
	d, err := Load("../../testdata/train/images", Options{InputShape: []int{784}, ImageH: 28, ImageW: 28})
	if err != nil || !slices.Equal(d.Train.Shape, []int{1, 28, 28}) {
		t.Fatalf("flat input: %v %v", err, d)
	}
}
