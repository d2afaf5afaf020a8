package kernels

import (
	"fmt"
	"math"
	"sync"
)

// Buf is a span of float32 values that a Backend owns: a Go slice on the
// CPU, a device address on a GPU. Model code keeps its parameters and
// activations in Bufs and hands them to Backend methods, so the same
// model code runs on either; it reads values back with Download.
type Buf struct {
	host []float32
	dev  uintptr
	n    int
}

// HostBuf wraps a slice as a Buf of the CPU backend.
func HostBuf(s []float32) Buf { return Buf{host: s, n: len(s)} }

// DeviceBuf wraps n float32 values at device address addr. Only a device
// Backend creates these.
func DeviceBuf(addr uintptr, n int) Buf { return Buf{dev: addr, n: n} }

// Len is the number of float32 values in b.
func (b Buf) Len() int { return b.n }

// Host returns the values of a host Buf, or nil for a device Buf.
func (b Buf) Host() []float32 { return b.host }

// Device returns the device address of a device Buf, or 0 for a host Buf.
func (b Buf) Device() uintptr { return b.dev }

// Slice returns the n values starting at off, sharing storage with b.
func (b Buf) Slice(off, n int) Buf {
	if off < 0 || n < 0 || off+n > b.n {
		panic(fmt.Sprintf("kernels: Buf.Slice(%d, %d) out of range [0, %d]", off, n, b.n))
	}
	if b.host != nil {
		return Buf{host: b.host[off : off+n : off+n], n: n}
	}
	if b.dev == 0 {
		return Buf{}
	}
	return Buf{dev: b.dev + uintptr(off)*4, n: n}
}

// Backend is the math a model needs, on one device. Methods take outputs
// first, then inputs, then sizes; their memory use does not grow with the
// data (scratch is reused; the CPU backend's thread hand-offs cost a few
// small allocations per call). A device Backend may run them
// asynchronously: errors surface from Sync, Upload and Download.
//
// Matrices are row-major. Token ids, type ids and attention masks stay on
// the host as Go slices and are passed to the methods that read them; a
// device Backend uploads them as needed. Invalid sizes are programming
// errors and panic, as in the rest of this package: callers check user
// input (ids against the vocabulary, say) before calling.
//
// An optional output Buf (the saved statistics of LayerNorm, the
// attention probabilities) is skipped when its Len is 0: inference passes
// Buf{}, training passes storage for what Backward needs.
type Backend interface {
	// Name says which device and code path runs, e.g. "cpu/avx512".
	Name() string
	// Alloc returns n zeroed values.
	Alloc(n int) (Buf, error)
	// Free releases a Buf from Alloc; the CPU backend leaves it to the GC.
	Free(b Buf)
	// Upload copies src into dst (len(src) values).
	Upload(dst Buf, src []float32) error
	// Download copies len(dst) values of src into dst, waiting for pending work.
	Download(dst []float32, src Buf) error
	// Sync waits for pending work and reports the first error it met.
	Sync() error

	// Gemm is Sgemm on Bufs.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a Buf, lda int, b Buf, ldb int, beta float32, c Buf, ldc int)
	// GemmStrided is SgemmStrided on Bufs.
	GemmStrided(transA, transB bool, m, n, k int, alpha float32, a Buf, lda, strideA int, b Buf, ldb, strideB int, beta float32, c Buf, ldc, strideC int, batch int)
	// PackWeight returns W, the out×in matrix in w (a linear layer's
	// weight in PyTorch's layout), in the form GemmWeight multiplies
	// fastest, for a weight that no longer changes (inference). It takes
	// w over: afterwards w's values are unspecified (the CPU backend
	// writes the packed form over them where it fits, so that it costs no
	// memory) and W is read only through the Weight, which may share w's
	// storage.
	PackWeight(w Buf, out, in int) Weight
	// GemmWeight computes C = alpha·A·Wᵀ + beta·C with W from PackWeight:
	// A is m×w.In() with row stride lda, C is m×w.Out() with stride ldc.
	// The result is Gemm(false, true, ...)'s on the W that was packed,
	// bit for bit.
	GemmWeight(m int, alpha float32, a Buf, lda int, w Weight, beta float32, c Buf, ldc int)

	// Gather copies rows of a table, as an embedding lookup does:
	// out[i,:] = table[ids[i],:] + beta*out[i,:] for i < len(ids), with
	// rows of cols values. beta is 0 (overwrite) or 1 (accumulate, to sum
	// several embeddings).
	Gather(out, table Buf, ids []int32, cols int, beta float32)
	// AddBias adds bias[c] to x[r,c] for rows×cols x.
	AddBias(x, bias Buf, rows, cols int)
	// Add sets out[i] = x[i] + y[i] for i < n; out may alias x or y.
	Add(out, x, y Buf, n int)
	// LayerNorm normalizes each row of x (rows×cols) and applies gamma and
	// beta: out = (x-μ)/√(σ²+eps)·gamma + beta, biased variance as PyTorch.
	// mean and rstd (rows values each, optional) receive μ and 1/√(σ²+eps).
	// out may alias x.
	LayerNorm(out, mean, rstd, x, gamma, beta Buf, rows, cols int, eps float32)
	// GELU sets out[i] = x[i]·Φ(x[i]) with the exact (erf) normal CDF, for
	// i < n; out may alias x.
	GELU(out, x Buf, n int)
	// Attention is multi-head scaled dot-product self-attention over a
	// batch of sequences whose keys are masked by padding:
	//
	//	qkv   [batch, seq, 3, heads, headDim]  (Q, K, V of each token side by side)
	//	mask  [batch, seq]                      (1 = token, 0 = padding)
	//	probs [batch, heads, seq, seq]          (optional output)
	//	ctx   [batch, seq, heads, headDim]
	//
	//	P = softmax(Q·Kᵀ/√headDim + M)  with M = -MaxFloat32 at masked keys
	//	ctx = P·V
	//
	// Masked keys get probability exactly 0 (padded queries still attend
	// to the real keys, as in Hugging Face's BERT). When probs has Len > 0
	// it receives P, zeros at masked keys included, for the backward pass.
	Attention(ctx, probs, qkv Buf, mask []int32, batch, seq, heads, headDim int)
	// AttentionVisible is Attention with a visibility matrix per sequence
	// in place of the key mask, for decoders whose every query sees its
	// own set of keys (RetroMAE's enhanced decoding):
	//
	//	visible [batch, seq, seq]   (visible[b,i,j] != 0: query i attends to key j)
	//
	// Invisible keys get probability exactly 0. A row with no visible key
	// (a padding query) gets all-zero probabilities and a zero output,
	// where Hugging Face's additive mask would average every value; its
	// output is meaningless either way, and zeros keep the backward pass
	// exact: that is AttentionBackward with a key mask of all ones, which
	// differentiates whatever probabilities the forward kept.
	AttentionVisible(ctx, probs, qkv Buf, visible []int32, batch, seq, heads, headDim int)
	// MaskedMax takes, for each sequence b and column c, the maximum of
	// x[b,l,c] over the positions l with mask[b,l] != 0, as
	// sentence-transformers' max pooling does: masked positions count as
	// -1e9. x is [batch, seq, cols]; out row b starts at out[b*ldOut].
	MaskedMax(out, x Buf, mask []int32, batch, seq, cols, ldOut int)
	// Softmax replaces each row of x (rows×cols) by its softmax, as the
	// package-level Softmax without a mask. Cross-attention (latent
	// attention pooling) uses it between its two products.
	Softmax(x Buf, rows, cols int)
	// GEGLU is the gated-GELU unit of GLU feed-forwards in the layout of
	// NV-Embed's FeedForward: each row of x (rows×2·cols) is [a | g], and
	// out[r,c] = a[r,c]·GELU(g[r,c]) with the exact (erf) GELU
	// (out is rows×cols and must not overlap x).
	GEGLU(out, x Buf, rows, cols int)

	// Training: the backward passes of the methods above, and dropout
	// (backend_train.go). Gradients of parameters accumulate (+=);
	// gradients of activations are overwritten unless stated.

	// LayerNormBackward sets dx (may alias dout) and adds to dgamma and
	// dbeta the gradients of LayerNorm given dout, its input x and the
	// mean and rstd it saved (rows×cols).
	LayerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd Buf, rows, cols int)
	// GELUBackward sets dx[i] = dy[i]·GELU'(x[i]) for i < n; dx may alias dy.
	GELUBackward(dx, dy, x Buf, n int)
	// BiasBackward adds the column sums of dy (rows×cols) to db.
	BiasBackward(db, dy Buf, rows, cols int)
	// ScatterAdd is Gather's backward: table[ids[i],:] += src[i,:].
	ScatterAdd(table, src Buf, ids []int32, cols int)
	// Dropout sets out = x/(1−p) where an element survives and 0 where it
	// is dropped (probability p); out may alias x. Slab i, the values
	// [i·size, (i+1)·size), draws its mask from (seed, streams[i]) alone,
	// so the same call on a gradient is dropout's backward pass.
	Dropout(out, x Buf, p float32, seed uint64, streams []uint64, size int)
	// AttentionDropout recomputes ctx = dropout(P)·V from the
	// probabilities Attention kept, with the mask of head h of sequence b
	// drawn from (seed, streams[b·heads+h]).
	AttentionDropout(ctx, probs, qkv Buf, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64)
	// AttentionBackward sets dqkv from dctx, the gradient of Attention's
	// (or AttentionDropout's, with the same p, seed, streams) output.
	AttentionBackward(dqkv, dctx, probs, qkv Buf, mask []int32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64)
	// MaskedMaxBackward adds dout[b,c] to dx[b,l,c] at the position l that
	// MaskedMax took (the first maximum among unmasked positions); out and
	// dout rows start at b·ldOut.
	MaskedMaxBackward(dx, dout, x Buf, mask []int32, batch, seq, cols, ldOut int)
	// SoftmaxBackward turns dy, the gradient of Softmax's output y
	// (rows×cols), into the gradient of its input, in place:
	// dy ← y·(dy − Σ_c dy·y).
	SoftmaxBackward(dy, y Buf, rows, cols int)
	// GEGLUBackward sets dx (rows×2·cols, the layout of GEGLU's x; must
	// not overlap x or dout) from dout, the gradient of GEGLU's output:
	// da = dout·GELU(g), dg = dout·a·GELU'(g).
	GEGLUBackward(dx, dout, x Buf, rows, cols int)
}

// CPU is the Backend on this machine's processor. Its methods run on a
// Pool of threads (rows split across them) and are safe for concurrent
// use.
type CPU struct {
	pool    *Pool
	one     *Pool     // a single-thread Pool for GEMMs inside parallel loops
	scratch sync.Pool // *[]float32: attention scores (one per parallel task), the copy of a weight PackWeight packs
}

// NewCPU returns the CPU backend on the Default pool.
func NewCPU() *CPU { return NewCPUPool(Default()) }

// NewCPUPool returns a CPU backend running on p, to choose the number of
// threads; a nil p means Default().
func NewCPUPool(p *Pool) *CPU {
	if p == nil {
		p = Default()
	}
	return &CPU{pool: p, one: NewPool(1)}
}

// Pool returns the Pool c runs on.
func (c *CPU) Pool() *Pool { return c.pool }

// Name implements Backend: "cpu/" and the dispatch level in use.
func (c *CPU) Name() string { return "cpu/" + Info().Level }

// Alloc implements Backend.
func (*CPU) Alloc(n int) (Buf, error) {
	if n < 0 {
		return Buf{}, fmt.Errorf("kernels: Alloc(%d): negative size", n)
	}
	return HostBuf(make([]float32, n)), nil
}

// Free implements Backend.
func (*CPU) Free(Buf) {}

// Upload implements Backend.
func (*CPU) Upload(dst Buf, src []float32) error {
	if len(src) > dst.n {
		return fmt.Errorf("kernels: Upload: %d values into a Buf of %d", len(src), dst.n)
	}
	copy(dst.host, src)
	return nil
}

// Download implements Backend.
func (*CPU) Download(dst []float32, src Buf) error {
	if len(dst) > src.n {
		return fmt.Errorf("kernels: Download: %d values from a Buf of %d", len(dst), src.n)
	}
	copy(dst, src.host)
	return nil
}

// Sync implements Backend.
func (*CPU) Sync() error { return nil }

// Gemm implements Backend.
func (c *CPU) Gemm(transA, transB bool, m, n, k int, alpha float32, a Buf, lda int, b Buf, ldb int, beta float32, cm Buf, ldc int) {
	c.pool.Sgemm(transA, transB, m, n, k, alpha, a.host, lda, b.host, ldb, beta, cm.host, ldc)
}

// GemmStrided implements Backend.
func (c *CPU) GemmStrided(transA, transB bool, m, n, k int, alpha float32, a Buf, lda, strideA int, b Buf, ldb, strideB int, beta float32, cm Buf, ldc, strideC int, batch int) {
	c.pool.SgemmStrided(transA, transB, m, n, k, alpha, a.host, lda, strideA, b.host, ldb, strideB, beta, cm.host, ldc, strideC, batch)
}

// elemGrain is how many values an elementwise task takes at least: enough
// to outweigh handing the task to another thread.
const elemGrain = 1 << 14

// rowGrain is the number of rows of cols values that make one task.
func rowGrain(cols int) int { return max(1, elemGrain/max(cols, 1)) }

// Gather implements Backend.
func (c *CPU) Gather(out, table Buf, ids []int32, cols int, beta float32) {
	if cols < 0 || len(ids)*cols > out.n {
		panic(fmt.Sprintf("kernels: Gather: %d rows of %d into a Buf of %d", len(ids), cols, out.n))
	}
	if beta != 0 && beta != 1 {
		panic(fmt.Sprintf("kernels: Gather: beta = %v, want 0 or 1", beta))
	}
	rows := 0
	if cols > 0 {
		rows = table.n / cols
	}
	for i, id := range ids {
		if id < 0 || int(id) >= rows {
			panic(fmt.Sprintf("kernels: Gather: ids[%d] = %d outside the table's %d rows", i, id, rows))
		}
	}
	c.pool.For(len(ids), rowGrain(cols), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			id := int(ids[i])
			src := table.host[id*cols : (id+1)*cols]
			dst := out.host[i*cols : (i+1)*cols]
			if beta == 0 {
				copy(dst, src)
			} else {
				Axpy(1, src, dst)
			}
		}
	})
}

// AddBias implements Backend.
func (c *CPU) AddBias(x, bias Buf, rows, cols int) {
	if rows*cols > x.n || bias.n < cols {
		panic(fmt.Sprintf("kernels: AddBias: %d×%d over a Buf of %d with a bias of %d", rows, cols, x.n, bias.n))
	}
	c.pool.For(rows, rowGrain(cols), func(lo, hi int) {
		AddBias(x.host[lo*cols:hi*cols], bias.host[:cols])
	})
}

// Add implements Backend.
func (c *CPU) Add(out, x, y Buf, n int) {
	if n > out.n || n > x.n || n > y.n {
		panic(fmt.Sprintf("kernels: Add: n = %d over Bufs of %d, %d, %d", n, out.n, x.n, y.n))
	}
	c.pool.For(n, elemGrain, func(lo, hi int) {
		o, a, b := out.host[lo:hi], x.host[lo:hi], y.host[lo:hi]
		switch {
		case &o[0] == &a[0]:
			Axpy(1, b, o)
		case &o[0] == &b[0]:
			Axpy(1, a, o)
		default:
			copy(o, a)
			Axpy(1, b, o)
		}
	})
}

// LayerNorm implements Backend.
func (c *CPU) LayerNorm(out, mean, rstd, x, gamma, beta Buf, rows, cols int, eps float32) {
	c.pool.For(rows, rowGrain(cols), func(lo, hi int) {
		var m, r []float32
		if mean.n > 0 {
			m = mean.host[lo:hi]
		}
		if rstd.n > 0 {
			r = rstd.host[lo:hi]
		}
		LayerNorm(out.host[lo*cols:hi*cols], x.host[lo*cols:hi*cols], gamma.host[:cols], beta.host[:cols], cols, eps, m, r)
	})
}

// GELU implements Backend.
func (c *CPU) GELU(out, x Buf, n int) {
	c.pool.For(n, elemGrain, func(lo, hi int) {
		GELU(out.host[lo:hi], x.host[lo:hi])
	})
}

// maskedScore is what Hugging Face's BERT adds to the scores of masked
// keys: the most negative float32, whose exp underflows to exactly 0.
const maskedScore = -math.MaxFloat32

// Attention implements Backend. Each (sequence, head) pair is computed on
// its own: S = Q·Kᵀ in a seq×seq scratch (or in probs), softmax in place,
// then ctx = S·V. When a sequence's mask is a run of ones followed by
// zeros (right padding, what tokenizers produce), the padded keys are
// left out of both products rather than masked, which gives the same
// result: their probabilities would be exactly 0.
func (c *CPU) Attention(ctx, probs, qkv Buf, mask []int32, batch, seq, heads, headDim int) {
	hidden := heads * headDim
	ld := 3 * hidden
	if batch < 0 || seq < 0 || heads < 0 || headDim < 0 {
		panic(fmt.Sprintf("kernels: Attention: negative size batch=%d seq=%d heads=%d headDim=%d", batch, seq, heads, headDim))
	}
	if qkv.n < batch*seq*ld || ctx.n < batch*seq*hidden || len(mask) < batch*seq {
		panic(fmt.Sprintf("kernels: Attention: Bufs of %d (qkv), %d (ctx), mask of %d for batch=%d seq=%d hidden=%d",
			qkv.n, ctx.n, len(mask), batch, seq, hidden))
	}
	keep := probs.n > 0
	if keep && probs.n < batch*heads*seq*seq {
		panic(fmt.Sprintf("kernels: Attention: probs holds %d, want %d", probs.n, batch*heads*seq*seq))
	}
	if batch == 0 || seq == 0 || heads == 0 {
		return
	}
	scale := float32(1 / math.Sqrt(float64(headDim)))
	// One task per (sequence, head); each runs its two products on one
	// thread, with its scores in cache.
	c.pool.For(batch*heads, 1, func(lo, hi int) {
		var scratch *[]float32
		if !keep {
			scratch = c.scores(seq * seq)
			defer c.scratch.Put(scratch)
		}
		for bh := lo; bh < hi; bh++ {
			b, h := bh/heads, bh%heads
			m := mask[b*seq : (b+1)*seq]
			base := b*seq*ld + h*headDim
			q := qkv.host[base:]
			k := qkv.host[base+hidden:]
			v := qkv.host[base+2*hidden:]
			var s []float32
			if keep {
				s = probs.host[bh*seq*seq : (bh+1)*seq*seq]
			} else {
				s = (*scratch)[:seq*seq]
			}
			out := ctx.host[b*seq*hidden+h*headDim:]
			if keys := prefixLen(m); keys > 0 {
				c.attendPrefix(out, hidden, s, q, k, v, ld, seq, keys, headDim, scale, keep)
			} else {
				c.attendMasked(out, hidden, s, q, k, v, ld, seq, m, headDim, scale)
			}
		}
	})
}

// scores returns scratch for n attention scores.
func (c *CPU) scores(n int) *[]float32 {
	if p, ok := c.scratch.Get().(*[]float32); ok && cap(*p) >= n {
		return p
	}
	s := make([]float32, n)
	return &s
}

// prefixLen returns the number of leading ones of a 0/1 mask when every
// later entry is zero, or -1 when the mask is not of that form.
func prefixLen(m []int32) int {
	n := 0
	for n < len(m) && m[n] != 0 {
		n++
	}
	for _, v := range m[n:] {
		if v != 0 {
			return -1
		}
	}
	return n
}

// attendPrefix computes one head of one sequence whose first keys tokens
// are real and the rest padding. s is seq×seq with row stride seq; out
// rows have stride ldOut.
func (c *CPU) attendPrefix(out []float32, ldOut int, s, q, k, v []float32, ld, seq, keys, headDim int, scale float32, keep bool) {
	c.one.Sgemm(false, true, seq, keys, headDim, scale, q, ld, k, ld, 0, s, seq)
	for i := range seq {
		row := s[i*seq : (i+1)*seq]
		Softmax(row[:keys], keys, nil)
		if keep {
			clear(row[keys:])
		}
	}
	c.one.Sgemm(false, false, seq, headDim, keys, 1, s, seq, v, ld, 0, out, ldOut)
}

// attendMasked is the general path: scores over every key, with
// maskedScore added where mask is 0. A mask of all zeros makes every score
// equally -MaxFloat32, so the softmax is uniform, as in Hugging Face.
func (c *CPU) attendMasked(out []float32, ldOut int, s, q, k, v []float32, ld, seq int, mask []int32, headDim int, scale float32) {
	c.one.Sgemm(false, true, seq, seq, headDim, scale, q, ld, k, ld, 0, s, seq)
	for i := range seq {
		row := s[i*seq : (i+1)*seq]
		mx := float32(math.Inf(-1))
		for j, m := range mask {
			if m == 0 {
				row[j] += maskedScore
			}
			mx = max(mx, row[j])
		}
		var sum float64
		for j, x := range row {
			e := math.Exp(float64(x - mx))
			row[j] = float32(e)
			sum += e
		}
		inv := float32(1 / sum)
		for j := range row {
			row[j] *= inv
		}
	}
	c.one.Sgemm(false, false, seq, headDim, seq, 1, s, seq, v, ld, 0, out, ldOut)
}

// MaskedMax implements Backend.
func (c *CPU) MaskedMax(out, x Buf, mask []int32, batch, seq, cols, ldOut int) {
	if x.n < batch*seq*cols || len(mask) < batch*seq || (batch > 0 && out.n < (batch-1)*ldOut+cols) {
		panic(fmt.Sprintf("kernels: MaskedMax: Bufs of %d (x), %d (out), mask of %d for batch=%d seq=%d cols=%d ldOut=%d",
			x.n, out.n, len(mask), batch, seq, cols, ldOut))
	}
	const masked = -1e9
	for b := range batch {
		o := out.host[b*ldOut : b*ldOut+cols]
		first := true
		for l := range seq {
			if mask[b*seq+l] == 0 {
				continue
			}
			row := x.host[(b*seq+l)*cols : (b*seq+l+1)*cols]
			if first {
				copy(o, row)
				first = false
				continue
			}
			for c, v := range row {
				o[c] = max(o[c], v)
			}
		}
		if first {
			for c := range o {
				o[c] = masked
			}
			continue
		}
		if prefixLen(mask[b*seq:(b+1)*seq]) != seq {
			for c := range o {
				o[c] = max(o[c], masked)
			}
		}
	}
}
