package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nnkit/nnkit/internal/npytest"
)

// Point 5: an .npz member is read for exactly the bytes its .npy header
// promises and only if the archive directory agrees; a zip bomb (a small
// deflated member inflating to far more than its array needs, or more
// than the directory says) is refused without inflating it.
func TestNpzBombsAndLies(t *testing.T) {
	dir := t.TempDir()
	y := npytest.NpyFile("|u1", false, "(2,)", []byte{0, 1})
	good := npytest.NpyFile("<f4", false, "(2,)", npytest.F32Bytes(1, 2))
	// 64 MiB of zeros deflate to ≈64 KB: a bomb in miniature behind a
	// header that promises 2 floats.
	bomb := append(append([]byte{}, good...), make([]byte, 64<<20)...)
	cases := []struct {
		name, want string
		member     []byte
		method     uint16
		claim      uint64
	}{
		{"bomb behind a small header", "holds 67109000 bytes, but its header describes 136", bomb, zip.Deflate, 0},
		{"directory understates", "but its header describes", good, zip.Deflate, uint64(len(good)) - 4},
		{"stream longer than directory", "member x.npy: zip: not a valid zip file", append(append([]byte{}, good...), 1, 2, 3, 4), zip.Deflate, uint64(len(good))},
		{"directory overstates (stored)", "136 compressed bytes cannot hold the 236 bytes", good, zip.Store, uint64(len(good)) + 100},
		{"directory overstates (deflated)", "but its header describes", good, zip.Deflate, uint64(len(good)) + 100},
		{"huge shape", "more than the 268435456 elements", npytest.NpyFile("<f4", false, "(1000000, 1000000)", nil), zip.Deflate, 0},
		// The directory and the header agree on 1 GiB, but 40-odd deflated
		// bytes cannot inflate to that (deflate expands at most 1032:1):
		// refused before allocating.
		{"small member claims 1 GiB", "compressed bytes cannot hold the 1073741952 bytes the archive directory claims", npytest.NpyFile("<f4", false, "(268435456,)", nil), zip.Deflate, 1<<30 + 128},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			z := zip.NewWriter(&b)
			for _, m := range []struct {
				name string
				data []byte
			}{{"y.npy", y}} {
				w, _ := z.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store})
				w.Write(m.data)
			}
			w, _ := z.CreateHeader(&zip.FileHeader{Name: "x.npy", Method: c.method})
			w.Write(c.member)
			z.Close()
			raw := b.Bytes()
			if c.claim != 0 {
				cd := bytes.LastIndex(raw, []byte("PK\x01\x02"))
				binary.LittleEndian.PutUint32(raw[cd+24:], uint32(c.claim))
			}
			p := filepath.Join(dir, "train.npz")
			os.WriteFile(p, raw, 0o644)
			_, err := Load(p, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "array x") {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// Point 4: a stray quote anywhere in a CSV file is a parse error naming
// the line (it panicked in FieldPos); rows and fields are bounded.
func TestCSVHostile(t *testing.T) {
	cases := []struct {
		name, csv string
		want      []string
	}{
		{"stray quote", "a,b,y\n1,2\"x,0\n3,4,1\n", []string{`train.csv line 2: bare " in non-quoted-field`}},
		{"stray quote in header", "a,\"b,y\n1,2,0\n", []string{"train.csv line 2: header: extraneous or missing \" in quoted-field"}},
		{"quote opened, never closed", "a,b,y\n1,\"2,0\n" + strings.Repeat("3,4,1\n", 1000), []string{"train.csv line 1002", "extraneous or missing \" in quoted-field"}},
		{"long field", "a,b,y\n1," + strings.Repeat("9", MaxCSVField+1) + ",0\n", []string{`train.csv line 2: column "b" holds 4097 bytes, more than 4096`}},
		{"long header", "a," + strings.Repeat("b", MaxCSVField+1) + "\n1,0\n", []string{"train.csv line 1: column 2's name is 4097 bytes long"}},
		{"long row", "a,b,y\n" + strings.Repeat("1,", MaxCSVRecord/2+4096) + "0\n", []string{"train.csv: after line 1: a row longer than 16777216 bytes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "train.csv", c.csv)
			_, err := Load(dir, Options{})
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

// pngHeader builds a tiny PNG that declares w×h pixels of 16-bit RGBA
// (then a token IDAT and IEND): 74 bytes that image.Decode would turn
// into w·h·8 bytes.
func pngHeader(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(append(b, typ...), data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 16, 6, 0, 0, 0) // bit depth 16, RGBA, deflate, no filter, no interlace
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, chunk("IHDR", ihdr)...)
	b = append(b, chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(b, chunk("IEND", nil)...)
}

// Point 6: an image's size is checked from its header before decoding.
func TestImageBombRefused(t *testing.T) {
	dir := t.TempDir()
	bomb := pngHeader(100000, 100000)
	write(t, dir, "train/cat/bomb.png", string(bomb))
	write(t, dir, "train/dog/ok.png", string(pngHeader(1, 1)))
	_, err := Load(dir, Options{InputShape: []int{3, 4, 4}})
	if err == nil || !strings.Contains(err.Error(), "bomb.png: 100000×100000 pixels is more than the 89478485 decoded") {
		t.Fatalf("%d-byte PNG of 100000×100000: %v", len(bomb), err)
	}
	write(t, dir, "train/cat/bomb.png", string(pngHeader(9459, 9459))) // 89,472,681 pixels: allowed by size…
	_, err = Load(dir, Options{InputShape: []int{3, 4, 4}})
	if err == nil || strings.Contains(err.Error(), "more than the") || !strings.Contains(err.Error(), "bomb.png: cannot decode image") {
		t.Fatalf("9459×9459 PNG without pixel data: %v (want a decode error, not the size limit)", err) // …and fails on its missing data
	}
}

// Point 16: symbolic links to class folders and to folders inside them are
// followed, as torchvision's ImageFolder (os.walk(followlinks=True))
// follows them; a link back to an enclosing folder is not walked forever.
// Files come in ImageFolder's order: folders sorted by path, then files by
// name within each folder.
func TestImageFolderSymlinks(t *testing.T) {
	dir := t.TempDir()
	png := string(onePixelPNG(t))
	write(t, dir, "store/cats/b.png", png)
	write(t, dir, "store/cats/a.png", png)
	write(t, dir, "store/more/c.png", png)
	write(t, dir, "train/dog/z.png", png)
	write(t, dir, "train/dog/sub/a.png", png)
	write(t, dir, "train/dog/sub.png", png)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(filepath.Join(dir, "store", "cats"), filepath.Join(dir, "train", "cat")))
	must(os.Symlink(filepath.Join(dir, "store", "more"), filepath.Join(dir, "store", "cats", "extra")))
	must(os.Symlink("..", filepath.Join(dir, "store", "cats", "loop")))        // back to store/: not an ancestor when entered as train/cat…
	must(os.Symlink(".", filepath.Join(dir, "train", "dog", "self")))          // a loop
	must(os.Symlink("../..", filepath.Join(dir, "train", "dog", "sub", "up"))) // back to train/: contains dog again
	d, err := Load(dir, Options{InputShape: []int{1, 4, 4}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range d.Train.N {
		rel, _ := filepath.Rel(dir, d.Train.Where(i))
		got = append(got, filepath.ToSlash(rel)+"="+d.Train.Classes[d.Train.Labels[i]])
	}
	// What ImageFolder lists for this tree, except that os.walk would
	// recurse forever into dog/self (Python's docs: followlinks "can lead
	// to infinite recursion"); links to enclosing folders are skipped.
	want := []string{
		"train/cat/a.png=cat", "train/cat/b.png=cat", // store/cats through the class link
		"train/cat/extra/c.png=cat",                    // a link inside a linked folder
		"train/cat/loop/more/c.png=cat",                // loop → store/, whose cats/ is an ancestor and skipped
		"train/dog/sub.png=dog", "train/dog/z.png=dog", // folder "train/dog" sorts before "train/dog/sub"
		"train/dog/sub/a.png=dog",
		"train/dog/sub/up/cat/a.png=dog", "train/dog/sub/up/cat/b.png=dog", // up → train/; dog/ is an ancestor
		"train/dog/sub/up/cat/extra/c.png=dog", "train/dog/sub/up/cat/loop/more/c.png=dog",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("files\n%v\nwant\n%v", got, want)
	}
}

func onePixelPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Point 7: a FIFO where a data file or image is expected is an error
// naming it, at once — not a read that waits for a writer forever.
func TestFIFOsRefused(t *testing.T) {
	cases := []struct {
		name, fifo string
		setup      func(dir string)
	}{
		{"csv", "train.csv", nil},
		{"npz", "train.npz", nil},
		{"val npz", "val.npz", func(dir string) {
			writeNPZ(t, filepath.Join(dir, "train.npz"), map[string]any{"x": []float32{1, 2}, "y": []int64{0, 1}})
		}},
		{"image", "train/cat/a.png", func(dir string) { os.MkdirAll(filepath.Join(dir, "train", "cat"), 0o755) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(dir)
			}
			p := filepath.Join(dir, c.fifo)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Load(dir, Options{InputShape: []int{1, 4, 4}})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.fifo+": is a named pipe (FIFO), not a regular file") {
					t.Fatalf("error %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Load blocked on a FIFO")
			}
		})
	}
}

// Point 6: the decoded size of the whole image set is bounded too, not
// only each file: a model input (from the file) or --image-size asking for
// huge images is refused before decoding anything.
func TestImageSetBudget(t *testing.T) {
	_, err := Load("../../testdata/train/images", Options{InputShape: []int{3, 100000, 100000}})
	if err == nil || !strings.Contains(err.Error(), "images of 100000×100000 pixels") {
		t.Fatalf("100000×100000 model input: %v", err)
	}
	_, err = Load("../../testdata/train/images", Options{InputShape: []int{3, 9000, 9000}})
	if err == nil || !strings.Contains(err.Error(), "are more than the 268435456 values") {
		t.Fatalf("6 images of 3×9000×9000: %v", err)
	}
}

// ImageFolder's file order on nested and symlinked folders, as
// torchvision 0.14.1 (Debian python3-torchvision) lists this very tree:
//
//	ds = torchvision.datasets.ImageFolder("train")
//	[os.path.relpath(p) + "=" + ds.classes[l] for p, l in ds.samples]
//
// sorted(os.walk(...)) orders folders by their path string, so "sub-x"
// ('-' < '/') comes before "sub/deeper", and "Sub2" before "sub".
func TestImageFolderOrderMatchesTorchvision(t *testing.T) {
	dir := t.TempDir()
	png := string(onePixelPNG(t))
	for _, p := range []string{"store/cats/b.png", "store/cats/a.png", "store/more/c.png", "train/dog/z.png", "train/dog/sub/a.png",
		"train/dog/sub.png", "train/dog/Sub2/q.png", "train/dog/sub-x/r.png", "train/dog/sub/deeper/a.png"} {
		write(t, dir, p, png)
	}
	if err := os.Symlink(filepath.Join(dir, "store", "cats"), filepath.Join(dir, "train", "cat")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "store", "more"), filepath.Join(dir, "store", "cats", "extra")); err != nil {
		t.Fatal(err)
	}
	d, err := Load(dir, Options{InputShape: []int{1, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range d.Train.N {
		rel, _ := filepath.Rel(dir, d.Train.Where(i))
		got = append(got, filepath.ToSlash(rel)+"="+d.Train.Classes[d.Train.Labels[i]])
	}
	torchvision := []string{
		"train/cat/a.png=cat", "train/cat/b.png=cat", "train/cat/extra/c.png=cat",
		"train/dog/sub.png=dog", "train/dog/z.png=dog", "train/dog/Sub2/q.png=dog",
		"train/dog/sub/a.png=dog", "train/dog/sub-x/r.png=dog", "train/dog/sub/deeper/a.png=dog",
	}
	if !slices.Equal(got, torchvision) {
		t.Fatalf("order\n%v\ntorchvision\n%v", got, torchvision)
	}
}
