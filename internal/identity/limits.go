package identity

import (
	"context"
	"fmt"
	"math"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// LoginLimits bound what guessing passwords costs the server and gains an
// attacker. The budgets live in the store, so servers sharing a PostgreSQL
// store share them; the hashing bound is per server, as memory is.
type LoginLimits struct {
	// AccountFailures is how many password logins an account may fail in a
	// row before it must wait; one attempt comes back every Window divided
	// by it, and a successful login restores them all. 0 means no limit.
	AccountFailures int
	// AddressFailures is the same budget per source address (an IPv6
	// client's /64), across every account it tries.
	AddressFailures int
	// Window is how long a spent budget takes to come back whole.
	Window time.Duration
	// HashConcurrency bounds the argon2id computations running at once on
	// this server (each holds argonMemory KiB); others wait their turn.
	HashConcurrency int
}

// DefaultLoginLimits are the limits of a server that sets none.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{AccountFailures: 10, AddressFailures: 50, Window: 15 * time.Minute,
		HashConcurrency: runtime.GOMAXPROCS(0)}
}

// Failures of one subject are recorded one by one up to auditBurst a
// minute; beyond that they are counted, and the count is written with the
// subject's next record or, when none comes, by FlushFailures.
const (
	auditMinute = time.Minute
	auditBurst  = 5
)

// hasher runs password hashes, at most n at once.
type hasher struct {
	sem      *semaphore.Weighted
	inFlight atomic.Int64
	peak     atomic.Int64
}

func newHasher(n int) *hasher {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return &hasher{sem: semaphore.NewWeighted(int64(n))}
}

// run calls fn once a slot is free; it gives up when ctx ends first.
func (h *hasher) run(ctx context.Context, fn func()) error {
	if err := h.sem.Acquire(ctx, 1); err != nil {
		return err
	}
	defer h.sem.Release(1)
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	fn()
	return nil
}

// hashPassword hashes a new password within the server's hashing bound.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	var h string
	err := s.hasher.run(ctx, func() { h = hashPassword(password) })
	return h, err
}

// checkPassword checks a password within the server's hashing bound; a nil
// hash is checked against a dummy one, so that unknown users and users
// without a password take as long as the others.
func (s *Service) checkPassword(ctx context.Context, hash *string, password string) (bool, error) {
	h := dummyHash
	if hash != nil {
		h = *hash
	}
	var ok bool
	err := s.hasher.run(ctx, func() { ok = checkPassword(h, password) })
	return ok && hash != nil, err
}

// PasswordHashes reports the password hashes running now and the most that
// ever ran at once on this server.
func (s *Service) PasswordHashes() (inFlight, peak int64) {
	return s.hasher.inFlight.Load(), s.hasher.peak.Load()
}

// accountSubject names an account of an identity manager, existing or not:
// guessing at names that do not exist costs the same as at those that do.
func accountSubject(iamid, userid string) string { return "account:" + iamid + "/" + userid }

// addressSubject names the source address of the request in ctx, or ""
// when there is none. IPv6 clients are grouped by /64, the block one
// subscriber usually holds.
func addressSubject(ctx context.Context) string {
	req := audit.RequestFrom(ctx)
	if req == nil || req.RemoteAddr == "" {
		return ""
	}
	ip := net.ParseIP(req.RemoteAddr)
	if ip == nil {
		return "address:" + req.RemoteAddr
	}
	if ip.To4() == nil {
		return "address:" + (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
	}
	return "address:" + ip.String()
}

// budget is a generic cell rate algorithm: limit attempts at once, one
// more every window/limit. f.TAT is its theoretical arrival time.
type budget struct {
	limit  int
	window time.Duration
}

func (b budget) interval() time.Duration { return b.window / time.Duration(b.limit) }

// wait is how long f's subject must wait before its next attempt; zero
// when it may try now.
func (b budget) wait(f *store.AuthFailures, now time.Time) time.Duration {
	if b.limit <= 0 || f.TAT == nil {
		return 0
	}
	if w := f.TAT.Sub(now) - (b.window - b.interval()); w > 0 {
		return w
	}
	return 0
}

// spend takes one attempt from f's budget.
func (b budget) spend(f *store.AuthFailures, now time.Time) {
	if b.limit <= 0 {
		return
	}
	tat := now
	if f.TAT != nil && f.TAT.After(now) {
		tat = *f.TAT
	}
	tat = tat.Add(b.interval())
	f.TAT = &tat
}

// refund gives one attempt back.
func (b budget) refund(f *store.AuthFailures, now time.Time) {
	if b.limit <= 0 || f.TAT == nil {
		return
	}
	tat := f.TAT.Add(-b.interval())
	if !tat.After(now) {
		f.TAT = nil
		return
	}
	f.TAT = &tat
}

// note counts one failure of f's subject and says whether it gets a record
// of its own; if so, carried is how many failures before it were counted
// without one, since when.
func note(f *store.AuthFailures, now time.Time) (record bool, carried int64, since *time.Time) {
	if f.WindowStart == nil || now.Sub(*f.WindowStart) >= auditMinute {
		f.WindowStart, f.Recorded = &now, 0
	}
	if f.Recorded >= auditBurst {
		f.Pending++
		if f.PendingSince == nil {
			f.PendingSince = &now
		}
		return false, 0, nil
	}
	f.Recorded++
	carried, since = f.Pending, f.PendingSince
	f.Pending, f.PendingSince = 0, nil
	return true, carried, since
}

// recordFailure notes a failed authentication of f's subject, writing ev
// through q when the subject is within its audit burst.
func recordFailure(ctx context.Context, q *store.Queries, f *store.AuthFailures, now time.Time, ev audit.Event) error {
	record, carried, since := note(f, now)
	if !record {
		return nil
	}
	if carried > 0 {
		ev.Details = map[string]any{"unrecordedBefore": carried, "unrecordedSince": since.Format(time.RFC3339Nano)}
	}
	return audit.Write(ctx, q, ev)
}

// tooMany is the answer to a login refused for want of budget.
func tooMany(subject string, wait time.Duration) error {
	secs := int64(math.Ceil(wait.Seconds()))
	who := "this account"
	if strings.HasPrefix(subject, "address:") {
		who = "your address"
	}
	return errs.TooManyf(wait, "too many failed logins for %s; try again in %d seconds", who, secs)
}

// limit is one budget an attempt draws on.
type limit struct {
	subject string
	budget  budget
}

// admitLogin takes one attempt from the budgets of the account and the
// source address, or refuses with 429 when either is spent. The attempt is
// taken before the password is checked, so that concurrent guesses cannot
// all pass a check made before any of them failed.
func (s *Service) admitLogin(ctx context.Context, account, address string, actor *auth.Principal) error {
	// Subjects are locked in sorted order: "account:" < "address:".
	var limits []limit
	if s.cfg.Limits.AccountFailures > 0 {
		limits = append(limits, limit{account, budget{s.cfg.Limits.AccountFailures, s.cfg.Limits.Window}})
	}
	if address != "" && s.cfg.Limits.AddressFailures > 0 {
		limits = append(limits, limit{address, budget{s.cfg.Limits.AddressFailures, s.cfg.Limits.Window}})
	}
	if len(limits) == 0 {
		return nil
	}
	var refusal error
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		refusal = nil
		now := store.Now()
		rows := make([]*store.AuthFailures, len(limits))
		var refused *store.AuthFailures
		var wait time.Duration
		for i, l := range limits {
			f, err := tx.LockAuthFailures(ctx, l.subject)
			if err != nil {
				return err
			}
			rows[i] = f
			if w := l.budget.wait(f, now); w > 0 {
				if refused == nil {
					refused = f
				}
				wait = max(wait, w)
			}
		}
		if refused != nil {
			// The refusal is a failure of the subject that refused.
			refusal = tooMany(refused.Subject, wait)
			ev := audit.Event{Type: "authenticate", Action: "password", FailureReason: refusal.Error(), Actor: actor}
			if err := recordFailure(ctx, &tx.Queries, refused, now, ev); err != nil {
				return err
			}
			return tx.SaveAuthFailures(ctx, refused)
		}
		for i, l := range limits {
			l.budget.spend(rows[i], now)
			if err := tx.SaveAuthFailures(ctx, rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return refusal
}

// loginSucceeded restores the account's budget and gives the address back
// the attempt it took.
func (s *Service) loginSucceeded(ctx context.Context, tx *store.Tx, account, address string, now time.Time) error {
	if s.cfg.Limits.AccountFailures > 0 {
		f, err := tx.LockAuthFailures(ctx, account)
		if err != nil {
			return err
		}
		f.TAT = nil
		if err := tx.SaveAuthFailures(ctx, f); err != nil {
			return err
		}
	}
	if address == "" || s.cfg.Limits.AddressFailures <= 0 {
		return nil
	}
	f, err := tx.LockAuthFailures(ctx, address)
	if err != nil {
		return err
	}
	budget{s.cfg.Limits.AddressFailures, s.cfg.Limits.Window}.refund(f, now)
	return tx.SaveAuthFailures(ctx, f)
}

// authFailure records a failed authentication under subject in its own
// transaction (there is no change to roll back with it) and returns reason.
// The subject's failures beyond its audit burst are counted, not recorded
// one by one.
func (s *Service) authFailure(ctx context.Context, subject, action string, actor *auth.Principal, reason error) error {
	if actor == nil {
		actor = &auth.Principal{}
	}
	if subject == "" {
		_ = audit.Write(ctx, &s.db.Queries, audit.Event{Type: "authenticate", Action: action, FailureReason: reason.Error(), Actor: actor})
		return reason
	}
	_ = s.db.InTx(ctx, func(tx *store.Tx) error {
		f, err := tx.LockAuthFailures(ctx, subject)
		if err != nil {
			return err
		}
		ev := audit.Event{Type: "authenticate", Action: action, FailureReason: reason.Error(), Actor: actor}
		if err := recordFailure(ctx, &tx.Queries, f, store.Now(), ev); err != nil {
			return err
		}
		return tx.SaveAuthFailures(ctx, f)
	})
	return reason
}

// RequestFailed records a request refused for its credentials (a key or
// token that is missing, wrong, expired or revoked) and returns reason.
// Failures are counted per source address, like those of API key exchanges.
func (s *Service) RequestFailed(ctx context.Context, reason error) error {
	return s.authFailure(ctx, addressSubject(ctx), "request", nil, reason)
}

// FlushFailures writes one audit record per subject whose failures were
// counted without a record and whose audit minute ended before now, and
// deletes the records that hold nothing any more. The server runs it every
// minute; it returns how many failures it wrote.
func (s *Service) FlushFailures(ctx context.Context, now time.Time) (int64, error) {
	var flushed int64
	for {
		var batch int
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			rows, err := tx.PendingAuthFailures(ctx, now.Add(-auditMinute), 100)
			if err != nil {
				return err
			}
			batch = len(rows)
			for _, f := range rows {
				if err := s.writeSummary(ctx, tx, f, now); err != nil {
					return err
				}
				flushed += f.Pending
				f.Pending, f.PendingSince = 0, nil
				if err := tx.SaveAuthFailures(ctx, f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return flushed, err
		}
		if batch < 100 {
			break
		}
	}
	_, err := s.db.PruneAuthFailures(ctx, now, now.Add(-auditMinute))
	return flushed, err
}

// writeSummary records the failures of f counted without records.
func (s *Service) writeSummary(ctx context.Context, tx *store.Tx, f *store.AuthFailures, now time.Time) error {
	actor := &auth.Principal{}
	if rest, ok := strings.CutPrefix(f.Subject, "account:"); ok {
		iamid, userid, _ := strings.Cut(rest, "/")
		actor.IAMID, actor.Username = iamid, userid
		if u, err := tx.GetUserByName(ctx, iamid, userid); err == nil {
			actor.UserID = u.ID
		}
	} else if addr, ok := strings.CutPrefix(f.Subject, "address:"); ok {
		ctx = audit.WithRequest(ctx, &audit.Request{RemoteAddr: addr})
	}
	since := now
	if f.PendingSince != nil {
		since = *f.PendingSince
	}
	return audit.Write(ctx, &tx.Queries, audit.Event{Type: "authenticate", Action: "failures", Actor: actor,
		FailureReason: fmt.Sprintf("%d more failed authentications of %s since %s, counted without a record each",
			f.Pending, f.Subject, since.Format(time.RFC3339)),
		Details: map[string]any{"subject": f.Subject, "failures": f.Pending, "since": since.Format(time.RFC3339Nano),
			"until": now.Format(time.RFC3339Nano)}})
}

// Run flushes counted failures into the audit trail every minute until ctx
// ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(auditMinute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.FlushFailures(ctx, store.Now()); err != nil && ctx.Err() == nil && s.log != nil {
				s.log.Warn("flush failed authentications into the audit trail", "error", err)
			}
		}
	}
}
