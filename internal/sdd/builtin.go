package sdd

import (
	"regexp"
	"slices"
	"strings"
)

// Tags the built-in identifiers apply, following the reference's
// Discovered.Entity.* and Discovered.Country.* naming.
const (
	TagCountryUS     = "Discovered.Country.US"
	TagEmail         = "Discovered.Entity.Electronic Mail Address"
	TagSSN           = "Discovered.Entity.Social Security Number"
	TagCreditCard    = "Discovered.Entity.Credit Card Number"
	TagPhone         = "Discovered.Entity.Telephone Number"
	TagIPAddress     = "Discovered.Entity.IP Address"
	TagIBAN          = "Discovered.Entity.IBAN"
	TagPostalCode    = "Discovered.Entity.Postal Code"
	TagDate          = "Discovered.Entity.Date"
	TagDateOfBirth   = "Discovered.Entity.Date of Birth"
	TagPersonName    = "Discovered.Entity.Person Name"
	TagLocation      = "Discovered.Entity.Location"
	TagStreetAddress = "Discovered.Entity.Street Address"
	TagCountry       = "Discovered.Entity.Country"
	TagState         = "Discovered.Entity.State"
	TagGender        = "Discovered.Entity.Gender"
)

// Hints are matched against a column name normalised to lower-case words
// joined by "_" ("EMail Address" is e_mail_address, "customerId" is
// customer_id). Where a value's shape alone is ambiguous (nine bare digits
// for an SSN, ten for a phone number, five for a ZIP code, a two-letter
// code), the value counts only when the column name gives the hint.
var (
	ssnHint     = regexp.MustCompile(`(^|_)ssn(_|$)|social_?sec`)
	phoneHint   = regexp.MustCompile(`phone|(^|_)(tel|mobile|cell|fax|msisdn)(_|$)`)
	zipHint     = regexp.MustCompile(`(^|_)zip|postal|post_?code`)
	genderHint  = regexp.MustCompile(`(^|_)(gender|sex)(_|$)`)
	countryHint = regexp.MustCompile(`countr|(^|_)nation`)
	stateHint   = regexp.MustCompile(`state|province|region|(^|_)st(_|$)`)
	personHint  = regexp.MustCompile(`(^|_)((first|last|given|family|middle|maiden|full|sur|fore|nick|customer|client|employee|contact|person|patient|member|holder|cardholder|account_holder|owner|billing|shipping|recipient)_?name|surname|forename|firstname|lastname|fullname)(_|$)`)
)

// dobCondition marks a date column as a date of birth (matched against the
// column name as written, as every columnNameRegex is).
const dobCondition = `birth|(^|[^a-z])dob([^a-z]|$)|(^|[^a-z])born([^a-z]|$)`

// builtIn is an identifier custos ships, with the code that scores it.
type builtIn struct {
	id    Identifier
	match func(c *column, min float64) float64
}

// builtIns are the identifiers custos ships, sorted by name in init.
var builtIns = []builtIn{
	{
		id: define("CREDIT_CARD_NUMBER", "Credit Card Number",
			"Matches payment card numbers of the major networks (Visa, Mastercard, American Express, Discover, Diners Club, JCB, UnionPay), plain or grouped with spaces or dashes, that pass the Luhn check.",
			TagCreditCard),
		match: func(c *column, min float64) float64 { return shareOf(c.values, min, isCreditCard) },
	},
	{
		id: defineConditional("DATE", "Date",
			"Matches date and timestamp columns, and text holding dates (2006-01-02, RFC 3339, 1/2/2006). Adds Date of Birth when the column name says birth or DOB.",
			map[string]TagCondition{TagDateOfBirth: {ColumnNameRegex: dobCondition}}, TagDate),
		match: func(c *column, min float64) float64 {
			if c.dataType == "date" || c.dataType == "timestamp" {
				return 1
			}
			return shareOf(c.values, min, isDate)
		},
	},
	{
		id: define("EMAIL_ADDRESS", "Email Address",
			"Matches e-mail addresses: a local part, @, and a domain with a top-level label of letters.",
			TagEmail),
		match: func(c *column, min float64) float64 { return shareOf(c.values, min, isEmail) },
	},
	{
		id: define("GENDER", "Gender",
			"Matches words for gender (Female, Male, Non-binary, ...); single letters (F, M, X) only in a column named gender or sex.",
			TagGender),
		match: func(c *column, min float64) float64 {
			hint := genderHint.MatchString(c.words)
			return shareOf(c.values, min, func(v string) bool {
				return lookupFold(genderWords, v) || hint && lookupFold(genderLetters, v)
			})
		},
	},
	{
		id: define("IBAN_CODE", "IBAN Code",
			"Matches International Bank Account Numbers, electronic or printed in groups of four, with their country's length and a valid mod-97 check.",
			TagIBAN),
		match: func(c *column, min float64) float64 { return shareOf(c.values, min, isIBAN) },
	},
	{
		id: define("IP_ADDRESS", "IP Address",
			"Matches IPv4 addresses in dotted-decimal form and IPv6 addresses, optionally with a prefix length.",
			TagIPAddress),
		match: func(c *column, min float64) float64 { return shareOf(c.values, min, isIPAddress) },
	},
	{
		id: define("COUNTRY", "Country",
			"Matches country names; ISO 3166 two- and three-letter codes only in a column whose name says country or nation.",
			TagLocation, TagCountry),
		match: func(c *column, min float64) float64 {
			hint := countryHint.MatchString(c.words)
			return shareOf(c.values, min, func(v string) bool {
				if len(v) == 3 || len(v) == 2 {
					return hint && (lookupFold(countryNames, v) || lookupFold(countryCodes2, v))
				}
				return lookupFold(countryNames, v)
			})
		},
	},
	{
		id: define("PERSON_NAME", "Person Name",
			"Matches columns whose name says they hold a person's name (first_name, last_name, full name, surname, customer_name, ...) and whose values look like names: letters, spaces, hyphens, apostrophes, no digits.",
			TagPersonName),
		match: func(c *column, min float64) float64 {
			if !personHint.MatchString(c.words) {
				return 0
			}
			if len(c.values) == 0 {
				return 1 // the name is the evidence
			}
			return shareOf(c.values, min, isPersonName)
		},
	},
	{
		id: define("PHONE_NUMBER", "Phone Number",
			"Matches telephone numbers: international numbers with a leading +, and North American numbers written (NNN) NNN-NNNN, NNN-NNN-NNNN, NNN.NNN.NNNN or NNN NNN NNNN; ten bare digits only in a column named phone, mobile, tel, cell or fax.",
			TagPhone),
		match: func(c *column, min float64) float64 {
			hint := phoneHint.MatchString(c.words)
			return shareOf(c.values, min, func(v string) bool {
				strong, weak := phone(v)
				return strong || hint && weak
			})
		},
	},
	{
		id: define("STREET_ADDRESS", "Street Address",
			"Matches US street lines: a house number, the street name and a designator such as St, Ave, Rd or Blvd.",
			TagLocation, TagStreetAddress),
		match: func(c *column, min float64) float64 { return shareOf(c.values, min, isStreetAddress) },
	},
	{
		id: define("US_SOCIAL_SECURITY_NUMBER", "US Social Security Number",
			"Matches US SSNs written 123-45-6789 or 123 45 6789 whose area, group and serial can be issued (no 000, 666 or 9xx area, no 00 group, no 0000 serial); nine bare digits only in a column named ssn or social security.",
			TagCountryUS, TagSSN),
		match: func(c *column, min float64) float64 {
			hint := ssnHint.MatchString(c.words)
			return shareOf(c.values, min, func(v string) bool { return isSSN(v, hint) })
		},
	},
	{
		id: define("US_STATE", "US State",
			"Matches names of US states, the District of Columbia and territories; two-letter USPS codes only in a column whose name says state, province or region.",
			TagCountryUS, TagLocation, TagState),
		match: func(c *column, min float64) float64 {
			hint := stateHint.MatchString(c.words)
			return shareOf(c.values, min, func(v string) bool {
				if len(v) == 2 {
					return hint && lookupFold(usStates, v)
				}
				return lookupFold(usStates, v)
			})
		},
	},
	{
		id: define("US_ZIP_CODE", "US ZIP Code",
			"Matches US ZIP+4 codes (12345-6789); five bare digits only in a column named zip, postal code or postcode.",
			TagCountryUS, TagPostalCode),
		match: func(c *column, min float64) float64 {
			hint := zipHint.MatchString(c.words)
			return shareOf(c.values, min, func(v string) bool {
				strong, weak := zip(v)
				return strong || hint && weak
			})
		},
	},
}

func init() {
	slices.SortFunc(builtIns, func(a, b builtIn) int { return strings.Compare(a.id.Name, b.id.Name) })
}

func define(name, display, description string, tags ...string) Identifier {
	return defineConditional(name, display, description, map[string]TagCondition{}, tags...)
}

func defineConditional(name, display, description string, conditional map[string]TagCondition, tags ...string) Identifier {
	return Identifier{Name: name, DisplayName: display, Description: description, Type: TypeBuiltIn,
		Config: Config{Tags: tags, ConditionalTags: conditional}}
}

// BuiltIns returns the identifiers custos ships, sorted by name. They are
// of type builtIn; users may not change them, but frameworks may override
// their tags and minimum confidence.
func BuiltIns() []Identifier {
	out := make([]Identifier, len(builtIns))
	for i, b := range builtIns {
		out[i] = cloneIdentifier(b.id)
	}
	return out
}

// BuiltIn returns the built-in identifier with this name.
func BuiltIn(name string) (Identifier, bool) {
	if b := findBuiltIn(name); b != nil {
		return cloneIdentifier(b.id), true
	}
	return Identifier{}, false
}

func findBuiltIn(name string) *builtIn {
	i, ok := slices.BinarySearchFunc(builtIns, name, func(b builtIn, n string) int { return strings.Compare(b.id.Name, n) })
	if !ok {
		return nil
	}
	return &builtIns[i]
}

func cloneIdentifier(id Identifier) Identifier {
	id.Config.Tags = slices.Clone(id.Config.Tags)
	id.Config.Values = slices.Clone(id.Config.Values)
	if id.Config.ConditionalTags != nil {
		m := make(map[string]TagCondition, len(id.Config.ConditionalTags))
		for k, v := range id.Config.ConditionalTags {
			m[k] = v
		}
		id.Config.ConditionalTags = m
	}
	if id.Config.MinConfidence != nil {
		v := *id.Config.MinConfidence
		id.Config.MinConfidence = &v
	}
	return id
}
