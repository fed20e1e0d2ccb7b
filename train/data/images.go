package data

import (
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// imageExts are the file extensions an image folder is read from
// (compared case-insensitively, as torchvision does). Other files are
// skipped, as ImageFolder skips them.
var imageExts = []string{".png", ".jpg", ".jpeg"}

func isImage(name string) bool {
	return slices.Contains(imageExts, strings.ToLower(filepath.Ext(name)))
}

// imageOpts says how images become tensors: like torchvision's
// Compose([Grayscale() if Channels == 1, Resize((H, W)), ToTensor(),
// Normalize(Mean, Std)]) after ImageFolder's RGB loader.
type imageOpts struct {
	Channels  int // 1 (grayscale) or 3 (RGB)
	H, W      int
	Mean, Std []float32 // per channel, or nil
}

// classDirs lists the class folders of an image folder root, sorted.
func classDirs(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var classes []string
	for _, e := range ents {
		if e.IsDir() || (e.Type()&fs.ModeSymlink != 0 && isDir(filepath.Join(root, e.Name()))) {
			classes = append(classes, e.Name())
		}
	}
	slices.Sort(classes)
	return classes, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// loadImageFolder reads root/<class>/**/*.png|jpg. classes, when not nil,
// is the training set's class list (a validation folder must not bring new
// classes, and keeps the training indices).
func loadImageFolder(root string, classes []string, o imageOpts) (*Set, error) {
	own, err := classDirs(root)
	if err != nil {
		return nil, err
	}
	if len(own) == 0 {
		return nil, fmt.Errorf("%s: no class folders; need %s/<class>/*.png|jpg", root, root)
	}
	if classes == nil {
		classes = own
	}
	type sample struct {
		path  string
		label int64
	}
	var samples []sample
	var errs ir.ErrorList
	for _, c := range own {
		idx := slices.Index(classes, c)
		if idx < 0 {
			errs = append(errs, fmt.Errorf("%s: class %q is not among the training classes (%s)", filepath.Join(root, c), c, strings.Join(classes, ", ")))
			continue
		}
		files, err := imageFiles(filepath.Join(root, c))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			errs = append(errs, fmt.Errorf("%s: no image files (%s) for class %q", filepath.Join(root, c), strings.Join(imageExts, ", "), c))
		}
		for _, f := range files {
			samples = append(samples, sample{f, int64(idx)})
		}
	}
	if err := errs.Limit(maxListed).Err(); err != nil {
		return nil, err
	}
	sz := o.Channels * o.H * o.W
	if len(samples) > 0 && sz > MaxArrayElements/len(samples) {
		return nil, fmt.Errorf("%s: %d images of %d×%d×%d are more than the %d values nnkit holds in memory; use fewer or smaller images",
			root, len(samples), o.Channels, o.H, o.W, MaxArrayElements)
	}
	s := &Set{File: root, N: len(samples), Shape: []int{o.Channels, o.H, o.W}, Classes: classes,
		X: make([]float32, len(samples)*sz), Labels: make([]int64, len(samples))}
	paths := make([]string, len(samples))
	for i, sm := range samples {
		paths[i] = sm.path
		s.Labels[i] = sm.label
		if err := loadImage(sm.path, o, s.X[i*sz:(i+1)*sz]); err != nil {
			errs = append(errs, err)
		}
	}
	s.where = func(i int) string { return paths[i] }
	return s, errs.Limit(maxListed).Err()
}

// maxWalkDepth bounds how deep imageFiles descends (a chain of symbolic
// links can make a tree arbitrarily deep without forming a loop).
const maxWalkDepth = 64

// imageFiles lists the image files under a class folder in torchvision's
// order (make_dataset: sorted(os.walk(dir, followlinks=True)), then each
// folder's files sorted): folders by path, files by name within each.
// Symbolic links to folders are followed as ImageFolder follows them; a
// link back to a folder being walked (a loop) is skipped.
func imageFiles(classDir string) ([]string, error) {
	type folder struct {
		path  string
		files []string
	}
	var folders []folder
	var walk func(dir string, ancestors []fs.FileInfo) error
	walk = func(dir string, ancestors []fs.FileInfo) error {
		st, err := os.Stat(dir)
		if err != nil {
			return err
		}
		for _, a := range ancestors {
			if os.SameFile(a, st) {
				return nil // a symbolic link loop
			}
		}
		if len(ancestors) >= maxWalkDepth {
			return fmt.Errorf("%s: folders nested more than %d deep (symbolic links?)", dir, maxWalkDepth)
		}
		ancestors = append(ancestors, st)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		f := folder{path: dir}
		var subdirs []string
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			switch {
			case e.IsDir():
				subdirs = append(subdirs, p)
			case e.Type()&fs.ModeSymlink != 0 && isDir(p):
				subdirs = append(subdirs, p)
			case isImage(e.Name()):
				f.files = append(f.files, p)
			}
		}
		folders = append(folders, f)
		for _, sd := range subdirs {
			if err := walk(sd, ancestors); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(classDir, nil); err != nil {
		return nil, err
	}
	slices.SortFunc(folders, func(a, b folder) int { return strings.Compare(a.path, b.path) })
	var files []string
	for _, f := range folders {
		slices.Sort(f.files)
		files = append(files, f.files...)
	}
	return files, nil
}

// MaxImagePixels is the largest image decoded, in pixels: Pillow's
// Image.MAX_IMAGE_PIXELS (1024·1024·1024 / 4 / 3 = 89478485), above which
// Pillow warns of a decompression bomb. The size is read from the header
// (image.DecodeConfig) before any pixel is decoded.
const MaxImagePixels = 1024 * 1024 * 1024 / 4 / 3

// loadImage decodes one file into dst ([C,H,W], ToTensor's layout and
// scale, then normalized).
func loadImage(path string, o imageOpts, dst []float32) error {
	f, err := openRegular(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return fmt.Errorf("%s: cannot decode image: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("%s: empty image (%d×%d)", path, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return fmt.Errorf("%s: %d×%d pixels is more than the %d decoded (a decompression bomb?)", path, cfg.Width, cfg.Height, MaxImagePixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: cannot decode image: %w", path, err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return fmt.Errorf("%s: empty image", path)
	}
	pix := toRGB(img)
	ch := 3
	if o.Channels == 1 {
		pix = rgbToL(pix)
		ch = 1
	}
	pix = resizeBilinear(pix, w, h, ch, o.W, o.H)
	n := o.H * o.W
	for c := 0; c < ch; c++ {
		for i := 0; i < n; i++ {
			v := float32(pix[i*ch+c]) / 255 // ToTensor: img.float().div(255)
			if o.Mean != nil {
				v = (v - o.Mean[c]) / o.Std[c] // Normalize: sub_(mean).div_(std)
			}
			dst[c*n+i] = v
		}
	}
	return nil
}

// toRGB converts any decoded image to interleaved 8-bit RGB as Pillow's
// convert("RGB") does: alpha is dropped (not composited), grayscale is
// replicated, palettes are looked up.
func toRGB(img image.Image) []uint8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]uint8, 0, w*h*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			var r, g, bl uint8
			switch im := img.(type) {
			case *image.NRGBA:
				c := im.NRGBAAt(x, y)
				r, g, bl = c.R, c.G, c.B
			case *image.Gray:
				v := im.GrayAt(x, y).Y
				r, g, bl = v, v, v
			case *image.Paletted:
				c := color.NRGBAModel.Convert(im.Palette[im.ColorIndexAt(x, y)]).(color.NRGBA)
				r, g, bl = c.R, c.G, c.B
			default:
				c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
				r, g, bl = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			}
			out = append(out, r, g, bl)
		}
	}
	return out
}

// rgbToL is Pillow's RGB → L conversion (ITU-R 601-2 luma in 16-bit fixed
// point: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16).
func rgbToL(rgb []uint8) []uint8 {
	out := make([]uint8, len(rgb)/3)
	for i := range out {
		r, g, b := uint32(rgb[3*i]), uint32(rgb[3*i+1]), uint32(rgb[3*i+2])
		out[i] = uint8((r*19595 + g*38470 + b*7471 + 0x8000) >> 16)
	}
	return out
}
