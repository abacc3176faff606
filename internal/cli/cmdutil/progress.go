package cmdutil

import (
	"fmt"
	"sync"
	"time"
)

// Progress reports on a long wait on a terminal's stderr and says nothing
// when stderr is not a terminal, so that piped output stays clean.
type Progress struct {
	io      IO
	mu      sync.Mutex
	message string
	stop    chan struct{}
	done    chan struct{}
}

// StartProgress shows message with a turning wheel until Stop.
func (s IO) StartProgress(message string) *Progress {
	p := &Progress{io: s, message: message}
	if !s.ErrTTY {
		return p
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.spin()
	return p
}

// Update replaces the message, e.g. with a count.
func (p *Progress) Update(format string, args ...any) {
	p.mu.Lock()
	p.message = fmt.Sprintf(format, args...)
	p.mu.Unlock()
}

// Stop clears the line.
func (p *Progress) Stop() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.stop = nil
}

func (p *Progress) spin() {
	defer close(p.done)
	frames := []string{"|", "/", "-", "\\"}
	t := time.NewTicker(120 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	for i := 0; ; i++ {
		p.mu.Lock()
		msg := p.message
		p.mu.Unlock()
		fmt.Fprintf(p.io.ErrOut, "\r\033[K%s %s (%s)", frames[i%len(frames)], msg, time.Since(start).Truncate(time.Second))
		select {
		case <-p.stop:
			fmt.Fprint(p.io.ErrOut, "\r\033[K")
			return
		case <-t.C:
		}
	}
}
