package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// world generates a realistic population of policies, data sources and
// users for the property test and the benchmarks: a tag vocabulary with a
// hierarchy, column names that repeat across tables, tags that follow the
// names, and varied policies.
type world struct {
	rng          *rand.Rand
	tags         []string // every tag, parents included
	leafTags     []string
	colNames     []string
	colTag       map[string]string // column name -> the tag discovery would give it
	subjects     []string
	commonFields []string
	piiFields    []string
	groups       []string
	purposes     []string
	servers      []string
}

func newWorld(seed uint64) *world {
	w := &world{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), colTag: map[string]string{}}
	leaves := []string{
		"Discovered.Entity.Social Security Number", "Discovered.Entity.Email Address", "Discovered.Entity.Phone Number",
		"Discovered.Entity.Postal Code", "Discovered.Entity.Date", "Discovered.Entity.Department", "Discovered.Person Name",
		"Discovered.Passport", "Discovered.Country", "Discovered.PCI.Card Number", "Discovered.PCI.IBAN",
		"Discovered.Healthcare NPI", "PII.Direct", "PII.Indirect", "Finance.Revenue", "Finance.Salary",
		"Health.Diagnosis", "Health.Medication", "Region.EU", "Region.US", "Region.APAC",
		"Sensitivity.Public", "Sensitivity.Internal", "Sensitivity.Confidential", "Sensitivity.Restricted",
	}
	for d := 0; d < 40; d++ {
		for f := 0; f < 12; f++ {
			leaves = append(leaves, fmt.Sprintf("Business.Domain %d.Field %d", d, f))
		}
	}
	seen := map[string]bool{}
	for _, l := range leaves {
		w.leafTags = append(w.leafTags, l)
		for t := l; ; {
			if !seen[t] {
				seen[t] = true
				w.tags = append(w.tags, t)
			}
			i := strings.LastIndexByte(t, '.')
			if i < 0 {
				break
			}
			t = t[:i]
		}
	}
	subjects := []string{"customer", "order", "invoice", "patient", "employee", "account", "payment", "shipment", "product", "visit",
		"claim", "policy", "device", "session", "ticket", "vendor", "contract", "store", "campaign", "lead"}
	fields := map[string]string{
		"id": "", "ssn": "Discovered.Entity.Social Security Number", "email": "Discovered.Entity.Email Address",
		"phone": "Discovered.Entity.Phone Number", "postal_code": "Discovered.Entity.Postal Code", "birth_date": "Discovered.Entity.Date",
		"department": "Discovered.Entity.Department", "name": "Discovered.Person Name", "passport": "Discovered.Passport",
		"country": "Discovered.Country", "card_number": "Discovered.PCI.Card Number", "iban": "Discovered.PCI.IBAN",
		"npi": "Discovered.Healthcare NPI", "revenue": "Finance.Revenue", "salary": "Finance.Salary", "diagnosis": "Health.Diagnosis",
		"medication": "Health.Medication", "created_at": "", "updated_at": "", "status": "", "amount": "", "quantity": "",
		"notes": "", "region": "Region.EU", "score": "", "category": "", "description": "", "total": "", "currency": "", "code": "",
	}
	for d := 0; d < 40; d++ {
		for f := 0; f < 12; f++ {
			fields[fmt.Sprintf("attr_%d_%d", d, f)] = fmt.Sprintf("Business.Domain %d.Field %d", d, f)
		}
	}
	w.subjects = subjects
	for f, tag := range fields {
		switch {
		case strings.HasPrefix(f, "attr_"):
		case tag == "":
			w.commonFields = append(w.commonFields, f)
		default:
			w.piiFields = append(w.piiFields, f)
		}
	}
	sortStrings(w.commonFields)
	sortStrings(w.piiFields)
	for _, s := range subjects {
		for f, tag := range fields {
			n := s + "_" + f
			w.colNames = append(w.colNames, n)
			w.colTag[n] = tag
		}
	}
	// map iteration order is random: sort for determinism
	sortStrings(w.colNames)
	for i := 0; i < 200; i++ {
		w.groups = append(w.groups, fmt.Sprintf("group-%03d", i))
	}
	for i := 0; i < 8; i++ {
		root := fmt.Sprintf("Purpose %d", i)
		w.purposes = append(w.purposes, root, root+".Child A", root+".Child B", root+".Child A.Leaf")
	}
	for i := 0; i < 20; i++ {
		w.servers = append(w.servers, fmt.Sprintf("db%02d.example.com:5432/warehouse", i))
	}
	return w
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func (w *world) pick(s []string) string { return s[w.rng.IntN(len(s))] }

func (w *world) dataSource(id int64, ncols int) DataSource {
	ds := DataSource{ID: id, Name: fmt.Sprintf("table_%d", id), Server: w.pick(w.servers),
		CreatedAt:   time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(w.rng.IntN(3*365*24)) * time.Hour),
		OwnerGroups: []string{w.pick(w.groups)}}
	// A table belongs to a subject and one or two business domains: its
	// columns are common fields, some personal data, and domain attributes.
	subject := w.pick(w.subjects)
	domains := []int{w.rng.IntN(40), w.rng.IntN(40)}
	used := map[string]bool{}
	add := func(field string) {
		n := subject + "_" + field
		if used[n] || len(ds.Columns) >= ncols {
			return
		}
		used[n] = true
		c := Column{Name: n, Type: "text"}
		if tag := w.colTag[n]; tag != "" && w.rng.IntN(10) < 8 {
			c.Tags = append(c.Tags, tag)
		}
		if w.rng.IntN(20) == 0 {
			c.Tags = append(c.Tags, w.pick(w.leafTags[:25]))
		}
		ds.Columns = append(ds.Columns, c)
	}
	add("created_at")
	add("id")
	for len(ds.Columns) < ncols {
		switch r := w.rng.IntN(10); {
		case r < 3:
			add(w.pick(w.commonFields))
		case r < 5:
			add(w.pick(w.piiFields))
		default:
			add(fmt.Sprintf("attr_%d_%d", domains[w.rng.IntN(2)], w.rng.IntN(12)))
		}
	}
	if w.rng.IntN(2) == 0 {
		ds.Columns[0].Type = "timestamp"
		ds.EventTimeColumn = ds.Columns[0].Name
	}
	ds.HighCardinalityColumn = ds.Columns[1].Name
	for i := w.rng.IntN(3); i > 0; i-- {
		ds.Tags = append(ds.Tags, w.pick([]string{"Region.EU", "Region.US", "Region.APAC", "Sensitivity.Internal", "Sensitivity.Confidential", "Discovered.PCI"}))
	}
	return ds
}

func (w *world) tag() string {
	if w.rng.IntN(20) == 0 {
		return w.pick(w.tags) // sometimes a parent tag
	}
	return w.pick(w.leafTags)
}

func (w *world) condition() *Condition {
	c := &Condition{}
	switch w.rng.IntN(4) {
	case 0:
		c.Groups = []string{w.pick(w.groups), w.pick(w.groups)}
	case 1:
		c.Attributes = []Attribute{{Name: "clearance", Value: w.pick([]string{"low", "high", "top"})}}
	case 2:
		c.Purposes = []string{w.pick(w.purposes)}
	default:
		c.Groups, c.Purposes, c.Operator = []string{w.pick(w.groups)}, []string{w.pick(w.purposes)}, OpAll
	}
	return c
}

var genMaskings = []Masking{{Type: MaskHash}, {Type: MaskNull}, {Type: MaskConstant, Constant: "REDACTED"},
	{Type: MaskRegex, Regex: `(\d{4})(\d)`, Replacement: "$1X", Global: true}, {Type: MaskGrouping}, {Type: MaskReversible},
	{Type: MaskFormatPreserving}, {Type: MaskKAnonymization}}

func (w *world) policy(id int64) *Policy {
	p := &Policy{PolicyKey: fmt.Sprintf("policy-%d", id), Name: fmt.Sprintf("Policy %d", id), Type: TypeData}
	tag := w.tag()
	everywhere := false
	switch r := w.rng.IntN(1000); {
	case r < 5: // everywhere
		everywhere = true
	case r < 755:
		p.Circumstances = []Circumstance{{Type: CircColumnTags, Tag: tag}}
	case r < 835:
		p.Circumstances = []Circumstance{{Type: CircColumnTags, Tag: tag}, {Type: CircColumnTags, Tag: w.tag()}}
		p.CircumstanceOperator = OpAny
	case r < 885:
		p.Circumstances = []Circumstance{{Type: CircTags, Tag: w.pick([]string{"Region.EU", "Region", "Sensitivity.Confidential", "Discovered.PCI"})}, {Type: CircColumnTags, Tag: tag}}
	case r < 895:
		re := fmt.Sprintf("_attr_%d_%d$", w.rng.IntN(40), w.rng.IntN(12))
		if w.rng.IntN(4) == 0 {
			re = w.pick([]string{"_ssn$", "_email$", "^patient_.*_diagnosis$", "_(salary|revenue)$"})
		}
		p.Circumstances = []Circumstance{{Type: CircColumnRegex, Regex: re, CaseInsensitive: true}}
	case r < 960:
		p.Circumstances = []Circumstance{{Type: CircServer, Server: w.pick(w.servers)}, {Type: CircColumnTags, Tag: tag}}
	default:
		start := time.Date(2022, time.Month(1+w.rng.IntN(12)), 1, 0, 0, 0, 0, time.UTC)
		end := start.AddDate(0, 6, 0)
		p.Circumstances = []Circumstance{{Type: CircTime, StartDate: &start, EndDate: &end}, {Type: CircColumnTags, Tag: tag}}
	}
	if w.rng.IntN(20) == 0 {
		p.Type = TypeSubscription
		s := &SubscriptionAction{Type: []SubscriptionType{SubAnyone, SubApproval, SubEntitlements, SubManual}[w.rng.IntN(4)], ShareResponsibility: w.rng.IntN(2) == 0}
		switch s.Type {
		case SubApproval:
			s.Approvals = []Approval{{RequiredPermission: "OWNER"}}
		case SubEntitlements:
			s.Entitlements = w.condition()
		}
		if w.rng.IntN(5) == 0 {
			s.AccessGrant = GrantWrite
		}
		p.Subscription = s
		return p
	}
	rule := Rule{}
	if w.rng.IntN(3) > 0 {
		rule.Exceptions = w.condition()
	}
	field := FieldSelector{Type: FieldColumnTags, ColumnTag: tag}
	if len(p.Circumstances) > 0 && p.Circumstances[0].Type == CircColumnRegex {
		field = FieldSelector{Type: FieldColumnRegex, Regex: p.Circumstances[0].Regex, CaseInsensitive: true}
	}
	r := w.rng.IntN(100)
	if everywhere {
		r = 89 + w.rng.IntN(11) // only purpose, time and minimization rules everywhere
	}
	switch {
	case r < 65:
		m := genMaskings[w.rng.IntN(len(genMaskings))]
		rule.Type, rule.Masking = RuleMasking, &MaskingRule{Fields: []FieldSelector{field}, Masking: m}
	case r < 75:
		rule.Type, rule.CustomWhere = RuleRowCustomWhere, &CustomWhereRule{Predicate: fmt.Sprintf(
			"@columnTagged('%s') IN ('US', 'CA') OR @groupsContains(@columnTagged('%s')) OR @username = 'admin'", tag, tag)}
	case r < 82:
		rule.Type, rule.RowMatch = RuleRowEntitlements, &RowMatchRule{Matches: []Match{{Type: MatchGroup, Tag: tag}}}
	case r < 89:
		rule.Type, rule.Purpose = RulePurposeRestriction, &PurposeRule{Purposes: []string{w.pick(w.purposes)}}
	case r < 94:
		rule.Type, rule.Time = RuleTimeRestriction, &TimeRule{IsOlderOrNewer: "newer", Seconds: 86400 * int64(1+w.rng.IntN(365))}
	default:
		rule.Type, rule.Minimization = RuleMinimization, &MinimizationRule{Percent: 1 + w.rng.IntN(99)}
	}
	p.Data = []DataAction{{Rules: []Rule{rule}}}
	if w.rng.IntN(4) == 0 && rule.Type == RuleMasking {
		// an otherwise clause
		first := rule
		first.Exceptions, first.Inclusions = nil, w.condition()
		first.Masking = &MaskingRule{Fields: rule.Masking.Fields, Masking: Masking{Type: MaskNull}}
		p.Data[0].Rules = []Rule{first, rule}
	}
	return p
}

func (w *world) user(i int) User {
	u := User{Username: fmt.Sprintf("user%d@example.com", i), Attributes: map[string][]string{
		"clearance": {w.pick([]string{"low", "high", "top"})}, "region": {w.pick([]string{"US", "CA", "EU"})}}}
	for n := 1 + w.rng.IntN(8); n > 0; n-- {
		u.Groups = append(u.Groups, w.pick(w.groups))
	}
	for n := w.rng.IntN(3); n > 0; n-- {
		u.Purposes = append(u.Purposes, w.pick(w.purposes))
	}
	return u
}
