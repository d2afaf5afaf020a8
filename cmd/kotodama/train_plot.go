package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/kotodama-ai/kotodama/internal/atomicfile"
)

// plotCurves draws the training loss (raw and smoothed) and the
// evaluation's nDCG@10 (with BM25's as a line) against the step, side by
// side, into a PNG at path.
func plotCurves(path string, lines []metricLine) error {
	var lossXY, smooth, ndcg plotter.XYs
	bm25 := -1.0
	var task string
	ema := 0.0
	for _, m := range lines {
		switch {
		case m.Loss != nil:
			if len(lossXY) == 0 {
				ema = *m.Loss
			}
			ema = 0.9*ema + 0.1**m.Loss
			lossXY = append(lossXY, plotter.XY{X: float64(m.Step), Y: *m.Loss})
			smooth = append(smooth, plotter.XY{X: float64(m.Step), Y: ema})
		case m.System == "model":
			if v, ok := m.Eval["ndcg@10"]; ok {
				ndcg = append(ndcg, plotter.XY{X: float64(m.Step), Y: v})
				task = m.Task
			}
		case m.System == "bm25":
			bm25 = m.Eval["ndcg@10"]
			task = m.Task
		}
	}

	pl := plot.New()
	pl.Title.Text = "training loss (InfoNCE)"
	pl.X.Label.Text = "step"
	pl.Y.Label.Text = "loss"
	if len(lossXY) > 0 {
		raw, err := plotter.NewLine(lossXY)
		if err != nil {
			return err
		}
		raw.Color = color.RGBA{R: 160, G: 190, B: 230, A: 255}
		sm, err := plotter.NewLine(smooth)
		if err != nil {
			return err
		}
		sm.Color = color.RGBA{B: 180, A: 255}
		sm.Width = vg.Points(1.5)
		pl.Add(raw, sm)
		pl.Legend.Add("logged steps", raw)
		pl.Legend.Add("moving average", sm)
	}

	pe := plot.New()
	pe.Title.Text = fmt.Sprintf("%s nDCG@10", task)
	pe.X.Label.Text = "step"
	pe.Y.Label.Text = "nDCG@10"
	pe.Y.Min = 0
	if len(ndcg) > 0 {
		ln, pts, err := plotter.NewLinePoints(ndcg)
		if err != nil {
			return err
		}
		ln.Color = color.RGBA{R: 200, A: 255}
		pts.Color = ln.Color
		pe.Add(ln, pts)
		pe.Legend.Add("model", ln, pts)
	}
	if bm25 >= 0 && len(ndcg) > 0 {
		flat := plotter.XYs{{X: ndcg[0].X, Y: bm25}, {X: ndcg[len(ndcg)-1].X, Y: bm25}}
		ln, err := plotter.NewLine(flat)
		if err != nil {
			return err
		}
		ln.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		ln.Color = color.RGBA{G: 130, A: 255}
		pe.Add(ln)
		pe.Legend.Add("BM25", ln)
	}
	pe.Legend.Top = false
	pe.Legend.Left = false

	img := vgimg.New(12*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{pl, pe}}, tiles, dc)
	pl.Draw(canvases[0][0])
	pe.Draw(canvases[0][1])
	return atomicfile.Write(path, 0o644, func(w *os.File) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}
