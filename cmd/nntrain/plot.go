package main

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/train"
)

// Colours: train blue, validation orange, the learning rate green, marks
// red (Okabe–Ito, readable with colour blindness).
var (
	colTrain = color.RGBA{0, 114, 178, 255}
	colVal   = color.RGBA{230, 159, 0, 255}
	colLR    = color.RGBA{0, 158, 115, 255}
	colMark  = color.RGBA{213, 94, 0, 255}
	colFaint = color.NRGBA{R: 0, G: 114, B: 178, A: 90}
)

// plotCurves draws a finished run: loss per epoch, accuracy per epoch
// (when the loss has one) and the learning rate, in panels stacked over a
// shared epoch axis; bestEpoch > 0 marks the epoch whose weights early
// stopping kept, stopped says training ended there early.
func plotCurves(epochs []train.EpochStats, bestEpoch int, stopped string) ([]byte, error) {
	if len(epochs) == 0 {
		return nil, fmt.Errorf("no epochs to plot")
	}
	xs := func(f func(e train.EpochStats) float64) (plotter.XYs, bool) {
		var pts plotter.XYs
		for _, e := range epochs {
			if v := f(e); !math.IsNaN(v) && !math.IsInf(v, 0) {
				pts = append(pts, plotter.XY{X: float64(e.Epoch), Y: v})
			}
		}
		return pts, len(pts) > 0
	}
	var panels []*plot.Plot
	addPanel := func(title, ylabel string, series []namedSeries) error {
		p := plot.New()
		p.Title.Text = title
		p.Y.Label.Text = ylabel
		p.X.Tick.Marker = intTicks{}
		p.Add(plotter.NewGrid())
		for _, s := range series {
			if err := addSeries(p, s); err != nil {
				return err
			}
		}
		if bestEpoch > 0 {
			mark := &vline{x: float64(bestEpoch), style: draw.LineStyle{Color: colMark, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}}
			p.Add(mark)
			if len(panels) == 0 { // named once, in the first panel
				p.Legend.Add(fmt.Sprintf("best epoch %d (weights kept)", bestEpoch), mark)
			}
		}
		p.Legend.Top = true
		panels = append(panels, p)
		return nil
	}
	tl, _ := xs(func(e train.EpochStats) float64 { return e.TrainLoss })
	vl, hasVal := xs(func(e train.EpochStats) float64 { return e.ValLoss })
	title := fmt.Sprintf("loss (%d epochs)", len(epochs))
	if stopped != "" && bestEpoch > 0 {
		title = fmt.Sprintf("loss (early stopping after epoch %d)", epochs[len(epochs)-1].Epoch)
	}
	loss := []namedSeries{{"train", tl, colTrain, false}}
	if hasVal {
		loss = append(loss, namedSeries{"validation", vl, colVal, false})
	}
	if err := addPanel(title, "loss", loss); err != nil {
		return nil, err
	}
	ta, hasTA := xs(func(e train.EpochStats) float64 { return e.TrainAcc })
	va, hasVA := xs(func(e train.EpochStats) float64 { return e.ValAcc })
	if hasTA || hasVA {
		var acc []namedSeries
		if hasTA {
			acc = append(acc, namedSeries{"train", ta, colTrain, false})
		}
		if hasVA {
			acc = append(acc, namedSeries{"validation", va, colVal, false})
		}
		if err := addPanel("accuracy", "accuracy", acc); err != nil {
			return nil, err
		}
		panels[len(panels)-1].Legend.Top = false
		panels[len(panels)-1].Legend.Left = false
	}
	lr := lrPoints(epochs)
	if err := addPanel("learning rate", "lr", []namedSeries{{"lr", lr, colLR, true}}); err != nil {
		return nil, err
	}
	lrp := panels[len(panels)-1]
	lrp.Legend = plot.NewLegend() // one series, named by the title
	if logWorthy(lr) {
		lrp.Y.Scale, lrp.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	} else if min, max := lrAxis(lr); min < max {
		lrp.Y.Min, lrp.Y.Max = min, max
	}
	lrp.X.Label.Text = "epoch"
	return render(panels, 8*vg.Inch, vg.Length(len(panels))*3*vg.Inch)
}

// plotLRFind draws the range test: loss against learning rate on a log
// axis, raw and smoothed, with the suggestion marked.
func plotLRFind(r *train.LRFind) ([]byte, error) {
	if len(r.LRs) == 0 {
		return nil, fmt.Errorf("no steps to plot")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("LR range test (%d steps)", len(r.LRs))
	p.X.Label.Text = "learning rate (log scale)"
	p.Y.Label.Text = "training loss"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	p.Add(plotter.NewGrid())
	raw, smooth := make(plotter.XYs, len(r.LRs)), make(plotter.XYs, len(r.LRs))
	for i, lr := range r.LRs {
		raw[i] = plotter.XY{X: lr, Y: r.Losses[i]}
		smooth[i] = plotter.XY{X: lr, Y: r.Smoothed[i]}
	}
	// Keep the y range on what matters: the exploded tail would flatten
	// the rest.
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, v := range r.Smoothed {
		lo, hi = math.Min(lo, math.Min(v, r.Losses[i])), math.Max(hi, v)
	}
	if err := addSeries(p, namedSeries{"loss", raw, colFaint, false}); err != nil {
		return nil, err
	}
	if err := addSeries(p, namedSeries{"smoothed", smooth, colTrain, false}); err != nil {
		return nil, err
	}
	pad := (hi - lo) * 0.1
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	if r.Suggested > 0 {
		mark := &vline{x: r.Suggested, style: draw.LineStyle{Color: colMark, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}}
		p.Add(mark)
		p.Legend.Add(fmt.Sprintf("suggested --lr %.3g", r.Suggested), mark)
	}
	if r.MinLossLR > 0 {
		mark := &vline{x: r.MinLossLR, style: draw.LineStyle{Color: color.Gray{150}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}}
		p.Add(mark)
		p.Legend.Add(fmt.Sprintf("minimum loss at %.3g", r.MinLossLR), mark)
	}
	p.Legend.Top, p.Legend.Left = true, true
	return render([]*plot.Plot{p}, 8*vg.Inch, 5*vg.Inch)
}

type namedSeries struct {
	name  string
	pts   plotter.XYs
	color color.Color
	step  bool // a value that holds until the next point (the learning rate)
}

func addSeries(p *plot.Plot, s namedSeries) error {
	l, err := plotter.NewLine(s.pts)
	if err != nil {
		return err
	}
	l.Color, l.Width = s.color, vg.Points(1.8)
	if s.step {
		l.StepStyle = plotter.PostStep
	}
	if _, faint := s.color.(color.NRGBA); faint {
		l.Width = vg.Points(1)
	}
	p.Add(l)
	p.Legend.Add(s.name, l)
	if len(s.pts) <= 60 { // dots on each epoch while they stay readable
		sc, err := plotter.NewScatter(s.pts)
		if err != nil {
			return err
		}
		sc.Color, sc.Radius, sc.Shape = s.color, vg.Points(2.2), draw.CircleGlyph{}
		p.Add(sc)
	}
	return nil
}

// lrPoints is the learning rate per epoch.
func lrPoints(epochs []train.EpochStats) plotter.XYs {
	pts := make(plotter.XYs, 0, len(epochs))
	for _, e := range epochs {
		if !math.IsNaN(e.LR) && !math.IsInf(e.LR, 0) {
			pts = append(pts, plotter.XY{X: float64(e.Epoch), Y: e.LR})
		}
	}
	return pts
}

// lrAxis chooses a linear learning-rate axis for a constant learning rate:
// gonum centres a zero-width range on the value with ±1 around it, which
// drew lr 0.01 as a flat line labelled 0. It returns [0, 1.25·lr] then (or
// [1.25·lr, 0] for a negative one), and min == max when gonum's own range
// is right.
func lrAxis(pts plotter.XYs) (min, max float64) {
	lo, hi, ok := yRange(pts)
	if !ok || hi-lo > 1e-9*math.Abs(hi) {
		return 0, 0
	}
	min, max = math.Min(0, 1.25*lo), math.Max(0, 1.25*hi)
	if min == max { // lr 0 throughout
		max = 1
	}
	return min, max
}

// yRange returns the smallest and largest Y of pts; ok is false for none.
func yRange(pts plotter.XYs) (lo, hi float64, ok bool) {
	if len(pts) == 0 {
		return 0, 0, false
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
	}
	return lo, hi, true
}

// logWorthy: positive values spanning more than a factor 10.
func logWorthy(pts plotter.XYs) bool {
	lo, hi := math.Inf(1), 0.0
	for _, p := range pts {
		if p.Y <= 0 {
			return false
		}
		lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
	}
	return hi > 10*lo
}

// render stacks plots vertically into one PNG.
func render(ps []*plot.Plot, w, h vg.Length) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(ps), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	grid := make([][]*plot.Plot, len(ps))
	for i, p := range ps {
		grid[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(grid, tiles, dc)
	for i, p := range ps {
		p.Draw(canvases[i][0])
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writePlot writes a rendered PNG atomically.
func writePlot(path string, png []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(png)
		return err
	})
}

// vline is a vertical line across a plot's data area at x, with a legend
// entry.
type vline struct {
	x     float64
	style draw.LineStyle
}

func (v *vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.x)
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

func (v *vline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(v.style, c.Min.X, y, c.Max.X, y)
}

// logTicks marks the powers of ten, labelled 1e-05, 0.001, 0.01, 0.1, 1,
// with unlabelled minor ticks at 2..9 times them.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for k := 1.0; k < 10; k++ {
			v := k * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if k == 1 {
				t.Label = strconv.FormatFloat(v, 'g', 1, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// intTicks labels whole epochs only.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, math.Ceil((hi-lo)/10))
	var ts []plot.Tick
	for v := math.Ceil(lo); v <= hi; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
	}
	return ts
}

// plotFlag is --plot FILE.
type plotFlag struct{ path string }

func (f *plotFlag) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&f.path, "plot", "", "write a PNG `FILE`: after training, loss, accuracy and learning rate per epoch (early stopping's best epoch marked); with --lr-find, loss against learning rate with the suggestion marked")
}

// check refuses a --plot path whose directory does not exist, before any
// training.
func (f *plotFlag) check() error {
	if f.path == "" {
		return nil
	}
	if st, err := os.Stat(filepath.Dir(f.path)); err != nil || !st.IsDir() {
		return cli.Usagef("--plot %s: the directory %s does not exist", f.path, filepath.Dir(f.path))
	}
	return nil
}

// run plots a finished (or failed, or interrupted) run's epochs.
func (f *plotFlag) run(w io.Writer, res *train.Result, es *train.EarlyStopping) {
	if f.path == "" || res == nil || len(res.Epochs) == 0 {
		return
	}
	best, stopped := 0, ""
	if es != nil {
		best = es.BestEpoch
	}
	if strings.HasPrefix(res.Stopped, "early stopping") {
		stopped = res.Stopped
	}
	f.write(w, func() ([]byte, error) { return plotCurves(res.Epochs, best, stopped) })
}

// lrFind plots a range test.
func (f *plotFlag) lrFind(w io.Writer, r *train.LRFind) {
	if f.path != "" {
		f.write(w, func() ([]byte, error) { return plotLRFind(r) })
	}
}

func (f *plotFlag) write(w io.Writer, render func() ([]byte, error)) {
	png, err := render()
	if err == nil {
		err = writePlot(f.path, png)
	}
	if err != nil {
		fmt.Fprintf(w, "nntrain: --plot %s: %v\n", f.path, err)
		return
	}
	fmt.Fprintf(w, "plot: %s\n", f.path)
}
