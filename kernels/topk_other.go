//go:build !amd64 || purego

package kernels

var topKImpls = []topKImpl{topKGeneric}
