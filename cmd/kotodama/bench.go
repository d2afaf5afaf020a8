package main

import (
	"context"
	"fmt"
	"io"
	"sort"
)

// benchmark is one target of `kotodama bench`; each lives in its own file
// and adds itself to benchmarks in an init function.
type benchmark struct {
	name  string
	short string
	run   func(ctx context.Context, e *env, args []string) error
}

var benchmarks = map[string]*benchmark{}

func registerBench(b *benchmark) {
	if _, dup := benchmarks[b.name]; dup {
		panic("kotodama: benchmark registered twice: " + b.name)
	}
	benchmarks[b.name] = b
}

func init() {
	register(&command{
		name:  "bench",
		short: "measure kernels and models (gemm, bert, search, ...)",
		run:   runBench,
	})
}

func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		benchUsage(e.stderr)
		if len(args) == 0 {
			return fmt.Errorf("bench: no target given")
		}
		return nil
	}
	b, ok := benchmarks[args[0]]
	if !ok {
		benchUsage(e.stderr)
		return fmt.Errorf("bench: unknown target %q", args[0])
	}
	return b.run(ctx, e, args[1:])
}

func benchUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: kotodama bench <target> [flags]   (kotodama bench <target> -h)")
	fmt.Fprintln(w, "\ntargets:")
	names := make([]string, 0, len(benchmarks))
	for n := range benchmarks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, benchmarks[n].short)
	}
}
