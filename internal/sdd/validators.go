package sdd

import (
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The value checks of the built-in identifiers. Each takes a value with
// surrounding blanks already removed and decides from its shape and, where
// the kind of data has one, its check digits; none allocates on the common
// path, because scoring calls them for every sampled value.

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isEmail checks the common shape of an address: a local part of letters,
// digits and ._%+- without leading, trailing or doubled dots; one @; a
// domain of at least two labels of letters, digits and hyphens (not at
// either end) and a top-level label of two or more letters.
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 1 || at > 64 || len(s)-at-1 < 4 || len(s) > 254 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !isLetter(c) && !isDigit(c) && !strings.ContainsRune("._%+-'", rune(c)) {
			return false
		}
	}
	labels, start := 0, 0
	for i := 0; i <= len(domain); i++ {
		if i < len(domain) && domain[i] != '.' {
			c := domain[i]
			if !isLetter(c) && !isDigit(c) && c != '-' {
				return false
			}
			continue
		}
		label := domain[start:i]
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	if labels < 2 || len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !isLetter(tld[i]) {
			return false
		}
	}
	return true
}

// ssnParts returns the area, group and serial of a US SSN written
// 123-45-6789, 123 45 6789 or 123456789, and whether it is written grouped.
func ssnParts(s string) (area, group, serial string, grouped, ok bool) {
	switch len(s) {
	case 9:
		if allDigits(s) {
			return s[:3], s[3:5], s[5:], false, true
		}
	case 11:
		sep := s[3]
		if (sep == '-' || sep == ' ') && s[6] == sep && allDigits(s[:3]) && allDigits(s[4:6]) && allDigits(s[7:]) {
			return s[:3], s[4:6], s[7:], true, true
		}
	}
	return "", "", "", false, false
}

// validSSN applies the issuing rules: the area is not 000, 666 or 900-999,
// the group not 00, the serial not 0000, and the number is not one of the
// well-known advertising samples.
func validSSN(area, group, serial string) bool {
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return false
	}
	switch area + group + serial {
	case "078051120", "219099999", "123456789":
		return false
	}
	return true
}

// isSSN reports a grouped SSN (strong evidence) or, when bare is allowed, a
// nine-digit one (weak: any nine-digit number may look like it).
func isSSN(s string, bare bool) bool {
	area, group, serial, grouped, ok := ssnParts(s)
	return ok && (grouped || bare) && validSSN(area, group, serial)
}

// cardDigits strips the single spaces or dashes that group a card number
// and returns its digits, or false when s is not so written.
func cardDigits(s string, buf []byte) ([]byte, bool) {
	buf = buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			buf = append(buf, c)
		case (c == ' ' || c == '-') && i > 0 && i < len(s)-1 && isDigit(s[i-1]) && isDigit(s[i+1]):
		default:
			return nil, false
		}
	}
	return buf, true
}

// luhn reports whether digits pass the Luhn checksum.
func luhn(digits []byte) bool {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// cardNetwork reports whether the digits start like a number of a major
// card network, with a length that network issues.
func cardNetwork(d []byte) bool {
	n := len(d)
	prefix := func(k int) int {
		v := 0
		for i := 0; i < k && i < n; i++ {
			v = v*10 + int(d[i]-'0')
		}
		return v
	}
	p2, p3, p4, p6 := prefix(2), prefix(3), prefix(4), prefix(6)
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p2 == 65, p3 >= 644 && p3 <= 649, p6 >= 622126 && p6 <= 622925: // Discover
		return n >= 16 && n <= 19
	case p2 == 36, p2 == 38, p3 >= 300 && p3 <= 305: // Diners Club
		return n >= 14 && n <= 19
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16 && n <= 19
	case p2 == 62: // UnionPay
		return n >= 16 && n <= 19
	}
	return false
}

// isCreditCard reports a card number of a known network that passes Luhn,
// written plain or grouped with spaces or dashes.
func isCreditCard(s string) bool {
	if len(s) < 13 || len(s) > 23 {
		return false
	}
	var buf [24]byte
	d, ok := cardDigits(s, buf[:])
	if !ok || len(d) < 13 || len(d) > 19 || !cardNetwork(d) {
		return false
	}
	same := true
	for _, c := range d[1:] {
		same = same && c == d[0]
	}
	return !same && luhn(d)
}

// phone classifies a phone number. strong means the notation itself says
// phone: a leading +, parentheses or separators in the North American
// pattern. weak means ten bare digits (or eleven starting with 1) that fit
// the North American plan, which any ten-digit number may.
func phone(s string) (strong, weak bool) {
	if len(s) < 10 || len(s) > 24 {
		return false, false
	}
	var buf [24]byte
	d := buf[:0]
	plus, parens, seps := false, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			d = append(d, c)
		case c == '+' && i == 0:
			plus = true
		case c == '(' || c == ')':
			parens++
		case c == ' ' || c == '-' || c == '.':
			if i > 0 && (s[i-1] == ' ' || s[i-1] == '-' || s[i-1] == '.') {
				return false, false
			}
			seps++
		default:
			return false, false
		}
	}
	if parens != 0 && parens != 2 {
		return false, false
	}
	nanp := nanpDigits(d)
	switch {
	case plus && d[0] != '0' && len(d) >= 8 && len(d) <= 15:
		// E.164: +1 numbers must fit the North American plan.
		return d[0] != '1' || nanp, false
	case plus:
		return false, false
	case !nanp:
		return false, false
	case parens == 2 || seps > 0:
		return nanpLayout(s), false
	}
	return false, true
}

// nanpDigits reports whether d is a North American number: ten digits (or
// eleven starting with 1) whose area code and exchange start with 2-9.
func nanpDigits(d []byte) bool {
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	return len(d) == 10 && d[0] >= '2' && d[3] >= '2'
}

// nanpLayout checks that separators split a North American number as
// [1-](NNN) NNN-NNNN, so that dotted quads or digit runs cut elsewhere
// are not taken for phone numbers.
func nanpLayout(s string) bool {
	groups := make([]int, 0, 4)
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
			continue
		}
		if n > 0 {
			groups = append(groups, n)
			n = 0
		}
	}
	if n > 0 {
		groups = append(groups, n)
	}
	if len(groups) > 0 && groups[0] == 1 { // the country code 1
		groups = groups[1:]
	}
	switch len(groups) {
	case 1:
		return groups[0] == 10
	case 2:
		return groups[0] == 3 && groups[1] == 7 || groups[0] == 6 && groups[1] == 4
	case 3:
		return groups[0] == 3 && groups[1] == 3 && groups[2] == 4
	}
	return false
}

// isIPAddress reports an IPv4 address in dotted-decimal form or an IPv6
// address, optionally with a prefix length as inet columns render networks.
func isIPAddress(s string) bool {
	if len(s) < 7 || len(s) > 49 {
		return false
	}
	if strings.IndexByte(s, '/') >= 0 {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// ibanLengths is the length of the IBAN of each country that issues them.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// isIBAN reports an IBAN, electronic or printed in groups of four, of a
// country's length, that passes the mod-97 check.
func isIBAN(s string) bool {
	if len(s) < 15 || len(s) > 42 {
		return false
	}
	var buf [34]byte
	b := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if i == 0 || s[i-1] == ' ' {
				return false
			}
			continue
		}
		if len(b) == len(buf) || !isDigit(c) && !isLetter(c) {
			return false
		}
		if isLetter(c) {
			c &^= 0x20 // upper case
		}
		b = append(b, c)
	}
	if len(b) < 15 || !isLetter(b[0]) || !isLetter(b[1]) || !isDigit(b[2]) || !isDigit(b[3]) {
		return false
	}
	if want, ok := ibanLengths[string(b[:2])]; !ok || want != len(b) {
		return false
	}
	// Move the country and check digits to the end and reduce mod 97,
	// reading letters as 10..35.
	m := 0
	for i := range b {
		c := b[(i+4)%len(b)]
		if isDigit(c) {
			m = (m*10 + int(c-'0')) % 97
		} else {
			m = (m*100 + int(c-'A'+10)) % 97
		}
	}
	return m == 1
}

// zip classifies a US ZIP code: ZIP+4 (12345-6789) is strong, five bare
// digits weak (any five-digit number may look like one).
func zip(s string) (strong, weak bool) {
	switch {
	case len(s) == 10 && s[5] == '-' && allDigits(s[:5]) && allDigits(s[6:]):
		return s[:3] != "000", false
	case len(s) == 5 && allDigits(s):
		return false, s[:3] != "000"
	}
	return false, false
}

// Date notations recognised: PostgreSQL's ISO output for date and
// timestamp columns, RFC 3339, and US month/day/year.
var (
	isoDate       = []string{"2006-01-02"}
	isoTimestamps = []string{
		"2006-01-02 15:04:05",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04:05Z07",
		"2006-01-02 15:04:05.999999999Z07",
		"2006-01-02 15:04:05Z07:00",
		"2006-01-02 15:04:05.999999999Z07:00",
		time.RFC3339Nano,
	}
	usDates = []string{"1/2/2006"}
)

// isDate reports a calendar date (or timestamp) in one of the notations
// above, in the years 1800-2199. The shape is checked before any parsing.
func isDate(s string) bool {
	var layouts []string
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		layouts = isoDate
	case len(s) > 18 && len(s) <= 40 && s[4] == '-' && s[7] == '-' && (s[10] == ' ' || s[10] == 'T'):
		layouts = isoTimestamps
	case len(s) >= 8 && len(s) <= 10 && strings.Count(s, "/") == 2:
		layouts = usDates
	default:
		return false
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Year() >= 1800 && t.Year() < 2200
		}
	}
	return false
}

// isPersonName reports a value shaped like a person's name: letters (any
// script), spaces, hyphens, apostrophes and periods, at most 80 bytes, with
// at least one letter and no digits.
func isPersonName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	letters := 0
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && isLetter(byte(r)), r >= utf8.RuneSelf && unicode.IsLetter(r):
			letters++
		case r == ' ' || r == '-' || r == '\'' || r == '.' || r == '’' || unicode.IsMark(r):
		default:
			return false
		}
	}
	return letters > 0
}

// streetSuffixes are the usual street designators of US addresses.
var streetSuffixes = map[string]bool{
	"st": true, "street": true, "ave": true, "av": true, "avenue": true, "rd": true, "road": true,
	"blvd": true, "boulevard": true, "ln": true, "lane": true, "dr": true, "drive": true, "way": true,
	"ct": true, "court": true, "pl": true, "place": true, "ter": true, "terrace": true, "cir": true,
	"circle": true, "pkwy": true, "parkway": true, "hwy": true, "highway": true, "sq": true, "square": true,
	"trl": true, "trail": true,
}

// isStreetAddress reports a US street line: a house number, one or more
// words, and a street designator (St, Ave, Road, ...), optionally followed
// by a unit (Apt 4, Suite 200, #12).
func isStreetAddress(s string) bool {
	if len(s) < 6 || len(s) > 120 || !isDigit(s[0]) {
		return false
	}
	words := strings.Fields(s)
	if len(words) < 3 || !allDigits(strings.TrimRight(words[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")) || len(words[0]) > 8 {
		return false
	}
	for i := 2; i < len(words); i++ {
		w := strings.ToLower(strings.TrimRight(words[i], ".,"))
		if streetSuffixes[w] {
			return true
		}
	}
	return false
}
