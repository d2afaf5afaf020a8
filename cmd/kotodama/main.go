// Command kotodama turns text into embedding vectors and searches them, and
// trains and evaluates the models that do it. Each verb documents itself:
//
//	kotodama <verb> -h
//
// Verbs write results to stdout (JSON or JSONL for machines) and progress to
// stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one verb of the CLI. Each verb lives in its own file and adds
// itself to commands in an init function.
type command struct {
	name  string
	short string // one line for the verb list
	run   func(ctx context.Context, env *env, args []string) error
}

// env is what a verb reads from and writes to, so tests can run verbs
// without touching the process's own streams.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("kotodama: verb registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	if err := run(ctx, e, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "kotodama:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return errors.New("no verb given")
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(e.stderr)
		return fmt.Errorf("unknown verb %q", args[0])
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: kotodama <verb> [flags]   (kotodama <verb> -h for a verb's flags)")
	fmt.Fprintln(w, "\nverbs:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].short)
	}
}

// newFlags returns a FlagSet for a verb that reports errors instead of
// exiting and prints its usage to e.stderr.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: kotodama %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
