package sdd

import "strings"

// countryTable lists countries as "alpha-2 alpha-3 name[;other name...]",
// one per line: ISO 3166-1 codes with their common English names.
const countryTable = `AF AFG Afghanistan
AL ALB Albania
DZ DZA Algeria
AD AND Andorra
AO AGO Angola
AG ATG Antigua and Barbuda
AR ARG Argentina
AM ARM Armenia
AU AUS Australia
AT AUT Austria
AZ AZE Azerbaijan
BS BHS Bahamas;The Bahamas
BH BHR Bahrain
BD BGD Bangladesh
BB BRB Barbados
BY BLR Belarus
BE BEL Belgium
BZ BLZ Belize
BJ BEN Benin
BT BTN Bhutan
BO BOL Bolivia
BA BIH Bosnia and Herzegovina
BW BWA Botswana
BR BRA Brazil
BN BRN Brunei
BG BGR Bulgaria
BF BFA Burkina Faso
BI BDI Burundi
CV CPV Cabo Verde;Cape Verde
KH KHM Cambodia
CM CMR Cameroon
CA CAN Canada
CF CAF Central African Republic
TD TCD Chad
CL CHL Chile
CN CHN China;People's Republic of China
CO COL Colombia
KM COM Comoros
CG COG Congo;Republic of the Congo
CD COD Democratic Republic of the Congo;DR Congo
CR CRI Costa Rica
CI CIV Côte d'Ivoire;Cote d'Ivoire;Ivory Coast
HR HRV Croatia
CU CUB Cuba
CY CYP Cyprus
CZ CZE Czechia;Czech Republic
DK DNK Denmark
DJ DJI Djibouti
DM DMA Dominica
DO DOM Dominican Republic
EC ECU Ecuador
EG EGY Egypt
SV SLV El Salvador
GQ GNQ Equatorial Guinea
ER ERI Eritrea
EE EST Estonia
SZ SWZ Eswatini;Swaziland
ET ETH Ethiopia
FJ FJI Fiji
FI FIN Finland
FR FRA France
GA GAB Gabon
GM GMB Gambia;The Gambia
GE GEO Georgia
DE DEU Germany
GH GHA Ghana
GR GRC Greece
GD GRD Grenada
GT GTM Guatemala
GN GIN Guinea
GW GNB Guinea-Bissau
GY GUY Guyana
HT HTI Haiti
HN HND Honduras
HK HKG Hong Kong
HU HUN Hungary
IS ISL Iceland
IN IND India
ID IDN Indonesia
IR IRN Iran
IQ IRQ Iraq
IE IRL Ireland
IL ISR Israel
IT ITA Italy
JM JAM Jamaica
JP JPN Japan
JO JOR Jordan
KZ KAZ Kazakhstan
KE KEN Kenya
KI KIR Kiribati
KP PRK North Korea
KR KOR South Korea;Korea
XK XKX Kosovo
KW KWT Kuwait
KG KGZ Kyrgyzstan
LA LAO Laos
LV LVA Latvia
LB LBN Lebanon
LS LSO Lesotho
LR LBR Liberia
LY LBY Libya
LI LIE Liechtenstein
LT LTU Lithuania
LU LUX Luxembourg
MO MAC Macao;Macau
MG MDG Madagascar
MW MWI Malawi
MY MYS Malaysia
MV MDV Maldives
ML MLI Mali
MT MLT Malta
MH MHL Marshall Islands
MR MRT Mauritania
MU MUS Mauritius
MX MEX Mexico
FM FSM Micronesia
MD MDA Moldova
MC MCO Monaco
MN MNG Mongolia
ME MNE Montenegro
MA MAR Morocco
MZ MOZ Mozambique
MM MMR Myanmar;Burma
NA NAM Namibia
NR NRU Nauru
NP NPL Nepal
NL NLD Netherlands;The Netherlands;Holland
NZ NZL New Zealand
NI NIC Nicaragua
NE NER Niger
NG NGA Nigeria
MK MKD North Macedonia;Macedonia
NO NOR Norway
OM OMN Oman
PK PAK Pakistan
PW PLW Palau
PS PSE Palestine
PA PAN Panama
PG PNG Papua New Guinea
PY PRY Paraguay
PE PER Peru
PH PHL Philippines
PL POL Poland
PT PRT Portugal
PR PRI Puerto Rico
QA QAT Qatar
RO ROU Romania
RU RUS Russia;Russian Federation
RW RWA Rwanda
KN KNA Saint Kitts and Nevis
LC LCA Saint Lucia
VC VCT Saint Vincent and the Grenadines
WS WSM Samoa
SM SMR San Marino
ST STP Sao Tome and Principe
SA SAU Saudi Arabia
SN SEN Senegal
RS SRB Serbia
SC SYC Seychelles
SL SLE Sierra Leone
SG SGP Singapore
SK SVK Slovakia
SI SVN Slovenia
SB SLB Solomon Islands
SO SOM Somalia
ZA ZAF South Africa
SS SSD South Sudan
ES ESP Spain
LK LKA Sri Lanka
SD SDN Sudan
SR SUR Suriname
SE SWE Sweden
CH CHE Switzerland
SY SYR Syria
TW TWN Taiwan
TJ TJK Tajikistan
TZ TZA Tanzania
TH THA Thailand
TL TLS Timor-Leste;East Timor
TG TGO Togo
TO TON Tonga
TT TTO Trinidad and Tobago
TN TUN Tunisia
TR TUR Turkey;Türkiye
TM TKM Turkmenistan
TV TUV Tuvalu
UG UGA Uganda
UA UKR Ukraine
AE ARE United Arab Emirates;UAE
GB GBR United Kingdom;UK;Great Britain;Britain;England;Scotland;Wales;Northern Ireland
US USA United States;United States of America;America
UY URY Uruguay
UZ UZB Uzbekistan
VU VUT Vanuatu
VA VAT Vatican City;Holy See
VE VEN Venezuela
VN VNM Vietnam;Viet Nam
YE YEM Yemen
ZM ZMB Zambia
ZW ZWE Zimbabwe`

// usStateTable lists US states, the District of Columbia and the inhabited
// territories as "code name".
const usStateTable = `AL Alabama
AK Alaska
AZ Arizona
AR Arkansas
CA California
CO Colorado
CT Connecticut
DE Delaware
DC District of Columbia
FL Florida
GA Georgia
HI Hawaii
ID Idaho
IL Illinois
IN Indiana
IA Iowa
KS Kansas
KY Kentucky
LA Louisiana
ME Maine
MD Maryland
MA Massachusetts
MI Michigan
MN Minnesota
MS Mississippi
MO Missouri
MT Montana
NE Nebraska
NV Nevada
NH New Hampshire
NJ New Jersey
NM New Mexico
NY New York
NC North Carolina
ND North Dakota
OH Ohio
OK Oklahoma
OR Oregon
PA Pennsylvania
RI Rhode Island
SC South Carolina
SD South Dakota
TN Tennessee
TX Texas
UT Utah
VT Vermont
VA Virginia
WA Washington
WV West Virginia
WI Wisconsin
WY Wyoming
AS American Samoa
GU Guam
MP Northern Mariana Islands
PR Puerto Rico
VI U.S. Virgin Islands`

// Lower-cased dictionaries built from the tables above.
var (
	countryNames  = map[string]bool{} // names and alpha-3 codes
	countryCodes2 = map[string]bool{} // alpha-2 codes, weak: they collide with other codes
	usStates      = map[string]bool{} // names and USPS codes
	genderWords   = map[string]bool{
		"female": true, "male": true, "woman": true, "man": true, "non-binary": true, "nonbinary": true,
		"non binary": true, "other": true, "unknown": true, "prefer not to say": true, "not specified": true,
		"intersex": true, "transgender": true, "genderqueer": true, "agender": true,
	}
	genderLetters = map[string]bool{"f": true, "m": true, "x": true, "u": true, "o": true}
)

func init() {
	for _, line := range strings.Split(countryTable, "\n") {
		code2, rest, _ := strings.Cut(line, " ")
		code3, names, _ := strings.Cut(rest, " ")
		countryCodes2[strings.ToLower(code2)] = true
		countryNames[strings.ToLower(code3)] = true
		for _, n := range strings.Split(names, ";") {
			countryNames[strings.ToLower(n)] = true
		}
	}
	for _, line := range strings.Split(usStateTable, "\n") {
		code, name, _ := strings.Cut(line, " ")
		usStates[strings.ToLower(code)] = true
		usStates[strings.ToLower(name)] = true
	}
}

// lookupFold reports whether s, lower-cased, is in dict; it lower-cases
// ASCII without allocating for short values.
func lookupFold(dict map[string]bool, s string) bool {
	var buf [64]byte
	if len(s) > len(buf) {
		return dict[strings.ToLower(s)]
	}
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return dict[strings.ToLower(s)]
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return dict[string(b)] // the compiler does not allocate for this lookup
}
