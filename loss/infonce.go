package loss

import (
	"errors"
	"fmt"
	"math"
)

// ErrShape reports embeddings whose sizes do not fit the batch described
// by the arguments.
var ErrShape = errors.New("loss: embedding shape mismatch")

// Similarity is how an anchor and a candidate are compared.
type Similarity int

const (
	// Cosine compares the L2-normalized vectors (x/max(‖x‖, 1e-12), as
	// torch.nn.functional.normalize), sentence-transformers' default.
	Cosine Similarity = iota
	// Dot compares the vectors as they are, by inner product.
	Dot
)

// String returns "cosine" or "dot".
func (s Similarity) String() string {
	switch s {
	case Cosine:
		return "cosine"
	case Dot:
		return "dot"
	}
	return fmt.Sprintf("Similarity(%d)", int(s))
}

// MaskFunc decides whether candidate is a false negative of anchor, to be
// left out of anchor's softmax: sim is their similarity (before scaling)
// and positive the similarity of anchor to its own positive. Candidate
// indexes the candidate rows [0, nc), or nc+k for the k-th anchor when
// query–query negatives are on. A positive is never masked; the function
// is not asked about it. In the symmetric variant the pair (anchor i,
// positive j) masked here is also left out of positive j's softmax over
// the anchors.
type MaskFunc func(anchor, candidate int, sim, positive float32) bool

// MaskAbovePositive returns a MaskFunc that drops a negative scoring more
// than margin above the anchor's positive: a candidate that similar is
// more likely an unlabelled positive than a negative (the rule of
// positive-aware hard-negative mining, e.g. NV-Retriever's "TopK-MarginPos"
// with a negative margin).
func MaskAbovePositive(margin float32) MaskFunc {
	return func(_, _ int, sim, positive float32) bool { return sim > positive+margin }
}

// InfoNCE is the in-batch contrastive loss (MultipleNegativesRankingLoss);
// see the package documentation for the candidate layout. The zero value
// is not usable; call NewInfoNCE. An InfoNCE is immutable and safe for
// concurrent use.
type InfoNCE struct {
	scale          float64
	sim            Similarity
	symmetric      bool
	queryNegatives bool
	mask           MaskFunc
	chunk          int
}

// Option configures an InfoNCE.
type Option func(*InfoNCE)

// WithScale multiplies the similarities by scale before the softmax
// (default 20, sentence-transformers' default).
func WithScale(scale float64) Option { return func(l *InfoNCE) { l.scale = scale } }

// WithTemperature divides the similarities by t, i.e. sets the scale to 1/t.
func WithTemperature(t float64) Option { return func(l *InfoNCE) { l.scale = 1 / t } }

// WithSimilarity chooses cosine (default) or dot-product similarity.
func WithSimilarity(s Similarity) Option { return func(l *InfoNCE) { l.sim = s } }

// Symmetric adds the reverse direction, sentence-transformers'
// MultipleNegativesSymmetricRankingLoss: each positive also picks its
// anchor among all anchors, and the loss is the mean of the two cross
// entropies. Hard negatives take part in the forward direction only.
func Symmetric() Option { return func(l *InfoNCE) { l.symmetric = true } }

// WithQueryNegatives adds the other anchors of the batch as negatives of
// each anchor (query–query negatives), in the forward direction.
func WithQueryNegatives() Option { return func(l *InfoNCE) { l.queryNegatives = true } }

// WithMask sets the false-negative hook (nil: no masking).
func WithMask(m MaskFunc) Option { return func(l *InfoNCE) { l.mask = m } }

// WithChunk computes the loss n anchors at a time (0, the default: all at
// once), bounding the score matrix held at once to n rows. The loss and
// gradients do not depend on n beyond float rounding.
func WithChunk(n int) Option { return func(l *InfoNCE) { l.chunk = n } }

// NewInfoNCE returns the loss configured by opts.
func NewInfoNCE(opts ...Option) (*InfoNCE, error) {
	l := &InfoNCE{scale: 20, sim: Cosine}
	for _, o := range opts {
		o(l)
	}
	if !(l.scale > 0) || math.IsInf(l.scale, 0) {
		return nil, fmt.Errorf("loss: scale %v must be positive and finite", l.scale)
	}
	if l.sim != Cosine && l.sim != Dot {
		return nil, fmt.Errorf("loss: unknown similarity %v", l.sim)
	}
	if l.chunk < 0 {
		return nil, fmt.Errorf("loss: chunk %d is negative", l.chunk)
	}
	return l, nil
}

// Scale is the factor applied to the similarities.
func (l *InfoNCE) Scale() float64 { return l.scale }

// Scores writes scale·sim(a_i, c_j) into dst [b, nc], the logits of the
// forward direction before any masking; a is [b, d] and c is [nc, d].
func (l *InfoNCE) Scores(dst, a, c []float32, b, d int) error {
	nc, err := checkShapes(a, c, b, d)
	if err != nil {
		return err
	}
	if len(dst) != b*nc {
		return fmt.Errorf("%w: scores have %d values, want %d×%d", ErrShape, len(dst), b, nc)
	}
	ah, ch := a, c
	if l.sim == Cosine {
		ah, _ = normalizeRows(a, d)
		ch, _ = normalizeRows(c, d)
	}
	gemm(false, true, b, nc, d, float32(l.scale), ah, d, ch, d, 0, dst, nc)
	return nil
}

// Loss returns the mean loss of b anchors a [b, d] against the candidates
// c [nc, d] (nc ≥ b; rows 0..b-1 are the positives, the rest hard
// negatives) and, when da and dc are not nil, adds its gradient with
// respect to a and c into them (da [b, d], dc [nc, d]; either may be nil
// to skip it).
func (l *InfoNCE) Loss(da, dc, a, c []float32, b, d int) (float32, error) {
	v, err := infonce(l, da, dc, a, c, b, d)
	return float32(v), err
}

func checkShapes[T float](a, c []T, b, d int) (nc int, err error) {
	if b <= 0 || d <= 0 {
		return 0, fmt.Errorf("%w: batch %d and dimension %d must be positive", ErrShape, b, d)
	}
	if len(a) != b*d {
		return 0, fmt.Errorf("%w: anchors have %d values, want %d×%d", ErrShape, len(a), b, d)
	}
	if len(c)%d != 0 || len(c) < b*d {
		return 0, fmt.Errorf("%w: candidates have %d values, want a multiple of dimension %d with at least %d rows", ErrShape, len(c), d, b)
	}
	return len(c) / d, nil
}

// infonce is Loss for either float type; float64 serves the
// finite-difference tests.
//
// Shapes: a [b,d], c [nc,d]; the forward logits of anchor i are
// z_ij = scale·sim(a_i, c_j) for j < nc, then scale·sim(a_i, a_k) for the
// query negatives (k ≠ i). With S the similarity matrix and dS its
// gradient, the embedding gradients are dÂ = dS·Ĉ and dĈ = dSᵀ·Â, then
// back through the normalization when similarity is cosine.
func infonce[T float](l *InfoNCE, da, dc, a, c []T, b, d int) (float64, error) {
	nc, err := checkShapes(a, c, b, d)
	if err != nil {
		return 0, err
	}
	if da != nil && len(da) != len(a) {
		return 0, fmt.Errorf("%w: anchor gradient has %d values, want %d", ErrShape, len(da), len(a))
	}
	if dc != nil && len(dc) != len(c) {
		return 0, fmt.Errorf("%w: candidate gradient has %d values, want %d", ErrShape, len(dc), len(c))
	}
	grad := da != nil || dc != nil

	ah, ch := a, c
	var an, cn []float64
	if l.sim == Cosine {
		ah, an = normalizeRows(a, d)
		ch, cn = normalizeRows(c, d)
	}
	var dah, dch []T
	if grad {
		dah = make([]T, len(a))
		dch = make([]T, len(c))
	}
	// pos[i] = sim(a_i, c_i), the positive's similarity the mask compares to.
	var pos []float32
	if l.mask != nil {
		pos = make([]float32, b)
		for i := range pos {
			pos[i] = float32(dot(ah[i*d:(i+1)*d], ch[i*d:(i+1)*d]))
		}
	}

	chunk := l.chunk
	if chunk == 0 || chunk > b {
		chunk = b
	}
	scale := l.scale
	w := 1 / float64(b) // weight of one cross entropy in the mean
	if l.symmetric {
		w /= 2
	}
	cols := nc
	if l.queryNegatives {
		cols += b
	}
	s := make([]T, chunk*cols)
	p := make([]float64, cols)
	var total float64

	// Forward direction, chunk anchors at a time: S_r = Â_r·[Ĉ; Â]ᵀ.
	for r0 := 0; r0 < b; r0 += chunk {
		r := min(chunk, b-r0)
		gemm(false, true, r, nc, d, 1, ah[r0*d:], d, ch, d, 0, s, cols)
		if l.queryNegatives {
			gemm(false, true, r, b, d, 1, ah[r0*d:], d, ah, d, 0, s[nc:], cols)
		}
		for ii := 0; ii < r; ii++ {
			i := r0 + ii
			row := s[ii*cols : (ii+1)*cols]
			keep := func(j int) bool {
				if j == i {
					return true
				}
				if l.queryNegatives && j == nc+i {
					return false // an anchor is not its own negative
				}
				return l.mask == nil || !l.mask(i, j, float32(row[j]), pos[i])
			}
			total += crossEntropy(row, p, i, scale, keep)
			if grad {
				for j := range row {
					row[j] = T(scale * w * p[j])
				}
				row[i] -= T(scale * w)
			}
		}
		if grad {
			gemm(false, false, r, d, nc, 1, s, cols, ch, d, 1, dah[r0*d:], d) // dÂ_r += dS_r·Ĉ
			gemm(true, false, nc, d, r, 1, s, cols, ah[r0*d:], d, 1, dch, d)  // dĈ += dS_rᵀ·Â_r
			if l.queryNegatives {
				gemm(false, false, r, d, b, 1, s[nc:], cols, ah, d, 1, dah[r0*d:], d)
				gemm(true, false, b, d, r, 1, s[nc:], cols, ah[r0*d:], d, 1, dah, d)
			}
		}
	}

	// Reverse direction, chunk positives at a time: T_r = P̂_r·Âᵀ, each row
	// a positive's logits over all anchors.
	if l.symmetric {
		for r0 := 0; r0 < b; r0 += chunk {
			r := min(chunk, b-r0)
			gemm(false, true, r, b, d, 1, ch[r0*d:], d, ah, d, 0, s, b)
			for jj := 0; jj < r; jj++ {
				j := r0 + jj
				row := s[jj*b : (jj+1)*b]
				keep := func(i int) bool {
					return i == j || l.mask == nil || !l.mask(i, j, float32(row[i]), pos[i])
				}
				total += crossEntropy(row, p[:b], j, scale, keep)
				if grad {
					for i := range row {
						row[i] = T(scale * w * p[i])
					}
					row[j] -= T(scale * w)
				}
			}
			if grad {
				gemm(false, false, r, d, b, 1, s, b, ah, d, 1, dch[r0*d:], d) // dP̂_r += dT_r·Â
				gemm(true, false, b, d, r, 1, s, b, ch[r0*d:], d, 1, dah, d)  // dÂ += dT_rᵀ·P̂_r
			}
		}
	}

	if grad {
		if l.sim == Cosine {
			if da != nil {
				normalizeBackward(da, dah, ah, an, d)
			}
			if dc != nil {
				normalizeBackward(dc, dch, ch, cn, d)
			}
		} else {
			for i, v := range dah {
				if da != nil {
					da[i] += v
				}
			}
			for i, v := range dch {
				if dc != nil {
					dc[i] += v
				}
			}
		}
	}
	return total * w, nil
}

// crossEntropy returns -log softmax(scale·row)[target] over the columns
// keep accepts, and leaves the softmax in p (0 where dropped). It works in
// float64 with the row maximum subtracted, so large scales do not overflow.
func crossEntropy[T float](row []T, p []float64, target int, scale float64, keep func(int) bool) float64 {
	mx := math.Inf(-1)
	for j, v := range row {
		if keep(j) {
			p[j] = scale * float64(v)
			mx = max(mx, p[j])
		} else {
			p[j] = math.Inf(-1)
		}
	}
	var sum float64
	for j, z := range p[:len(row)] {
		e := math.Exp(z - mx)
		p[j] = e
		sum += e
	}
	zt := scale*float64(row[target]) - mx
	for j := range p[:len(row)] {
		p[j] /= sum
	}
	return math.Log(sum) - zt
}

// normEps is torch.nn.functional.normalize's default eps.
const normEps = 1e-12

// normalizeRows returns x with each d-wide row divided by max(‖row‖, eps),
// and the divisors.
func normalizeRows[T float](x []T, d int) ([]T, []float64) {
	rows := len(x) / d
	y := make([]T, len(x))
	n := make([]float64, rows)
	for r := 0; r < rows; r++ {
		xr := x[r*d : (r+1)*d]
		nr := max(math.Sqrt(dot(xr, xr)), normEps)
		n[r] = nr
		yr := y[r*d : (r+1)*d]
		for k, v := range xr {
			yr[k] = T(float64(v) / nr)
		}
	}
	return y, n
}

// normalizeBackward adds to dx the gradient through y = x/max(‖x‖, eps):
// dx += (dy − y·(y·dy))/‖x‖, or dy/eps where the norm was clamped.
func normalizeBackward[T float](dx, dy, y []T, n []float64, d int) {
	for r, nr := range n {
		dyr, yr, dxr := dy[r*d:(r+1)*d], y[r*d:(r+1)*d], dx[r*d:(r+1)*d]
		proj := 0.0
		if nr > normEps {
			proj = dot(yr, dyr)
		}
		for k := range dxr {
			dxr[k] += T((float64(dyr[k]) - float64(yr[k])*proj) / nr)
		}
	}
}
