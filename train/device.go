package train

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Training on a GPU: parameters, gradients and optimizer moments stay in
// device memory, and the optimizer's loops run there. The functions of
// this package find the device a parameter lives on with deviceOf
// (package cuda's DeviceOf in builds with -tags cuda, device_cuda.go;
// nothing otherwise), and host-only code paths copy through it.

// deviceOps are what training needs of a device beyond the Backend;
// package cuda's Device has them.
type deviceOps interface {
	kernels.Backend
	// Fill sets every value of b to v.
	Fill(b kernels.Buf, v float32)
	// Scale multiplies every value of b by a.
	Scale(b kernels.Buf, a float32)
	// SumSquares returns Σ x² over the Bufs, in float64.
	SumSquares(bufs ...kernels.Buf) (float64, error)
	// AdamW is adamwUpdate on the device.
	AdamW(w, g, m, v kernels.Buf, decay, beta1, beta2, eps, step, bc2sqrt float32)
}

// onDevice reports whether b is device memory of a device this build
// knows (an empty Buf counts as host memory).
func onDevice(b kernels.Buf) bool { return b.Len() > 0 && b.Host() == nil && deviceOf(b) != nil }

// readBuf returns b's values: the host slice itself, or a copy downloaded
// from its device.
func readBuf(b kernels.Buf) ([]float32, error) {
	if b.Len() == 0 || b.Host() != nil {
		return b.Host(), nil
	}
	d := deviceOf(b)
	if d == nil {
		return nil, ErrDevice
	}
	v := make([]float32, b.Len())
	if err := d.Download(v, b); err != nil {
		return nil, err
	}
	return v, nil
}

// writeBuf sets b's values from v (len(v) == b.Len()): in place on the
// host, by upload on a device.
func writeBuf(b kernels.Buf, v []float32) error {
	if b.Len() == 0 || b.Host() != nil {
		copy(b.Host(), v)
		return nil
	}
	d := deviceOf(b)
	if d == nil {
		return ErrDevice
	}
	return d.Upload(b, v)
}

// zeroBuf sets the values of b, a Buf of be, to 0: a product with k = 0
// and beta = 0, which every Backend computes without reading anything.
func zeroBuf(be kernels.Backend, b kernels.Buf) {
	if h := b.Host(); h != nil || b.Len() == 0 {
		clear(h)
		return
	}
	be.Gemm(false, false, 1, b.Len(), 0, 0, b, 1, b, b.Len(), 0, b, b.Len())
}

// hostIO carries an Encode's embeddings, and its Backward's gradients of
// them, between the caller's host slices and the model's Backend: on the
// CPU the slices themselves (kernels.HostBuf), on a device through a Buf
// there, grown as needed.
type hostIO struct {
	be  kernels.Backend
	buf kernels.Buf
}

func (io *hostIO) device(n int) (kernels.Buf, error) {
	if io.buf.Len() < n {
		io.be.Free(io.buf)
		io.buf = kernels.Buf{}
		b, err := io.be.Alloc(n)
		if err != nil {
			return kernels.Buf{}, fmt.Errorf("train: %w", err)
		}
		io.buf = b
	}
	return io.buf.Slice(0, n), nil
}

// output runs f on a Buf whose values end up in out.
func (io *hostIO) output(host bool, out []float32, f func(kernels.Buf) error) error {
	if host {
		return f(kernels.HostBuf(out))
	}
	b, err := io.device(len(out))
	if err != nil {
		return err
	}
	if err := f(b); err != nil {
		return err
	}
	return io.be.Download(out, b)
}

// input runs f on a Buf holding the values of in.
func (io *hostIO) input(host bool, in []float32, f func(kernels.Buf) error) error {
	if host {
		return f(kernels.HostBuf(in))
	}
	b, err := io.device(len(in))
	if err != nil {
		return err
	}
	if err := io.be.Upload(b, in); err != nil {
		return err
	}
	return f(b)
}

// deviceMoments allocates zeroed AdamW moments on p's device.
func deviceMoments(p Param) (m, v kernels.Buf, err error) {
	d := deviceOf(p.Value)
	if m, err = d.Alloc(p.Size()); err != nil {
		return m, v, fmt.Errorf("train: AdamW moments of %s: %w", p.Name, err)
	}
	if v, err = d.Alloc(p.Size()); err != nil {
		d.Free(m)
		return kernels.Buf{}, v, fmt.Errorf("train: AdamW moments of %s: %w", p.Name, err)
	}
	return m, v, nil
}

// moments returns parameter i's moments as host slices (copies of those
// on a GPU).
func (o *AdamW) moments(i int) (m, v []float32, err error) {
	if o.dm[i].Len() == 0 {
		return o.m[i], o.v[i], nil
	}
	if m, err = readBuf(o.dm[i]); err != nil {
		return nil, nil, err
	}
	v, err = readBuf(o.dv[i])
	return m, v, err
}
