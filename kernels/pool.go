package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool runs kernels on a fixed number of threads: the calling goroutine
// plus Threads()-1 persistent worker goroutines. Its methods are safe for
// concurrent use; a call that finds every worker busy (another call, or a
// Pool method called from inside a For body) runs its remaining work on
// the calling goroutine instead of waiting, so nested and concurrent use
// never deadlocks.
//
// The package-level Sgemm and SgemmStrided run on Default(). To choose the
// thread count without touching globals, make a Pool and call its methods:
//
//	one := kernels.NewPool(1) // everything on the calling goroutine
//	one.Sgemm(false, true, m, n, k, 1, q, k, x, k, 0, scores, n)
//
// A Pool of one thread starts no goroutines and is the way to run a GEMM
// inside your own parallel loop. Pools with more threads hold goroutines
// until Close (or until the Pool is garbage collected).
type Pool struct {
	threads int
	minWork int        // m·n·k below which a GEMM stays on one goroutine; 0 means parallelMinWork
	tasks   chan *task // unbuffered: a send succeeds only when a worker is idle
	stop    *stopper

	// Free lists, so that steady-state calls allocate nothing (a
	// sync.Pool would be emptied by every GC).
	freeTasks chan *task
	freeBufs  chan *gemmBuf
}

// stopper closes quit once, from Close or from the Pool's cleanup.
type stopper struct {
	once sync.Once
	quit chan struct{}
}

func (s *stopper) close() { s.once.Do(func() { close(s.quit) }) }

// NewPool returns a Pool of the given number of threads; threads <= 0
// means runtime.GOMAXPROCS(0) at the time of the call.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{
		threads:   threads,
		freeTasks: make(chan *task, 2*threads),
		freeBufs:  make(chan *gemmBuf, 2*threads),
	}
	if threads > 1 {
		p.tasks = make(chan *task)
		p.stop = &stopper{quit: make(chan struct{})}
		for range threads - 1 {
			go worker(p.tasks, p.stop.quit)
		}
		// Workers reference only the channels, so an unreachable Pool can
		// stop them.
		runtime.AddCleanup(p, (*stopper).close, p.stop)
	}
	return p
}

var defaultPool = sync.OnceValue(func() *Pool { return NewPool(0) })

// Default returns the Pool behind the package-level functions, sized by
// runtime.GOMAXPROCS when first used.
func Default() *Pool { return defaultPool() }

// Threads returns the number of threads p runs on, the caller included.
func (p *Pool) Threads() int { return p.threads }

// Close stops p's worker goroutines. A closed Pool still works, on the
// calling goroutine only. Close of the Default pool does nothing.
func (p *Pool) Close() {
	if p == defaultPool() {
		return
	}
	if p.stop != nil {
		p.stop.close()
	}
}

// For calls body(lo, hi) over consecutive ranges that cover [0, n), in
// parallel on p's threads, and returns when all calls are done. Each range
// holds at least grain items (except possibly the last), so pass the
// smallest batch worth a goroutine hand-off, e.g. the number of rows that
// take a few microseconds. A panic in body is re-raised in the caller.
//
// Elementwise kernels parallelize over rows this way:
//
//	pool.For(rows, 16, func(lo, hi int) {
//		kernels.GELU(out[lo*cols:hi*cols], x[lo*cols:hi*cols])
//	})
func (p *Pool) For(n, grain int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	chunks := min((n+grain-1)/grain, 4*p.threads)
	if chunks <= 1 || p.threads == 1 {
		body(0, n)
		return
	}
	size := (n + chunks - 1) / chunks
	chunks = (n + size - 1) / size
	t := p.newTask()
	t.forBody = forBody{fn: body, size: size, n: n}
	t.body = &t.forBody
	p.run(t, chunks)
}

// task is one call's work: body.item(i) for i in [0, n), claimed by
// whoever runs work first. It carries storage for the bodies the package
// runs itself, so that a call allocates nothing once the Pool has a free
// task.
type task struct {
	n     int64
	next  atomic.Int64
	body  interface{ item(i int) }
	wg    sync.WaitGroup
	panic atomic.Pointer[panicked]

	forBody     forBody
	gemmBody    gemmGrid
	stridedBody stridedBatch
}

type panicked struct{ v any }

// forBody is For's body: item i covers [i*size, min(n, (i+1)*size)).
type forBody struct {
	fn      func(lo, hi int)
	size, n int
}

func (f *forBody) item(i int) { f.fn(i*f.size, min(f.n, (i+1)*f.size)) }

func (t *task) work() {
	defer func() {
		if v := recover(); v != nil {
			t.panic.CompareAndSwap(nil, &panicked{v})
			t.next.Store(t.n) // stop handing out items
		}
	}()
	for {
		i := t.next.Add(1) - 1
		if i >= t.n {
			return
		}
		t.body.item(int(i))
	}
}

func worker(tasks <-chan *task, quit <-chan struct{}) {
	for {
		select {
		case t := <-tasks:
			t.work()
			t.wg.Done()
		case <-quit:
			return
		}
	}
}

// newTask returns a cleared task from p's free list or a new one.
func (p *Pool) newTask() *task {
	select {
	case t := <-p.freeTasks:
		return t
	default:
		return new(task)
	}
}

// run performs t's n items, handing t to idle workers and working on it
// itself; it returns when all items are done and recycles t.
func (p *Pool) run(t *task, n int) {
	t.n = int64(n)
	t.next.Store(0)
	for range min(p.threads-1, n-1) {
		t.wg.Add(1)
		select {
		case p.tasks <- t:
			continue
		default:
			t.wg.Done()
		}
		break // every worker is busy: do the rest ourselves
	}
	t.work()
	t.wg.Wait()
	pv := t.panic.Load()
	*t = task{} // drop references to the caller's data
	select {
	case p.freeTasks <- t:
	default:
	}
	if pv != nil {
		panic(pv.v)
	}
}
