package postgres

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/policy"
)

// maskPolicy is a V2 masking policy on one tag, with the Exempt group excepted.
func maskPolicy(key, tag, config string) string {
	return fmt.Sprintf(`
name: "%s"
policyKey: "%s"
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: %s}]
      maskingConfig: %s
    exceptions: {groups: [Exempt]}
`, key, key, tag, config)
}

// column reads id and one column (as text) of a view or table, by id.
func (e *env) column(role, rel, id, col string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, r := range e.mustRows(role, fmt.Sprintf(`SELECT %s::text, %s::text FROM %s`, id, col, rel)) {
		out[r[0]] = r[1]
	}
	return out
}

func fpm(key []byte, v string) string {
	runes := []rune(v)
	var ks []byte
	for b := 0; b <= (len(runes)-1)/32; b++ {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(b))
		h := sha256.Sum256(append(append(append([]byte{}, key...), n[:]...), v...))
		ks = append(ks, h[:]...)
	}
	var out strings.Builder
	for i, r := range runes {
		switch {
		case r >= '0' && r <= '9':
			out.WriteRune(rune('0' + int(ks[i])%10))
		case r >= 'a' && r <= 'z':
			out.WriteRune(rune('a' + int(ks[i])%26))
		case r >= 'A' && r <= 'Z':
			out.WriteRune(rune('A' + int(ks[i])%26))
		default:
			out.WriteRune(r)
		}
	}
	return out.String()
}

func TestEveryMaskingType(t *testing.T) {
	e := newEnv(t)
	exempt := e.user("exempt", policy.User{Groups: []string{"Exempt"}})
	masked := e.user("masked", policy.User{Groups: []string{"Other"}})
	e.source(1, "shop", "customers", map[string][]string{
		"ssn": {"M.Hash"}, "email": {"M.Null"}, "street_address": {"M.Constant"}, "credit_card": {"M.Regex"},
		"birth_date": {"M.Month"}, "loyalty_points": {"M.Bucket"}, "phone": {"M.FPM"}, "iban": {"M.Reversible"},
		"country": {"M.Random"}, "city": {"M.KAnon"}, "gender": {"M.KAnon"}})
	e.source(2, "shop", "orders", map[string][]string{"quantity": {"M.Noise"}, "unit_price": {"M.Round"}})
	for _, p := range []string{
		maskPolicy("hash", "M.Hash", "{type: Hash}"),
		maskPolicy("null", "M.Null", `{type: "Null"}`),
		maskPolicy("constant", "M.Constant", "{type: Constant, constant: REDACTED}"),
		maskPolicy("regex", "M.Regex", `{type: Regular Expression, regex: '^.*(\d{4})$', replacement: 'XXXX-$1'}`),
		maskPolicy("month", "M.Month", "{type: Grouping, timePrecision: MONTH}"),
		maskPolicy("bucket", "M.Bucket", "{type: Grouping, bucketSize: 100}"),
		maskPolicy("fpm", "M.FPM", "{type: Format Preserving Masking}"),
		maskPolicy("reversible", "M.Reversible", "{type: Reversible}"),
		maskPolicy("random", "M.Random", "{type: Randomized Response, replacementRatePercent: 30}"),
		maskPolicy("kanon", "M.KAnon", "{type: K-Anonymization, kLevel: 3}"),
		maskPolicy("noise", "M.Noise", "{type: Randomized Response, stddev: 2, clip: true}"),
		maskPolicy("round", "M.Round", "{type: Grouping}"),
	} {
		e.policy(p)
	}
	e.grant(1, []string{exempt, masked}, nil)
	e.grant(2, []string{exempt, masked}, nil)
	e.sync()

	secret := func(name string) []byte {
		b, err := hex.DecodeString(strings.TrimPrefix(e.one("postgres", `SELECT value::text FROM custos.secrets WHERE name = $1`, name), `\x`))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	salt, fpmKey := secret("hash_salt"), secret("fpm_key")
	cardRE := regexp.MustCompile(`^.*(\d{4})$`)
	hashOf := func(v string) string {
		h := sha256.Sum256(append(append([]byte{}, salt...), v...))
		return hex.EncodeToString(h[:])
	}

	type check func(raw, got string) bool
	same := func(raw, got string) bool { return raw == got }
	cases := []struct {
		rel, col string
		want     check
	}{
		{"customers", "ssn", func(raw, got string) bool { return raw == "NULL" && got == "NULL" || got == hashOf(raw) }},
		{"customers", "email", func(raw, got string) bool { return got == "NULL" }},
		{"customers", "street_address", func(raw, got string) bool { return got == "REDACTED" }},
		{"customers", "credit_card", func(raw, got string) bool {
			return raw == "NULL" && got == "NULL" || got == cardRE.ReplaceAllString(raw, "XXXX-$1")
		}},
		{"customers", "birth_date", func(raw, got string) bool { return raw == "NULL" && got == "NULL" || got == raw[:8]+"01" }},
		{"customers", "loyalty_points", func(raw, got string) bool {
			n, _ := strconv.Atoi(raw)
			return got == strconv.Itoa(n/100*100)
		}},
		{"customers", "phone", func(raw, got string) bool { return raw == "NULL" && got == "NULL" || got == fpm(fpmKey, raw) }},
		{"customers", "iban", func(raw, got string) bool {
			return raw == "NULL" && got == "NULL" || strings.HasPrefix(got, "rev:") &&
				e.one("postgres", `SELECT custos.unmask_reversible($1)`, got) == raw
		}},
		{"orders", "unit_price", func(raw, got string) bool {
			f, _ := strconv.ParseFloat(raw, 64)
			g, _ := strconv.ParseFloat(got, 64)
			if f == 0 {
				return g == 0
			}
			mag := math.Pow(10, math.Floor(math.Log10(math.Abs(f))))
			return math.Abs(g-math.Round(f/mag)*mag) < 1e-9
		}},
	}
	ids := map[string]string{"customers": "customer_id", "orders": "order_id"}
	for _, c := range cases {
		raw := e.column("postgres", "shop."+c.rel, ids[c.rel], c.col)
		for _, who := range []struct {
			role string
			want check
		}{{exempt, same}, {masked, c.want}} {
			got := e.column(who.role, "shop_governed."+c.rel, ids[c.rel], c.col)
			if len(got) != len(raw) {
				t.Fatalf("%s.%s as %s: %d rows, want %d", c.rel, c.col, who.role, len(got), len(raw))
			}
			bad := 0
			for id, r := range raw {
				if !who.want(r, got[id]) {
					if bad < 3 {
						t.Errorf("%s.%s as %s, row %s: raw %q shown as %q", c.rel, c.col, who.role, id, r, got[id])
					}
					bad++
				}
			}
		}
	}

	// Randomized Response: about 30% of rows show another value of the
	// domain, the same on every query.
	raw := e.column("postgres", "shop.customers", "customer_id", "country")
	got := e.column(masked, "shop_governed.customers", "customer_id", "country")
	again := e.column(masked, "shop_governed.customers", "customer_id", "country")
	domain := map[string]bool{}
	for _, v := range raw {
		domain[v] = true
	}
	changed := 0
	for id, v := range got {
		if !domain[v] {
			t.Errorf("randomized country %q of %s is not a value of the column", v, id)
		}
		if v != raw[id] {
			changed++
		}
		if again[id] != v {
			t.Errorf("randomized country of %s changed between queries", id)
		}
	}
	// Replaced rows draw from the domain, which includes the true value.
	if share := float64(changed) / float64(len(got)); share < 0.12 || share > 0.35 {
		t.Errorf("%.0f%% of countries differ, want about 26%% (30%% replaced, by one of 7 values)", share*100)
	}
	for id, v := range e.column(exempt, "shop_governed.customers", "customer_id", "country") {
		if v != raw[id] {
			t.Fatalf("the exempt user sees randomized countries")
		}
	}

	// Noise: integers within the column's range, not all equal to the truth.
	rawQ := e.column("postgres", "shop.orders", "order_id", "quantity")
	gotQ := e.column(masked, "shop_governed.orders", "order_id", "quantity")
	lo, hi := math.MaxInt, math.MinInt
	for _, v := range rawQ {
		n, _ := strconv.Atoi(v)
		lo, hi = min(lo, n), max(hi, n)
	}
	diff := 0
	for id, v := range gotQ {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			t.Errorf("noisy quantity %q of %s is not an integer in [%d, %d]", v, id, lo, hi)
		}
		if v != rawQ[id] {
			diff++
		}
	}
	if diff < len(gotQ)/3 {
		t.Errorf("only %d of %d quantities got noise", diff, len(gotQ))
	}

	// K-anonymity: a (city, gender) pair shared by fewer than 3 customers
	// is suppressed.
	pairs := e.mustRows("postgres", `SELECT customer_id::text, coalesce(city, '∅'), coalesce(gender, '∅') FROM shop.customers`)
	count := map[string]int{}
	for _, p := range pairs {
		count[p[1]+"|"+p[2]]++
	}
	view := map[string][]string{}
	for _, r := range e.mustRows(masked, `SELECT customer_id::text, coalesce(city, 'NULL'), coalesce(gender, 'NULL') FROM shop_governed.customers`) {
		view[r[0]] = r[1:]
	}
	suppressed := 0
	for _, p := range pairs {
		v := view[p[0]]
		if count[p[1]+"|"+p[2]] < 3 {
			suppressed++
			if v[0] != "NULL" || v[1] != "NULL" {
				t.Errorf("customer %s: rare pair %s/%s shown as %v", p[0], p[1], p[2], v)
			}
		} else if (p[1] != "∅" && v[0] != p[1]) || (p[2] != "∅" && v[1] != p[2]) {
			t.Errorf("customer %s: common pair %s/%s shown as %v", p[0], p[1], p[2], v)
		}
	}
	if suppressed == 0 {
		t.Error("no pair was rare enough to suppress: the test proves nothing")
	}
}

// A value a mask cannot compute with (NaN, the infinities, an integer at the
// edge of its type) must not make the view fail for everybody.
func TestMasksBearOddValues(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	e.mustRows("postgres", `CREATE TABLE shop.m (id int, f float8, r real, n numeric, s smallint, i int4, b bigint)`)
	e.mustRows("postgres", `INSERT INTO shop.m VALUES
		(1, 'NaN', 'NaN', 'NaN', 32767, 2147483647, 9223372036854775807),
		(2, 'Infinity', '-Infinity', 'Infinity', -32768, -2147483648, -9223372036854775808),
		(3, 0, 0, 0, 0, 0, 0)`)
	all := map[string][]string{}
	for _, c := range []string{"f", "r", "n", "s", "i", "b"} {
		all[c] = []string{"Odd"}
	}
	e.source(1, "shop", "m", all)
	e.grant(1, []string{u}, nil)
	for _, mask := range []string{"{type: Grouping}", "{type: Grouping, bucketSize: 1000}",
		"{type: Randomized Response, stddev: 100000}", "{type: Randomized Response, stddev: 10, clip: true}"} {
		id := e.policy(maskPolicy("odd", "Odd", mask))
		e.sync()
		if rows, err := e.rows(u, `SELECT * FROM shop_governed.m`); err != nil || len(rows) != 3 {
			t.Errorf("%s: %v %v", mask, rows, err)
		}
		e.ix.RemovePolicy(id)
	}
}
