// Package queryaudit reads the queries run against governed objects from a
// PostgreSQL server's log, as pgaudit writes them: it parses the log line
// prefix (log_line_prefix) to learn who ran each statement, and pgaudit's CSV
// payload to learn what they ran on which object. It is pure: reading the
// log and recording audit records is the caller's.
//
// Records span several lines when a statement does (the server starts each
// continuation line with a tab). Scan consumes only complete records, so a
// caller that stores the returned position with what it made of the records,
// in one transaction, ingests every record exactly once.
package queryaudit

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Prefix parses lines by a server's log_line_prefix.
type Prefix struct {
	re       *regexp.Regexp
	database string
}

// escapes maps log_line_prefix escapes to what they match. User and database
// are matched lazily: what follows them in the prefix decides where they end.
var escapes = map[byte]string{
	'a': `(?P<app>.*?)`,
	'u': `(?P<user>.*?)`,
	'd': `(?P<db>.*?)`,
	'r': `(?P<remote>\S*?)`,
	'h': `(?P<host>\S*?)`,
	'b': `(?P<backend>.*?)`,
	'p': `(?P<pid>\d+)`,
	'P': `\d*`,
	't': `(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+)`,
	'm': `(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+)`,
	'n': `(?P<epoch>\d+\.\d+)`,
	'i': `.*?`,
	'e': `[0-9A-Z]{5}`,
	'c': `(?P<session>[0-9a-f]+\.[0-9a-f]+)`,
	'l': `\d+`,
	's': `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+`,
	'v': `\S*`,
	'x': `\d+`,
	'Q': `-?\d+`,
}

// ParsePrefix compiles a log_line_prefix. database, when set, keeps only the
// lines of that database (and resolves a user name holding the separator
// that follows it, such as an @). The prefix must name the user (%u).
func ParsePrefix(format, database string) (*Prefix, error) {
	var b strings.Builder
	b.WriteString(`^`)
	seen := map[byte]bool{}
	optional := false
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteString(regexp.QuoteMeta(string(c)))
			continue
		}
		i++
		// padding, as in %-10u
		for i < len(format) && (format[i] == '-' || format[i] >= '0' && format[i] <= '9') {
			i++
		}
		if i == len(format) {
			break
		}
		e := format[i]
		switch {
		case e == '%':
			b.WriteString(`%`)
		case e == 'q':
			// What follows only appears for session processes.
			b.WriteString(`(?:`)
			optional = true
		case escapes[e] != "":
			pat := escapes[e]
			if seen[e] {
				// Go regexps do not allow a group name twice.
				pat = regexp.MustCompile(`\(\?P<[a-z]+>`).ReplaceAllString(pat, `(?:`)
			}
			if e == 'd' && database != "" {
				pat = `(?P<db>` + regexp.QuoteMeta(database) + `)`
				if seen[e] {
					pat = regexp.QuoteMeta(database)
				}
			}
			seen[e] = true
			b.WriteString(pat)
		default:
			// An escape the server ignores prints nothing.
		}
	}
	if optional {
		b.WriteString(`)?`)
	}
	b.WriteString(`(?P<level>[A-Z]+):  (?P<msg>.*)$`)
	if !seen['u'] {
		return nil, fmt.Errorf("log_line_prefix %q does not name the user (%%u)", format)
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("log_line_prefix %q: %w", format, err)
	}
	if !seen['d'] {
		database = "" // lines do not say their database: every line counts
	}
	return &Prefix{re: re, database: database}, nil
}

// Line is the prefix of one log line, parsed.
type Line struct {
	User     string
	Database string
	PID      string
	Session  string
	Time     time.Time
	Level    string
	Message  string
}

// Parse reads one line (without its newline). ok is false for lines that do
// not start a record: continuation lines and other databases' lines.
func (p *Prefix) Parse(line string) (l Line, ok bool) {
	m := p.re.FindStringSubmatch(line)
	if m == nil {
		return l, false
	}
	for i, name := range p.re.SubexpNames() {
		switch name {
		case "user":
			l.User = m[i]
		case "db":
			l.Database = m[i]
		case "pid":
			l.PID = m[i]
		case "session":
			l.Session = m[i]
		case "time":
			l.Time = parseTime(m[i])
		case "epoch":
			if f, err := strconv.ParseFloat(m[i], 64); err == nil {
				l.Time = time.Unix(0, int64(f*1e9)).UTC()
			}
		case "level":
			l.Level = m[i]
		case "msg":
			l.Message = m[i]
		}
	}
	return l, true
}

func parseTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02 15:04:05.000 MST", "2006-01-02 15:04:05 MST"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// Entry is one pgaudit record: who ran what on which object.
type Entry struct {
	Time           time.Time // zero when the prefix has no time
	User           string    // the role that ran the statement
	Database       string
	Process        string // pid or session id, to tell sessions apart
	AuditType      string // SESSION or OBJECT
	StatementID    int64
	SubstatementID int64
	Class          string // READ, WRITE, ...
	Command        string // SELECT, INSERT, ...
	ObjectType     string // TABLE, VIEW, ...
	Object         string // schema.name, each part quoted as quote_ident quotes it
	Statement      string
}

const auditTag = "AUDIT: "

// Scan parses the complete records at the start of data and returns the
// pgaudit entries among them and the number of bytes they span. Lines of
// other databases, of processes without a session (parallel workers repeat
// their leader's records) and of other messages are consumed and skipped.
func Scan(p *Prefix, data []byte) (entries []Entry, consumed int) {
	type record struct {
		line  Line
		text  strings.Builder
		start int
	}
	var cur *record
	pos := 0
	// finish turns a record into an entry; it reports false when the
	// record's CSV is not complete yet.
	finish := func(r *record, next bool) bool {
		if r == nil || r.line.Level != "LOG" || !strings.HasPrefix(r.line.Message, auditTag) {
			return true
		}
		e, complete := parseAudit(strings.TrimPrefix(r.text.String(), auditTag))
		if !complete {
			return next // a record followed by another is as complete as it gets
		}
		if r.line.User == "" || p.database != "" && r.line.Database != p.database {
			return true
		}
		e.Time, e.User, e.Database = r.line.Time, r.line.User, r.line.Database
		e.Process = r.line.PID
		if r.line.Session != "" {
			e.Process = r.line.Session
		}
		entries = append(entries, e)
		return true
	}
	for pos < len(data) {
		nl := bytes.IndexByte(data[pos:], '\n')
		if nl < 0 {
			break // an incomplete line
		}
		line := string(data[pos : pos+nl])
		if strings.HasPrefix(line, "\t") && cur != nil {
			cur.text.WriteString("\n")
			cur.text.WriteString(line[1:])
			pos += nl + 1
			continue
		}
		if cur != nil {
			finish(cur, true)
			consumed = pos
			cur = nil
		}
		if l, ok := p.Parse(line); ok {
			cur = &record{line: l, start: pos}
			cur.text.WriteString(l.Message)
		} else {
			consumed = pos + nl + 1 // a line custos does not read
		}
		pos += nl + 1
	}
	if cur != nil && finish(cur, false) {
		consumed = pos
	} else if cur != nil {
		consumed = cur.start
	}
	return entries, consumed
}

// parseAudit reads pgaudit's CSV payload: audit type, statement id,
// substatement id, class, command, object type, object name, statement,
// parameter. complete is false when the CSV is cut short.
func parseAudit(payload string) (Entry, bool) {
	r := csv.NewReader(strings.NewReader(payload))
	r.FieldsPerRecord = -1
	r.LazyQuotes = false
	fields, err := r.Read()
	if err != nil || len(fields) < 8 {
		return Entry{}, false
	}
	e := Entry{AuditType: fields[0], Class: fields[3], Command: fields[4], ObjectType: fields[5], Object: fields[6], Statement: fields[7]}
	e.StatementID, _ = strconv.ParseInt(fields[1], 10, 64)
	e.SubstatementID, _ = strconv.ParseInt(fields[2], 10, 64)
	return e, true
}
