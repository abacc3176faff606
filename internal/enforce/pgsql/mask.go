package pgsql

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/policy"
)

// DefaultKLevel is the k of a K-Anonymization rule that names neither kLevel
// nor reIdProbability.
const DefaultKLevel = 5

// maskedColumn renders a column's mask chain: for each user and row the
// first rule that applies decides, as in policy.Evaluate.
func (r *renderer) maskedColumn(c Column, cp *policy.ColumnPlan) (string, error) {
	out := c.Kind
	for _, m := range cp.Masks {
		if !preserves(m.Masking, c.Kind) {
			out = KindText
		}
	}
	raw := r.col(c.Name)
	rawOut := raw
	if out == KindText && !preservesAll(cp) {
		// Masks give text: the column is text for everyone (char(n) and
		// varchar(n) included, so the view's type does not depend on
		// PostgreSQL's type resolution).
		rawOut = raw + "::pg_catalog.text"
	}
	var whens []string
	final := ""
	for _, m := range cp.Masks {
		if _, never := m.AppliesTo.(policy.False); never {
			continue
		}
		if m.Closed != "" {
			r.close(m.Source, c.Name, m.Closed)
		}
		v, err := r.maskValue(c, out, m)
		if why := r.broken[brokenKey(m.Source, c.Name)]; why != "" {
			v, err = "NULL", nil
			r.close(m.Source, c.Name, why)
		}
		var mf misfit
		switch {
		case errors.As(err, &mf):
			// What PostgreSQL can show of it is NULL.
			v = "NULL"
			r.close(m.Source, c.Name, string(mf))
		case err != nil:
			// Closed rather than dropped: NULL for the users it applies to.
			v = "NULL"
			r.close(m.Source, c.Name, fmt.Sprintf("%s cannot be rendered: %v", m.Masking.Type, err))
		}
		var when string
		if m.Rows != nil && exprReadsSets(m.Rows) {
			// The condition bound to each set: the rows masked are those
			// either masks.
			var limited, own string
			if limited, err = r.maskWhen(m, r.userCond); err == nil {
				err = r.withOwn(func() (err error) { own, err = r.maskWhen(m, r.userCond); return err })
			}
			when = "(" + limited + ") OR (" + r.ownLimited(false) + " AND (" + own + "))"
		} else {
			when, err = r.maskWhen(m, r.appliesCond)
		}
		if err != nil {
			// The condition cannot be rendered: NULL on every row for the
			// users the rule applies to (for everybody, if not even that).
			r.close(m.Source, c.Name, fmt.Sprintf("the condition of the %s mask cannot be rendered: %v", m.Masking.Type, err))
			v = "NULL"
			if when, err = r.maskWhen(&policy.MaskRule{AppliesTo: m.AppliesTo}, r.appliesCond); err != nil {
				when = ""
			}
		}
		if when == "" {
			final = v
			break
		}
		whens = append(whens, "WHEN "+when+" THEN "+v)
	}
	if len(whens) == 0 {
		if final == "" {
			return rawOut, nil
		}
		if final == "NULL" {
			return r.typedNull(c, out), nil
		}
		return final, nil
	}
	if final == "" {
		final = rawOut
	}
	return "CASE " + strings.Join(whens, " ") + " ELSE " + final + " END", nil
}

// maskWhen renders when mask rule m masks a row: the user is one it applies
// to (who cond renders) and the row meets its condition; "" for always.
func (r *renderer) maskWhen(m *policy.MaskRule, cond func(policy.Cond) (string, error)) (string, error) {
	var conds []string
	if _, all := m.AppliesTo.(policy.True); !all && m.AppliesTo != nil {
		u, err := cond(m.AppliesTo)
		if err != nil {
			return "", err
		}
		conds = append(conds, u+" IS NOT FALSE")
	}
	if m.Rows != nil {
		p, err := r.predicate(m.Rows)
		if err != nil {
			return "", fmt.Errorf("masking condition: %w", err)
		}
		conds = append(conds, p)
	}
	return strings.Join(conds, " AND "), nil
}

// preservesAll reports whether every mask of the column keeps plain text
// text: only then is the raw value left uncast.
func preservesAll(cp *policy.ColumnPlan) bool {
	for _, m := range cp.Masks {
		switch m.Masking.Type {
		case policy.MaskNull, policy.MaskKAnonymization:
		default:
			return false
		}
	}
	return true
}

func (r *renderer) typedNull(c Column, out Kind) string {
	if t, ok := kindSQL[out]; ok {
		return "NULL::" + t
	}
	return "(CASE WHEN false THEN " + r.col(c.Name) + " END)"
}

// preserves reports whether a mask's values keep the column's type; when
// one mask of a column does not, the view shows the column as text.
func preserves(m *policy.Masking, k Kind) bool {
	switch m.Type {
	case policy.MaskNull, policy.MaskKAnonymization, policy.MaskGrouping:
		return true
	case policy.MaskConstant:
		_, ok := constantOf(m.Constant, k)
		return ok
	case policy.MaskRandomized:
		if m.Stddev != nil {
			return true
		}
		_, ok := kindSQL[k]
		return ok
	}
	return k == KindText
}

// misfit is a masking function that cannot apply to a column's type: it is
// shown as NULL, and reported as closed.
type misfit string

func (m misfit) Error() string { return string(m) }

// constantOf renders a constant in the column's type when it is a valid
// value of it.
func constantOf(s string, k Kind) (string, bool) {
	l, err := Literal(s)
	if err != nil {
		return "", false
	}
	ok := false
	switch {
	case k == KindText:
		return l, true
	case k.integer():
		_, err := strconv.ParseInt(s, 10, 64)
		ok = err == nil
	case k.numeric():
		f, err := strconv.ParseFloat(s, 64)
		ok = err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case k == KindDate:
		_, err := time.Parse("2006-01-02", s)
		ok = err == nil
	case k == KindTimestamp || k == KindTimestampTZ:
		_, err := time.Parse(time.RFC3339, s)
		if err != nil {
			_, err = time.Parse("2006-01-02 15:04:05", s)
		}
		ok = err == nil
	case k == KindBool:
		ok = s == "true" || s == "false"
	}
	if !ok {
		return "", false
	}
	return l + "::" + kindSQL[k], true
}

// maskValue renders the masked value of column c, in kind out.
func (r *renderer) maskValue(c Column, out Kind, rule *policy.MaskRule) (string, error) {
	m := rule.Masking
	raw := r.col(c.Name)
	text := r.colText(c)
	switch m.Type {
	case policy.MaskHash:
		return r.sys.obj("mask_hash") + "(" + text + ", " + r.secret(SecretHashSalt) + ")", nil
	case policy.MaskNull:
		return "NULL", nil
	case policy.MaskConstant:
		if v, ok := constantOf(m.Constant, c.Kind); ok && out == c.Kind {
			return v, nil
		}
		return Literal(m.Constant)
	case policy.MaskRegex:
		// PostgreSQL compiles the pattern when a query first runs it: the
		// integration checks it before creating the view.
		if probe, err := regexMask("''::pg_catalog.text", m); err == nil {
			r.probes = append(r.probes, Probe{Source: rule.Source, Column: c.Name, SQL: probe})
		}
		return regexMask(text, m)
	case policy.MaskFormatPreserving:
		return r.sys.obj("mask_fpm") + "(" + text + ", " + r.secret(SecretFPMKey) + ")", nil
	case policy.MaskReversible:
		return r.sys.obj("mask_reversible") + "(" + text + ", " + r.secret(SecretReversibleKey) + ")", nil
	case policy.MaskGrouping:
		return r.grouping(c, raw, m)
	case policy.MaskRandomized:
		return r.randomized(c, out, m)
	case policy.MaskKAnonymization:
		w := r.winOf[ruleKey(rule.Source)]
		if w == "" {
			return "", fmt.Errorf("no window planned for the rule")
		}
		v := raw
		if out == KindText && c.Kind != KindText {
			v = text
		}
		return fmt.Sprintf("CASE WHEN pg_catalog.count(*) OVER %s < %d THEN NULL ELSE %s END", w, kLevel(m), v), nil
	}
	return "", fmt.Errorf("unknown masking type %q", m.Type)
}

// kLevel is the k of a K-Anonymization: kLevel, or the smallest k whose
// re-identification probability 1/k is at most reIdProbability percent.
func kLevel(m *policy.Masking) int {
	switch {
	case m.KLevel != nil && *m.KLevel >= 2:
		return *m.KLevel
	case m.ReIDProbability != nil && *m.ReIDProbability > 0:
		k := int(math.Ceil(100 / *m.ReIDProbability - 1e-9))
		if k < 2 {
			k = 2
		}
		return k
	}
	return DefaultKLevel
}

// ruleKey identifies the rule a mask comes from: the columns one
// K-Anonymization rule masks are anonymized together.
func ruleKey(ref *policy.RuleRef) string {
	if ref == nil {
		return ""
	}
	return fmt.Sprintf("%d/%t/%d/%d", ref.Policy.ID, ref.Policy.Local, ref.Action, ref.Rule)
}

// planWindows names one window per K-Anonymization rule, partitioned by the
// columns (quasi-identifiers) that rule masks.
func (r *renderer) planWindows(plan *policy.Plan) {
	r.winOf = map[string]string{}
	byKey := map[string][]string{}
	var keys []string
	masked := map[string]*policy.ColumnPlan{}
	for _, cp := range plan.Columns {
		masked[cp.Column] = cp
	}
	for _, c := range r.src.Columns {
		cp := masked[c.Name]
		if cp == nil {
			continue
		}
		for _, m := range cp.Masks {
			if m.Masking.Type != policy.MaskKAnonymization {
				continue
			}
			k := ruleKey(m.Source)
			if _, seen := byKey[k]; !seen {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], c.Name)
		}
	}
	for i, k := range keys {
		name := fmt.Sprintf("custos_k%d", i+1)
		r.winOf[k] = name
		r.windows = append(r.windows, window{name: name, cols: byKey[k]})
	}
}

var timeFields = map[string]string{"MIN": "minute", "MINUTE": "minute", "HOUR": "hour", "DAY": "day", "WEEK": "week",
	"MONTH": "month", "YEAR": "year"}

func formatNumber(f float64) (string, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("not a finite number")
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if strings.HasPrefix(s, "-") {
		return "(" + s + ")", nil
	}
	return s, nil
}

// grouping generalizes a value: dates truncated to a precision, numbers to
// the lower bound of their bucket. Without either parameter numbers keep one
// significant digit, dates their year and text its first character.
func (r *renderer) grouping(c Column, raw string, m *policy.Masking) (string, error) {
	castBack := func(e string) string {
		if c.Kind == KindNumeric {
			return e
		}
		return "(" + e + ")::" + kindSQL[c.Kind]
	}
	switch {
	case m.TimePrecision != "":
		f, ok := timeFields[strings.ToUpper(m.TimePrecision)]
		if !ok {
			return "", fmt.Errorf("unknown time precision %q", m.TimePrecision)
		}
		if !c.Kind.temporal() {
			return "", misfit(fmt.Sprintf("column %q is %s: Grouping by %s cannot apply, so it is shown as NULL", c.Name, c.Kind, m.TimePrecision))
		}
		e := "pg_catalog.date_trunc(" + mustLiteral(f) + ", " + raw + ")"
		if c.Kind == KindDate {
			e += "::pg_catalog.date"
		}
		return e, nil
	case m.BucketSize != nil:
		if !c.Kind.numeric() {
			return "", misfit(fmt.Sprintf("column %q is %s: Grouping by buckets cannot apply, so it is shown as NULL", c.Name, c.Kind))
		}
		b, err := formatNumber(*m.BucketSize)
		if err != nil || *m.BucketSize <= 0 {
			return "", fmt.Errorf("bucket size must be a positive number")
		}
		// The lower bound of the lowest bucket may lie below what the
		// column's type holds: it is then the type's minimum.
		return castBack(clampInt(c.Kind, "pg_catalog.floor("+raw+"::pg_catalog.numeric / "+b+") * "+b)), nil
	}
	switch {
	case c.Kind.numeric():
		n := raw + "::pg_catalog.numeric"
		// Zero, NaN and the infinities have no significant digit to keep
		// (the logarithm would fail the whole query): they are shown as such.
		keep := raw + " = 0"
		if !c.Kind.integer() {
			keep += " OR " + n + " IN ('NaN', 'Infinity', '-Infinity')"
		}
		return "CASE WHEN " + keep + " THEN " + raw + " ELSE " + castBack("pg_catalog.round("+n+
			", (- pg_catalog.floor(pg_catalog.log(pg_catalog.abs("+n+"))))::pg_catalog.int4)") + " END", nil
	case c.Kind.temporal():
		e := "pg_catalog.date_trunc('year', " + raw + ")"
		if c.Kind == KindDate {
			e += "::pg_catalog.date"
		}
		return e, nil
	case c.Kind == KindText:
		return "pg_catalog.left(" + raw + ", 1)", nil
	}
	return "", misfit(fmt.Sprintf("column %q is %s: Grouping cannot apply, so it is shown as NULL", c.Name, c.Kind))
}

// intRange is the range of each integer kind.
var intRange = map[Kind][2]string{
	KindInt2: {"-32768", "32767"},
	KindInt4: {"-2147483648", "2147483647"},
	KindInt8: {"-9223372036854775808", "9223372036854775807"},
}

// clampInt keeps a numeric expression within the range of an integer kind,
// so that casting it back cannot fail the query; other kinds pass.
func clampInt(k Kind, e string) string {
	r, ok := intRange[k]
	if !ok {
		return e
	}
	return "LEAST(GREATEST(" + e + ", " + r[0] + "), " + r[1] + ")"
}

// domain reads a column's value domain (Randomized Response) once per query.
func (r *renderer) domain(c Column, field string) string {
	found := false
	for _, d := range r.domains {
		found = found || d == c.Name
	}
	if !found {
		r.domains = append(r.domains, c.Name)
	}
	return fmt.Sprintf("(SELECT d.%s FROM %s AS d WHERE d.data_source_id = %d AND d.column_name = %s)",
		field, r.sys.obj("domains"), r.src.DataSourceID, mustLiteral(c.Name))
}

// coin renders a number in [0, 1) fixed for a row and a purpose: a keyed
// hash of the row's ctid when it has one, else random().
func (r *renderer) coin(c Column, purpose string) string {
	if !r.src.HasCTID {
		return "pg_catalog.random()"
	}
	tag := mustLiteral(":" + c.Name + ":" + purpose)
	return r.sys.obj("unit_random") + "(" + r.secret(SecretRandomSeed) + ", " + r.col("ctid") + "::pg_catalog.text || " + tag + ")"
}

// randomized renders Randomized Response: with stddev, numbers get Gaussian
// noise (clipped to the column's range when clip is set); with
// replacementRatePercent, that share of rows show a value drawn from the
// column's domain instead of their own.
func (r *renderer) randomized(c Column, out Kind, m *policy.Masking) (string, error) {
	if m.Stddev != nil {
		if !c.Kind.numeric() {
			return "", misfit(fmt.Sprintf("column %q is %s: Randomized Response with stddev needs numbers, so it is shown as NULL", c.Name, c.Kind))
		}
		sd, err := formatNumber(*m.Stddev)
		if err != nil {
			return "", err
		}
		v := "(" + r.col(c.Name) + "::pg_catalog.float8 + " + sd + " * pg_catalog.sqrt(-2 * pg_catalog.ln(1 - " + r.coin(c, "1") +
			")) * pg_catalog.cos(2 * pg_catalog.pi() * " + r.coin(c, "2") + "))"
		if m.Clip != nil && *m.Clip {
			v = "LEAST(GREATEST(" + v + ", " + r.domain(c, "lo") + "), " + r.domain(c, "hi") + ")"
		}
		switch {
		case c.Kind.integer():
			// Noise may carry a value past what the type holds.
			return "(" + clampInt(c.Kind, "pg_catalog.round("+v+")::pg_catalog.numeric") + ")::" + kindSQL[c.Kind], nil
		case c.Kind == KindFloat8:
			return v, nil
		}
		return v + "::" + kindSQL[c.Kind], nil
	}
	if m.ReplacementRatePercent == nil {
		return "", fmt.Errorf("needs replacementRatePercent or stddev")
	}
	p, err := formatNumber(*m.ReplacementRatePercent / 100)
	if err != nil {
		return "", err
	}
	vals := r.domain(c, "vals")
	pick := "(" + vals + ")[1 + pg_catalog.floor(" + r.coin(c, "v") + " * pg_catalog.cardinality(" + vals + "))::pg_catalog.int4]"
	e := "CASE WHEN " + r.coin(c, "r") + " < " + p + " THEN " + pick + " ELSE " + r.colText(c) + " END"
	if out == c.Kind && c.Kind != KindText {
		e = "(" + e + ")::" + kindSQL[c.Kind]
	}
	return e, nil
}

// regexMask renders a Regular Expression mask. Patterns are RE2 (validated
// when the policy is saved); the few escapes whose meaning differs in
// PostgreSQL's regular expressions are translated, and $n references in the
// replacement become \n.
func regexMask(text string, m *policy.Masking) (string, error) {
	pat, err := Literal(translateRegex(m.Regex))
	if err != nil {
		return "", err
	}
	repl, err := translateReplacement(m.Replacement)
	if err != nil {
		return "", err
	}
	rl, err := Literal(repl)
	if err != nil {
		return "", err
	}
	flags := ""
	if m.Global {
		flags += "g"
	}
	if m.CaseInsensitive {
		flags += "i"
	}
	return "pg_catalog.regexp_replace(" + text + ", " + pat + ", " + rl + ", " + mustLiteral(flags) + ")", nil
}

// translateRegex maps RE2 escapes to PostgreSQL's: \b word boundary is \y,
// \B is \Y, \z end of text is \Z; everything else is kept.
func translateRegex(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			switch p[i+1] {
			case 'b':
				b.WriteString(`\y`)
			case 'B':
				b.WriteString(`\Y`)
			case 'z':
				b.WriteString(`\Z`)
			default:
				b.WriteByte('\\')
				b.WriteByte(p[i+1])
			}
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// translateReplacement turns a Go/RE2 replacement ($1, ${1}, $$) into
// regexp_replace's (\1, a literal $), escaping literal backslashes.
func translateReplacement(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '$' && i+1 < len(s) && s[i+1] == '$':
			b.WriteByte('$')
			i++
		case c == '$' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteByte('\\')
			b.WriteByte(s[i+1])
			i++
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			num := ""
			if end > 0 {
				num = s[i+2 : i+end]
			}
			if n, err := strconv.Atoi(num); err != nil || n < 0 || n > 9 {
				return "", fmt.Errorf("replacement reference %q: PostgreSQL supports only numbered groups 0 to 9", s[i:])
			}
			b.WriteByte('\\')
			b.WriteString(num)
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
