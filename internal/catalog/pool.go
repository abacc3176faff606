package catalog

import (
	"context"
	"sync"
	"time"

	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/store"
)

// sources keeps open connections to live databases between jobs, so that
// discovery over a thousand data sources of one database connects once. An
// entry is reused while the connection's settings are unchanged and closed
// when idle.
type sources struct {
	mu      sync.Mutex
	entries map[int64]*pooled
}

type pooled struct {
	src     connector.Source
	version string // the stored settings it was opened with
	users   int
	stale   bool // settings changed: close when the last user leaves
	idle    time.Time
}

// maxIdle is how long an unused connection stays open.
const maxIdle = time.Minute

// acquire returns an open source for a stored connection and the function
// that releases it.
func (s *Service) acquire(ctx context.Context, c *store.Connection) (connector.Source, func(), error) {
	version := string(c.Config) + "\x00" + deref(c.Secret)
	p := &s.pool
	p.mu.Lock()
	if e := p.entries[c.ID]; e != nil && e.version == version && !e.stale {
		e.users++
		p.mu.Unlock()
		return e.src, func() { p.release(c.ID, e) }, nil
	}
	p.mu.Unlock()
	cc, err := s.connectionOf(c)
	if err != nil {
		return nil, nil, err
	}
	src, err := s.open(ctx, cc, s.cfg.Connect)
	if err != nil {
		return nil, nil, err
	}
	e := &pooled{src: src, version: version, users: 1}
	p.mu.Lock()
	if old := p.entries[c.ID]; old != nil {
		old.stale = true
		if old.users == 0 {
			old.src.Close()
		}
	}
	if p.entries == nil {
		p.entries = map[int64]*pooled{}
	}
	p.entries[c.ID] = e
	p.mu.Unlock()
	return src, func() { p.release(c.ID, e) }, nil
}

func (p *sources) release(id int64, e *pooled) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.users--
	e.idle = time.Now()
	if e.users == 0 && e.stale {
		e.src.Close()
	}
}

// closeIdle closes connections unused for longer than maxIdle, or all
// unused ones when all is set.
func (p *sources) closeIdle(all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range p.entries {
		if e.users == 0 && (all || time.Since(e.idle) > maxIdle) {
			if !e.stale {
				e.src.Close()
			}
			delete(p.entries, id)
		}
	}
}
