package index

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// The file is little-endian. On a little-endian host the sections are
// written from and viewed in memory as they are; elsewhere they are
// converted.

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// size is the number of bytes of one stored value.
func (t DType) size() uint64 {
	if t == Float16 {
		return 2
	}
	return 4
}

func bytesOf[T any](s []T) []byte {
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// view returns b (aligned for T, a whole number of T long) as a []T with
// cap == len, so appending to it copies rather than writes into b.
func view[T any](b []byte) []T {
	var z T
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func le32Bytes(s []float32) []byte {
	if littleEndian {
		return bytesOf(s)
	}
	b := make([]byte, 4*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func le16Bytes(s []uint16) []byte {
	if littleEndian {
		return bytesOf(s)
	}
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func le64Bytes(s []uint64) []byte {
	if littleEndian {
		return bytesOf(s)
	}
	b := make([]byte, 8*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func viewF32(b []byte) []float32 {
	if littleEndian {
		return view[float32](b)
	}
	s := make([]float32, len(b)/4)
	for i := range s {
		s[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return s
}

func viewU16(b []byte) []uint16 {
	if littleEndian {
		return view[uint16](b)
	}
	s := make([]uint16, len(b)/2)
	for i := range s {
		s[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return s
}

func viewU64(b []byte) []uint64 {
	if littleEndian {
		return view[uint64](b)
	}
	s := make([]uint64, len(b)/8)
	for i := range s {
		s[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return s
}
