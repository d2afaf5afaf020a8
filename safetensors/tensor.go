package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Tensor is one named tensor: its dtype, shape and little-endian bytes.
// A Tensor from a File views the file's memory and is valid until the
// File is closed; a Tensor made by Float32 or Int64 owns its bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements is the product of the shape (1 for a scalar).
func (t Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// checkLen reports an error unless the data holds exactly the shape's
// elements of the dtype.
func (t Tensor) checkLen() error {
	size := t.DType.Size()
	if size == 0 {
		return fmt.Errorf("%w: tensor %q has dtype %q", ErrDType, t.Name, t.DType)
	}
	numel := uint64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("%w: tensor %q has shape %v", ErrFormat, t.Name, t.Shape)
		}
		if d != 0 && numel > math.MaxInt64/uint64(d)/uint64(size) {
			return fmt.Errorf("%w: tensor %q shape %v is too large", ErrFormat, t.Name, t.Shape)
		}
		numel *= uint64(d)
	}
	if uint64(len(t.Data)) != numel*uint64(size) {
		return fmt.Errorf("%w: tensor %q holds %d bytes, want %d for %s%v", ErrFormat, t.Name, len(t.Data), numel*uint64(size), t.DType, t.Shape)
	}
	return nil
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// asU16 returns b as uint16s without copying when the host is
// little-endian and b is 2-byte aligned, or nil.
func asU16(b []byte) []uint16 {
	if !littleEndian || len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%2 != 0 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
}

// asF32 is asU16 for float32.
func asF32(b []byte) []float32 {
	if !littleEndian || len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// Float32s converts the tensor's F32, F16, BF16 or F64 elements into dst,
// which must have exactly NumElements values. Half-precision values
// convert exactly; F64 rounds to nearest.
func (t Tensor) Float32s(dst []float32) error {
	if err := t.checkLen(); err != nil {
		return err
	}
	if n := len(t.Data) / max(t.DType.Size(), 1); len(dst) != n {
		return fmt.Errorf("safetensors: tensor %q: destination holds %d values, tensor %d", t.Name, len(dst), n)
	}
	b := t.Data
	switch t.DType {
	case F32:
		if s := asF32(b); s != nil {
			copy(dst, s)
			return nil
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16, BF16:
		conv := kernels.F16ToF32
		if t.DType == BF16 {
			conv = kernels.BF16ToF32
		}
		if s := asU16(b); s != nil {
			conv(dst, s)
			return nil
		}
		// Unaligned: convert through a small buffer.
		var buf [512]uint16
		for i := 0; i < len(dst); i += len(buf) {
			n := min(len(buf), len(dst)-i)
			for j := range n {
				buf[j] = binary.LittleEndian.Uint16(b[2*(i+j):])
			}
			conv(dst[i:i+n], buf[:n])
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	default:
		return fmt.Errorf("%w: tensor %q is %s, not a floating-point type", ErrDType, t.Name, t.DType)
	}
	return nil
}

// Int64s reads the tensor's integer (or BOOL) elements into dst, which
// must have exactly NumElements values. U64 values above MaxInt64 are an
// error.
func (t Tensor) Int64s(dst []int64) error {
	if err := t.checkLen(); err != nil {
		return err
	}
	if n := len(t.Data) / max(t.DType.Size(), 1); len(dst) != n {
		return fmt.Errorf("safetensors: tensor %q: destination holds %d values, tensor %d", t.Name, len(dst), n)
	}
	b := t.Data
	le := binary.LittleEndian
	for i := range dst {
		switch t.DType {
		case BOOL, U8:
			dst[i] = int64(b[i])
		case I8:
			dst[i] = int64(int8(b[i]))
		case I16:
			dst[i] = int64(int16(le.Uint16(b[2*i:])))
		case U16:
			dst[i] = int64(le.Uint16(b[2*i:]))
		case I32:
			dst[i] = int64(int32(le.Uint32(b[4*i:])))
		case U32:
			dst[i] = int64(le.Uint32(b[4*i:]))
		case I64:
			dst[i] = int64(le.Uint64(b[8*i:]))
		case U64:
			v := le.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return fmt.Errorf("%w: tensor %q element %d = %d overflows int64", ErrDType, t.Name, i, v)
			}
			dst[i] = int64(v)
		default:
			return fmt.Errorf("%w: tensor %q is %s, not an integer type", ErrDType, t.Name, t.DType)
		}
	}
	return nil
}

// Float32 makes an F32 tensor holding a copy of values. The shape is not
// checked here; writing a tensor whose shape does not match its values
// is an error.
func Float32(name string, shape []int, values []float32) Tensor {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: append([]int(nil), shape...), Data: b}
}

// Int64 makes an I64 tensor holding a copy of values.
func Int64(name string, shape []int, values []int64) Tensor {
	b := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: I64, Shape: append([]int(nil), shape...), Data: b}
}

// As converts a floating-point tensor to another floating-point dtype
// (F32, F16, BF16 or F64), rounding to nearest even; converting to the
// same dtype returns t.
func (t Tensor) As(dtype DType) (Tensor, error) {
	if t.DType == dtype {
		return t, nil
	}
	if !t.DType.IsFloat() || !dtype.IsFloat() {
		return Tensor{}, fmt.Errorf("%w: cannot convert tensor %q from %s to %s", ErrDType, t.Name, t.DType, dtype)
	}
	if err := t.checkLen(); err != nil {
		return Tensor{}, err
	}
	var f []float32
	if t.DType == F64 {
		f = nil // convert F64 directly below to keep precision
	} else {
		f = make([]float32, t.NumElements())
		if err := t.Float32s(f); err != nil {
			return Tensor{}, err
		}
	}
	out := Tensor{Name: t.Name, DType: dtype, Shape: append([]int(nil), t.Shape...)}
	n := t.NumElements()
	out.Data = make([]byte, n*dtype.Size())
	le := binary.LittleEndian
	switch dtype {
	case F32:
		if f == nil {
			for i := range n {
				le.PutUint32(out.Data[4*i:], math.Float32bits(float32(math.Float64frombits(le.Uint64(t.Data[8*i:])))))
			}
		} else {
			for i, v := range f {
				le.PutUint32(out.Data[4*i:], math.Float32bits(v))
			}
		}
	case F64:
		for i, v := range f {
			le.PutUint64(out.Data[8*i:], math.Float64bits(float64(v)))
		}
	case F16, BF16:
		if f == nil {
			f = make([]float32, n)
			if err := t.Float32s(f); err != nil {
				return Tensor{}, err
			}
		}
		h := make([]uint16, n)
		if dtype == F16 {
			kernels.F32ToF16(h, f)
		} else {
			kernels.F32ToBF16(h, f)
		}
		for i, v := range h {
			le.PutUint16(out.Data[2*i:], v)
		}
	}
	return out, nil
}
