// Package sample creates a small, realistic database to register, classify
// and govern: tests, benchmarks and the demo load it into an empty
// PostgreSQL database with Load. Its rows are generated from a fixed seed,
// so every load holds exactly the same data.
//
// Structure (schema.sql):
//
//	shop.customers                 300 rows, most columns sensitive
//	shop.products                   40 rows, nothing sensitive
//	shop.orders                    600 rows, nothing sensitive but dates
//	shop.customer_contacts         view: customer_id, full_name, email, phone
//	"Marketing"."Loyalty Members"  150 rows, mixed-case quoted identifiers
//	"Marketing"."Gold Members"     view over "Loyalty Members"
//
// Sensitive columns, and what they hold:
//
//	shop.customers.first_name, last_name   person names
//	shop.customers.email                   e-mail addresses
//	shop.customers.ssn                     US SSNs, 123-45-6789 or 123456789 (NULL for non-US customers)
//	shop.customers.credit_card             card numbers passing the Luhn check, some grouped with spaces or dashes
//	shop.customers.phone                   phone numbers: US in several formats, +1/+33/+34/+44/+49/+52 abroad
//	shop.customers.street_address, city    postal address (US customers)
//	shop.customers.state                   two-letter US state codes (NULL abroad)
//	shop.customers.zip                     US ZIP codes, some ZIP+4 (NULL abroad)
//	shop.customers.country                 country names
//	shop.customers.birth_date              dates of birth (date)
//	shop.customers.gender                  Female, Male, Non-binary
//	shop.customers.last_login_ip           IPv4 addresses (inet)
//	shop.customers.last_login_ipv6         IPv6 addresses (inet)
//	shop.customers.iban                    IBANs passing the mod-97 check (DE, GB, FR, NL, ES)
//	shop.customers.created_at              a timestamp (a date, not personal)
//	shop.customer_contacts.full_name, email, phone
//	"Marketing"."Loyalty Members"."Full Name", "EMail Address", "Joined On" (a date)
//	"Marketing"."Gold Members"."Full Name", "EMail Address"
//
// Look-alikes that are not sensitive, there to catch false positives:
// shop.orders.order_id (ten-digit numbers, like bare phone numbers),
// shop.orders.tracking_number (sixteen digits that all fail the Luhn check),
// shop.products.price_cents (five-digit integers, like ZIP codes),
// shop.products.product_name (a "name" that is not a person's),
// shop.customers.customer_id and loyalty_points (small integers).
//
// The tags the default SDD framework gives every column are asserted by
// TestDiscoveryOnTheSampleDatabase in internal/sdd.
package sample

import (
	"context"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SchemaSQL creates the schemas, tables and views, without rows.
//
//go:embed schema.sql
var SchemaSQL string

// Schema names and row counts of the sample database.
const (
	Shop      = "shop"
	Marketing = "Marketing"

	Customers      = 300
	Products       = 40
	Orders         = 600
	LoyaltyMembers = 150
)

// Load creates the sample database's schemas and rows in the (empty)
// database dsn points to, in one transaction: it fails, changing nothing,
// if the schemas already exist.
func Load(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("sample: connect: %w", err)
	}
	defer conn.Close(ctx)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, SchemaSQL); err != nil {
			return fmt.Errorf("sample: create schema: %w", err)
		}
		d := generate()
		for _, t := range []struct {
			table   pgx.Identifier
			columns []string
			rows    [][]any
		}{
			{pgx.Identifier{Shop, "customers"}, customerColumns, d.customers},
			{pgx.Identifier{Shop, "products"}, productColumns, d.products},
			{pgx.Identifier{Shop, "orders"}, orderColumns, d.orders},
			{pgx.Identifier{Marketing, "Loyalty Members"}, memberColumns, d.members},
		} {
			if _, err := tx.CopyFrom(ctx, t.table, t.columns, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("sample: load %s: %w", t.table.Sanitize(), err)
			}
		}
		if _, err := tx.Exec(ctx, "ANALYZE shop.customers, shop.products, shop.orders, \"Marketing\".\"Loyalty Members\""); err != nil {
			return fmt.Errorf("sample: analyze: %w", err)
		}
		return nil
	})
}

var (
	customerColumns = []string{"customer_id", "first_name", "last_name", "email", "ssn", "credit_card", "phone",
		"street_address", "city", "state", "zip", "country", "birth_date", "gender", "last_login_ip",
		"last_login_ipv6", "iban", "loyalty_points", "created_at"}
	productColumns = []string{"product_id", "sku", "product_name", "category", "description", "price_cents", "weight_grams", "in_stock"}
	orderColumns   = []string{"order_id", "customer_id", "product_id", "quantity", "unit_price", "status", "tracking_number", "ordered_at"}
	memberColumns  = []string{"Member ID", "customerId", "Full Name", "EMail Address", "Tier", "Points Balance", "Joined On"}
)

type data struct {
	customers, products, orders, members [][]any
}

// generate builds every row from a fixed seed.
func generate() data {
	r := rand.New(rand.NewPCG(2024, 11))
	var d data
	type person struct{ first, last, email string }
	people := make([]person, Customers)
	epoch := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range Customers {
		id := int64(i + 1)
		first, last := pick(r, firstNames), pick(r, lastNames)
		email := fmt.Sprintf("%s.%s%d@%s", mailbox(first), mailbox(last), r.IntN(90)+10, pick(r, mailDomains))
		people[i] = person{first, last, email}
		abroad := r.IntN(100) < 15
		var ssn, state, zip, street, city any
		country := "United States"
		phone := usPhone(r)
		if abroad {
			c := foreign[r.IntN(len(foreign))]
			country = c.country
			phone = c.prefix + " " + digits(r, c.digits)
		} else {
			place := places[r.IntN(len(places))]
			ssn = usSSN(r)
			state = place.state
			zip = usZIP(r, place.zip3)
			street = fmt.Sprintf("%d %s %s", r.IntN(9800)+100, pick(r, streets), pick(r, streetSuffixes))
			city = place.city
		}
		birth := time.Date(1940+r.IntN(66), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		created := epoch.Add(time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour)))).Truncate(time.Second)
		var ipv6 any
		if r.IntN(100) < 70 {
			ipv6 = randomIPv6(r)
		}
		var gender any = pick(r, genders)
		if r.IntN(100) < 8 {
			gender = nil
		}
		d.customers = append(d.customers, []any{id, first, last, email, ssn, creditCard(r), phone,
			street, city, state, zip, country, birth, gender, randomIPv4(r), ipv6, iban(r),
			int32(r.IntN(5000)), created})
	}
	for i := range Products {
		name := fmt.Sprintf("%s %s", pick(r, productAdjectives), pick(r, productNouns))
		var weight any = int32(50 + r.IntN(4950))
		if r.IntN(10) == 0 {
			weight = nil
		}
		d.products = append(d.products, []any{int32(i + 1), fmt.Sprintf("SKU-%05d", 1000+i*37),
			name, pick(r, categories), name + ", for everyday use",
			int32(10000 + r.IntN(89999)), weight, r.IntN(5) != 0})
	}
	for i := range Orders {
		var tracking any
		status := pick(r, statuses)
		if status != "pending" {
			tracking = nonLuhn(r, 16)
		}
		d.orders = append(d.orders, []any{int64(2024100000 + i*7919), int64(1 + r.IntN(Customers)),
			int32(1 + r.IntN(Products)), int32(1 + r.IntN(4)), fmt.Sprintf("%d.%02d", 5+r.IntN(195), r.IntN(100)),
			status, tracking, epoch.Add(time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour)))).Truncate(time.Second)})
	}
	for i := range LoyaltyMembers {
		p := people[i*2]
		joined := epoch.AddDate(0, 0, r.IntN(5*365))
		d.members = append(d.members, []any{int32(i + 1), int64(i*2 + 1), p.first + " " + p.last, p.email,
			pick(r, tiers), int32(r.IntN(20000)), joined})
	}
	return d
}

// mailbox turns a name into the ASCII letters of an e-mail local part.
func mailbox(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c)
		case c == 'ü':
			b.WriteString("ue")
		case c == 'ë':
			b.WriteRune('e')
		}
	}
	return b.String()
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// usSSN returns an SSN with a valid area (not 000, 666 or 900-999), group
// (not 00) and serial (not 0000); one in five without dashes.
func usSSN(r *rand.Rand) string {
	area := 1 + r.IntN(899)
	if area == 666 {
		area = 665
	}
	group, serial := 1+r.IntN(99), 1+r.IntN(9999)
	if r.IntN(5) == 0 {
		return fmt.Sprintf("%03d%02d%04d", area, group, serial)
	}
	return fmt.Sprintf("%03d-%02d-%04d", area, group, serial)
}

// usPhone returns a North American number in one of the usual notations.
func usPhone(r *rand.Rand) string {
	area := fmt.Sprintf("%d%02d", 2+r.IntN(8), r.IntN(100))
	exchange := fmt.Sprintf("%d%02d", 2+r.IntN(8), r.IntN(100))
	line := digits(r, 4)
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("(%s) %s-%s", area, exchange, line)
	case 1:
		return fmt.Sprintf("%s-%s-%s", area, exchange, line)
	case 2:
		return fmt.Sprintf("+1 %s %s %s", area, exchange, line)
	}
	return fmt.Sprintf("%s.%s.%s", area, exchange, line)
}

func usZIP(r *rand.Rand, zip3 string) string {
	zip := zip3 + digits(r, 2)
	if r.IntN(100) < 15 {
		zip += "-" + digits(r, 4)
	}
	return zip
}

// creditCard returns a Visa, Mastercard, American Express or Discover
// number with a valid Luhn check digit, sometimes grouped.
func creditCard(r *rand.Rand) string {
	var prefix string
	length := 16
	switch r.IntN(4) {
	case 0:
		prefix = "4"
	case 1:
		prefix = strconv.Itoa(51 + r.IntN(5))
	case 2:
		prefix, length = []string{"34", "37"}[r.IntN(2)], 15
	default:
		prefix = "6011"
	}
	body := prefix + digits(r, length-len(prefix)-1)
	number := body + string(rune('0'+luhnCheckDigit(body)))
	switch r.IntN(5) {
	case 0:
		return group(number, " ")
	case 1:
		return group(number, "-")
	}
	return number
}

func group(number, sep string) string {
	var b strings.Builder
	for i, c := range number {
		if i > 0 && i%4 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// luhnCheckDigit is the digit that makes body+digit pass the Luhn check.
func luhnCheckDigit(body string) int {
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

// nonLuhn returns n digits that fail the Luhn check.
func nonLuhn(r *rand.Rand, n int) string {
	body := digits(r, n-1)
	bad := (luhnCheckDigit(body) + 1 + r.IntN(9)) % 10
	return body + string(rune('0'+bad))
}

// iban returns a valid IBAN of one of a few countries; one in four in the
// printed form, in groups of four.
func iban(r *rand.Rand) string {
	var country, bban string
	switch r.IntN(5) {
	case 0:
		country, bban = "DE", digits(r, 18)
	case 1:
		country, bban = "GB", letters(r, 4)+digits(r, 14)
	case 2:
		country, bban = "FR", digits(r, 10)+letters(r, 1)+digits(r, 10)+digits(r, 2)
	case 3:
		country, bban = "NL", letters(r, 4)+digits(r, 10)
	default:
		country, bban = "ES", digits(r, 20)
	}
	check := 98 - mod97(bban+country+"00")
	s := fmt.Sprintf("%s%02d%s", country, check, bban)
	if r.IntN(4) == 0 {
		return group(s, " ")
	}
	return s
}

func letters(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + r.IntN(26))
	}
	return string(b)
}

// mod97 computes s mod 97 with letters counted as 10..35, as IBANs do.
func mod97(s string) int {
	m := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			m = (m*10 + int(c-'0')) % 97
		default:
			m = (m*100 + int(c-'A'+10)) % 97
		}
	}
	return m
}

func randomIPv4(r *rand.Rand) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(11 + r.IntN(180)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
}

// randomIPv6 returns an address in the documentation prefix 2001:db8::/32.
func randomIPv6(r *rand.Rand) netip.Addr {
	var a [16]byte
	a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
	for i := 4; i < 16; i++ {
		if r.IntN(3) > 0 {
			a[i] = byte(r.IntN(256))
		}
	}
	return netip.AddrFrom16(a)
}

var (
	firstNames = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
		"Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos",
		"Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Donald", "Ashley",
		"Steven", "Kimberly", "Andrew", "Emily", "Kenneth", "Donna", "Joshua", "Michelle", "Kevin", "Carol",
		"Brian", "Amanda", "Wei", "Priya", "Mohammed", "Fatima", "Hiroshi", "Yuki", "Olga", "Lucas", "Sofia",
		"Mateo", "Chloe", "Ahmed", "Grace", "Jean-Luc", "Zoë", "Ines", "Noah", "Ava"}
	lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
		"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
		"Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
		"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
		"Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "O'Brien",
		"Kowalski", "Tanaka", "Chen", "Patel", "Müller", "Dubois", "Rossi", "Novak", "Van der Berg"}
	mailDomains    = []string{"example.com", "example.net", "example.org", "mail.example.com", "inbox.example"}
	streets        = []string{"Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset", "Highland", "Church", "Mill"}
	streetSuffixes = []string{"St", "Ave", "Blvd", "Rd", "Ln", "Dr", "Way", "Ct"}
	genders        = []string{"Female", "Male", "Female", "Male", "Non-binary"}
	places         = []struct{ city, state, zip3 string }{
		{"New York", "NY", "100"}, {"Brooklyn", "NY", "112"}, {"Boston", "MA", "021"}, {"Philadelphia", "PA", "191"},
		{"Baltimore", "MD", "212"}, {"Atlanta", "GA", "303"}, {"Miami", "FL", "331"}, {"Chicago", "IL", "606"},
		{"Detroit", "MI", "482"}, {"Minneapolis", "MN", "554"}, {"Dallas", "TX", "752"}, {"Houston", "TX", "770"},
		{"Austin", "TX", "787"}, {"Denver", "CO", "802"}, {"Phoenix", "AZ", "850"}, {"Las Vegas", "NV", "891"},
		{"Los Angeles", "CA", "900"}, {"San Francisco", "CA", "941"}, {"Seattle", "WA", "981"}, {"Portland", "OR", "972"},
		{"Hartford", "CT", "061"}, {"Newark", "NJ", "071"}, {"Nashville", "TN", "372"}, {"Columbus", "OH", "432"},
	}
	foreign = []struct {
		country, prefix string
		digits          int
	}{
		{"United Kingdom", "+44", 10}, {"Germany", "+49", 10}, {"Mexico", "+52", 10}, {"Canada", "+1", 10},
		{"France", "+33", 9}, {"Spain", "+34", 9},
	}
	productAdjectives = []string{"Classic", "Deluxe", "Compact", "Ergonomic", "Rustic", "Modern", "Portable", "Sturdy"}
	productNouns      = []string{"Desk Lamp", "Coffee Mug", "Backpack", "Notebook", "Water Bottle", "Headphones", "Chair", "Umbrella", "Blender", "Keyboard"}
	categories        = []string{"Home", "Office", "Outdoor", "Kitchen", "Electronics"}
	statuses          = []string{"pending", "shipped", "shipped", "delivered", "delivered", "delivered", "returned"}
	tiers             = []string{"Bronze", "Silver", "Gold", "Platinum"}
)
