package main

import (
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/kotodama-ai/kotodama/internal/atomicfile"
)

// plotPretrain draws the pre-training losses against the step — the
// total and its encoder and decoder parts, each as logged (thin) and as
// a moving average (thick) — into a PNG at path, as plotCurves draws
// kotodama train's.
func plotPretrain(path string, lines []pretrainLine) error {
	p := plot.New()
	p.Title.Text = "RetroMAE pre-training loss"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "masked-LM cross-entropy"
	series := []struct {
		name string
		get  func(pretrainLine) float64
		c    color.RGBA
	}{
		{"total", func(l pretrainLine) float64 { return l.Loss }, color.RGBA{B: 180, A: 255}},
		{"encoder", func(l pretrainLine) float64 { return l.EncoderLoss }, color.RGBA{R: 200, A: 255}},
		{"decoder", func(l pretrainLine) float64 { return l.DecoderLoss }, color.RGBA{G: 140, A: 255}},
	}
	for _, s := range series {
		if len(lines) == 0 {
			break
		}
		var raw, smooth plotter.XYs
		ema := s.get(lines[0])
		for _, l := range lines {
			v := s.get(l)
			ema = 0.7*ema + 0.3*v
			raw = append(raw, plotter.XY{X: float64(l.Step), Y: v})
			smooth = append(smooth, plotter.XY{X: float64(l.Step), Y: ema})
		}
		thin, err := plotter.NewLine(raw)
		if err != nil {
			return err
		}
		thin.Color = color.NRGBA{R: s.c.R, G: s.c.G, B: s.c.B, A: 80}
		thick, err := plotter.NewLine(smooth)
		if err != nil {
			return err
		}
		thick.Color, thick.Width = s.c, vg.Points(1.5)
		p.Add(thin, thick)
		p.Legend.Add(s.name, thick)
	}
	p.Legend.Top = true
	img := vgimg.New(8*vg.Inch, 4.5*vg.Inch)
	p.Draw(draw.New(img))
	return atomicfile.Write(path, 0o644, func(w *os.File) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}
