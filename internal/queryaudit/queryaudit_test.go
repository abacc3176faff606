package queryaudit

import (
	"strings"
	"testing"
	"time"
)

const debianPrefix = "%m [%p] %q%u@%d "

var sampleLog = `2026-11-22 12:04:06.587 UTC [21279] LOG:  AUDIT: OBJECT,1,1,READ,SELECT,TABLE,app.customers,"select count(*) from app_governed.r2 where name = $$a,""b$$",<not logged>
2026-11-22 12:04:06.590 UTC [21278] bob@shop LOG:  AUDIT: OBJECT,1,1,READ,SELECT,VIEW,app_governed.r2,"select count(*) from app_governed.r2 where name = $$a,""b$$",<not logged>
2026-11-22 12:04:06.600 UTC [21278] bob@shop LOG:  statement: SELECT 1
2026-11-22 12:04:06.641 UTC [21277] eve@other LOG:  AUDIT: OBJECT,2,1,READ,SELECT,TABLE,"""Weird"".""T, x""","select * from ""Weird"".""T, x""",<not logged>
2026-11-22 12:04:06.641 UTC [21277] alice@example.com@shop LOG:  AUDIT: OBJECT,3,1,READ,SELECT,VIEW,app_governed.r2,"select 1,
	2 from app_governed.r2 limit 1",<not logged>
`

func TestScanReadsWhoRanWhat(t *testing.T) {
	p, err := ParsePrefix(debianPrefix, "shop")
	if err != nil {
		t.Fatal(err)
	}
	entries, n := Scan(p, []byte(sampleLog))
	if n != len(sampleLog) {
		t.Errorf("consumed %d of %d bytes", n, len(sampleLog))
	}
	if len(entries) != 2 {
		t.Fatalf("entries: %+v", entries)
	}
	e := entries[0]
	if e.User != "bob" || e.Object != "app_governed.r2" || e.ObjectType != "VIEW" || e.Command != "SELECT" ||
		e.Statement != `select count(*) from app_governed.r2 where name = $$a,"b$$` || e.Process != "21278" ||
		!e.Time.Equal(time.Date(2026, 11, 22, 12, 4, 6, 590e6, time.UTC)) {
		t.Errorf("first entry: %+v", e)
	}
	if e := entries[1]; e.User != "alice@example.com" || e.Statement != "select 1,\n2 from app_governed.r2 limit 1" || e.StatementID != 3 {
		t.Errorf("second entry: %+v", e)
	}
}

func TestScanStopsBeforeAnIncompleteRecord(t *testing.T) {
	p, _ := ParsePrefix(debianPrefix, "shop")
	full := []byte(sampleLog)
	total := 0
	var got []Entry
	// Feed the log in small pieces, as a growing file would show it.
	buf := []byte{}
	for i := 0; i < len(full); i += 37 {
		end := min(i+37, len(full))
		buf = append(buf, full[i:end]...)
		e, n := Scan(p, buf)
		got = append(got, e...)
		buf = buf[n:]
		total += n
	}
	if total != len(full) || len(got) != 2 {
		t.Errorf("consumed %d of %d, %d entries: %+v", total, len(full), len(got), got)
	}
	// A multi-line statement cut in the middle waits for its end.
	cut := strings.Index(sampleLog, "\t2 from")
	e, n := Scan(p, []byte(sampleLog[:cut]))
	if len(e) != 1 || n >= cut {
		t.Errorf("cut record: %d entries, consumed %d of %d", len(e), n, cut)
	}
}

func TestPrefixes(t *testing.T) {
	cases := []struct {
		prefix, line, user, db string
		ok                     bool
	}{
		{"%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ", "2026-01-02 03:04:05 UTC [12]: [3-1] user=ann,db=shop,app=psql,client=10.0.0.1 LOG:  AUDIT: x", "ann", "shop", true},
		{"%m %u %d ", "2026-01-02 03:04:05.123 CET we'ird user shop LOG:  hi", "we'ird user", "shop", true},
		{"%m [%p] %q%u@%d ", "2026-01-02 03:04:05.123 UTC [7] LOG:  AUDIT: x", "", "", false}, // a worker: no session
		{"%-10u|%d|", "bob       |shop|LOG:  x", "bob       ", "shop", true},
		{"%m [%p] %q%u@%d ", "\tcontinued", "", "", false},
	}
	for _, c := range cases {
		p, err := ParsePrefix(c.prefix, "shop")
		if err != nil {
			t.Fatal(err)
		}
		l, ok := p.Parse(c.line)
		if ok && l.User == "" {
			ok = false
		}
		if ok != c.ok || ok && (l.User != c.user || l.Database != c.db) {
			t.Errorf("%q on %q: %+v %v", c.prefix, c.line, l, ok)
		}
	}
	if _, err := ParsePrefix("%m [%p] ", ""); err == nil {
		t.Error("a prefix without the user is accepted")
	}
}

func FuzzScan(f *testing.F) {
	f.Add(sampleLog, debianPrefix)
	f.Add("x\n\ty\n", "%u ")
	f.Add(`u LOG:  AUDIT: OBJECT,1,1,READ,SELECT,VIEW,"a""b","q`+"\n", "%u ")
	f.Fuzz(func(t *testing.T, log, prefix string) {
		p, err := ParsePrefix(prefix, "")
		if err != nil {
			return
		}
		e, n := Scan(p, []byte(log))
		if n < 0 || n > len(log) {
			t.Fatalf("consumed %d of %d", n, len(log))
		}
		if n > 0 && log[n-1] != '\n' {
			t.Fatalf("consumed up to the middle of a line: %d", n)
		}
		// Scanning what is left never yields more than the whole.
		rest, _ := Scan(p, []byte(log[n:]))
		all, _ := Scan(p, []byte(log))
		if len(e)+len(rest) < len(all) {
			t.Fatalf("entries lost: %d + %d < %d", len(e), len(rest), len(all))
		}
	})
}
