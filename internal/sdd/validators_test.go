package sdd

import "testing"

func TestValueChecks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(string) bool
		yes   []string
		no    []string
	}{
		{"email", isEmail,
			[]string{"ann@example.com", "first.last+tag@mail.example.co.uk", "o'brien@example.org", "x_y-z%1@sub-domain.example.io"},
			[]string{"ann@example", "@example.com", "ann@@example.com", "ann.@example.com", ".ann@example.com", "a..b@example.com",
				"ann@-example.com", "ann@example.c", "ann@example.c0m", "ann example@example.com", "mailto:ann", "ann@exa_mple.com"}},
		{"grouped ssn", func(s string) bool { return isSSN(s, false) },
			[]string{"123-45-6780", "001-01-0001", "665 12 3456", "899-99-9999"},
			[]string{"123456780", "000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "078-05-1120",
				"123-45-678", "123-456-789", "123-45 6789", "12a-45-6789"}},
		{"bare ssn", func(s string) bool { return isSSN(s, true) },
			[]string{"123456780", "123-45-6780"},
			[]string{"000123456", "666123456", "12345678", "1234567890"}},
		{"credit card", isCreditCard,
			[]string{"4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5500005555555559", "378282246310005",
				"6011111111111117", "3530111333300000", "2223000048400011", "30569309025904"},
			[]string{"4111111111111112", "1234567812345670", "0000000000000000", "4444444444444444", "4111  1111 1111 1111",
				"-4111111111111111", "4111111111111111-", "411111111111", "9999999999999995", "4111a11111111111", "3782822463100050"}},
		{"ip address", isIPAddress,
			[]string{"192.168.1.10", "10.0.0.0/8", "2001:db8::1", "2001:db8:85a3::8a2e:370:7334", "::ffff:10.0.0.1", "fe80::/10"},
			[]string{"192.168.1", "256.1.1.1", "1.2.3.4.5", "2001:db8::g", "01.2.3.4", "hello", "12345678"}},
		{"iban", isIBAN,
			[]string{"DE89370400440532013000", "GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "FR1420041010050500013M02606",
				"NL91ABNA0417164300", "de89370400440532013000"},
			[]string{"DE89370400440532013001", "DE8937040044053201300", "XX89370400440532013000", "GB82WEST1234569876543X",
				"GB82  WEST12345698765432", "1234567890123456"}},
		{"date", isDate,
			[]string{"2024-02-29", "1985-03-12", "2021-09-16 10:41:06+00", "2021-09-16 10:41:06.123456+05:30", "2021-09-16T10:41:06Z", "3/7/1999", "12/31/2020"},
			[]string{"2023-02-29", "2024-13-01", "1700-01-01", "20240101", "2024/01/01", "13/01/2020", "17.51", "2024-1-1", "yesterday"}},
		{"person name", isPersonName,
			[]string{"Ann", "Jean-Luc Picard", "O'Brien", "Zoë Müller", "J. R. R. Tolkien", "张伟", "Ольга"},
			[]string{"", "R2-D2", "ann@example.com", "Agent 007", "Smith & Sons", "<b>Ann</b>"}},
		{"street address", isStreetAddress,
			[]string{"5629 Oak Rd", "1600 Pennsylvania Avenue NW", "221B Baker St.", "12 Main Street Apt 4"},
			[]string{"Oak Rd", "5629 Oak", "Main St 12", "12345", "1 St"}},
	} {
		for _, v := range tc.yes {
			if !tc.check(v) {
				t.Errorf("%s: %q must match", tc.name, v)
			}
		}
		for _, v := range tc.no {
			if tc.check(v) {
				t.Errorf("%s: %q must not match", tc.name, v)
			}
		}
	}
}

func TestPhoneStrongAndWeak(t *testing.T) {
	for _, tc := range []struct {
		v            string
		strong, weak bool
	}{
		{"(415) 555-0134", true, false},
		{"415-555-0134", true, false},
		{"415.555.0134", true, false},
		{"415 555 0134", true, false},
		{"+1 415 555 0134", true, false},
		{"1-415-555-0134", true, false},
		{"+44 20 7946 0958", true, false},
		{"+4915112345678", true, false},
		{"4155550134", false, true},
		{"14155550134", false, true},
		{"2024100000", false, true}, // an order number is only ever a weak match
		{"+1 115 555 0134", false, false},
		{"(115) 555-0134", false, false},
		{"415-155-0134", false, false},
		{"126.183.155.22", false, false},
		{"4155-550-134", false, false},
		{"415--555-0134", false, false},
		{"(415 555-0134", false, false},
		{"+0 415 555 0134", false, false},
		{"123-45-6789", false, false},
		{"555-0134", false, false},
		{"4111111111111111", false, false},
		{"call 415-555-0134", false, false},
	} {
		strong, weak := phone(tc.v)
		if strong != tc.strong || weak != tc.weak {
			t.Errorf("phone(%q) = %v, %v; want %v, %v", tc.v, strong, weak, tc.strong, tc.weak)
		}
	}
}

func TestZIPStrongAndWeak(t *testing.T) {
	for _, tc := range []struct {
		v            string
		strong, weak bool
	}{
		{"02142-1234", true, false},
		{"90210", false, true},
		{"00012", false, false},
		{"000-1234", false, false},
		{"9021", false, false},
		{"90210-12", false, false},
		{"52704", false, true}, // a price in cents is only ever a weak match
	} {
		strong, weak := zip(tc.v)
		if strong != tc.strong || weak != tc.weak {
			t.Errorf("zip(%q) = %v, %v; want %v, %v", tc.v, strong, weak, tc.strong, tc.weak)
		}
	}
}

func TestLuhnAgreesWithTheCheckDigit(t *testing.T) {
	for _, n := range []string{"79927398713", "4111111111111111", "378282246310005"} {
		if !luhn([]byte(n)) {
			t.Errorf("%s must pass", n)
		}
		bad := []byte(n)
		bad[len(bad)-1] = '0' + (bad[len(bad)-1]-'0'+1)%10
		if luhn(bad) {
			t.Errorf("%s must fail", bad)
		}
	}
}

func TestWords(t *testing.T) {
	for in, want := range map[string]string{
		"EMail Address":  "e_mail_address",
		"customerID":     "customer_id",
		"customerId":     "customer_id",
		"ZIPCode":        "zip_code",
		"first_name":     "first_name",
		"  Full  Name  ": "full_name",
		"SSN":            "ssn",
		"address2":       "address2",
		"Date-of-Birth":  "date_of_birth",
		"":               "",
	} {
		if got := words(in); got != want {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDictionaries(t *testing.T) {
	for _, v := range []string{"united states", "USA", "Côte d'Ivoire", "Germany", "deu"} {
		if !lookupFold(countryNames, v) {
			t.Errorf("%q is a country", v)
		}
	}
	if lookupFold(countryNames, "Atlantis") || !lookupFold(countryCodes2, "de") {
		t.Error("country dictionary")
	}
	if len(countryCodes2) < 190 || len(usStates) != 2*56 {
		t.Errorf("dictionaries hold %d countries and %d state words", len(countryCodes2), len(usStates))
	}
}
