//go:build cuda

package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGemmWeight: a weight "packed" on the GPU (kept as stored) multiplies
// as the CPU backend's packed one does, and stays unchanged.
func TestGemmWeight(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(4, 4))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 32, 7}, {17, 33, 9}, {64, 96, 128}} {
		m, out, in := sz[0], sz[1], sz[2]
		wv := randVec(r, out*in, 1)
		w := newPair(t, d, wv)
		a := newPair(t, d, randVec(r, m*(in+1), 1))
		c := newPair(t, d, randVec(r, m*(out+2), 1))
		pc, pg := cpu.PackWeight(w.c, out, in), d.PackWeight(w.g, out, in)
		if pg.Out() != out || pg.In() != in {
			t.Fatalf("PackWeight: %d×%d, want %d×%d", pg.Out(), pg.In(), out, in)
		}
		cpu.GemmWeight(m, 0.5, a.c, in+1, pc, 1, c.c, out+2)
		d.GemmWeight(m, 0.5, a.g, in+1, pg, 1, c.g, out+2)
		c.check(t, d, fmt.Sprintf("GemmWeight m=%d out=%d in=%d", m, out, in), tol)
		compare(t, "weight after PackWeight", down(t, d, w.g), wv, 0)
	}
}
