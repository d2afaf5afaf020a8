// Package progress draws a one-line progress bar on a terminal (stderr, as
// a rule) for long CLI work: done/total, rate, ETA and a caller's status.
// When the writer is not a terminal it prints a plain line at most every
// few seconds, so logs stay readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar reports progress of a job of Total units. Its methods are safe for
// concurrent use. The zero Bar is not usable; call New.
type Bar struct {
	mu     sync.Mutex
	w      io.Writer
	label  string
	unit   string
	total  int64
	done   int64
	status string
	start  time.Time
	last   time.Time
	tty    bool
	every  time.Duration
	closed bool
}

// New starts a bar labelled label counting total units named unit (total
// ≤ 0 when unknown). A nil w discards everything.
func New(w io.Writer, label string, total int64, unit string) *Bar {
	if w == nil {
		w = io.Discard
	}
	b := &Bar{w: w, label: label, unit: unit, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	b.every = 5 * time.Second
	if b.tty {
		b.every = 100 * time.Millisecond
	} else {
		// A log gets its first line after one interval, so a short job
		// writes only its final line.
		b.last = b.start
	}
	return b
}

// Add advances the bar by n units.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.maybeDraw()
}

// SetStatus sets a short text shown after the counts (a loss, say).
func (b *Bar) SetStatus(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status = fmt.Sprintf(format, args...)
	b.maybeDraw()
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.w == io.Discard {
		b.closed = true
		return
	}
	b.closed = true
	b.draw()
	fmt.Fprintln(b.w)
}

func (b *Bar) maybeDraw() {
	if b.closed || b.w == io.Discard {
		return
	}
	now := time.Now()
	if now.Sub(b.last) < b.every {
		return
	}
	b.last = now
	b.draw()
	if !b.tty {
		fmt.Fprintln(b.w)
	}
}

func (b *Bar) draw() {
	el := time.Since(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.done) / el
	}
	var sb strings.Builder
	if b.tty {
		sb.WriteString("\r\033[K")
	}
	sb.WriteString(b.label)
	if b.total > 0 {
		frac := min(float64(b.done)/float64(b.total), 1)
		const width = 24
		fill := int(frac * width)
		fmt.Fprintf(&sb, " [%s%s] %d/%d %s %3.0f%%", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), b.done, b.total, b.unit, 100*frac)
		if rate > 0 && b.done < b.total {
			eta := time.Duration(float64(b.total-b.done) / rate * float64(time.Second))
			fmt.Fprintf(&sb, " ETA %s", eta.Round(time.Second))
		}
	} else {
		fmt.Fprintf(&sb, " %d %s", b.done, b.unit)
	}
	fmt.Fprintf(&sb, " %.1f %s/s", rate, b.unit)
	if b.status != "" {
		sb.WriteString(" ")
		sb.WriteString(b.status)
	}
	io.WriteString(b.w, sb.String())
}
