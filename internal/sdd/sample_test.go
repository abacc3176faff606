package sdd

import (
	"context"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/sample"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// openSample loads the sample database and opens it through the connector.
func openSample(t testing.TB) connector.Source {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	if err := sample.Load(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(pgtest.NewReader(t, dsn))
	port, _ := strconv.Atoi(u.Port())
	password, _ := u.User.Password()
	src, err := connector.Open(ctx, connector.Connection{Handler: connector.PostgreSQL, Hostname: u.Hostname(), Port: port,
		Database: strings.TrimPrefix(u.Path, "/"), Username: u.User.Username(), Password: password}, connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src
}

// columnsOf pairs a table's introspected columns with a sample of its rows.
func columnsOf(t testing.TB, src connector.Source, table connector.Table, size int) []Column {
	t.Helper()
	s, err := src.Sample(context.Background(), connector.TableRef{Schema: table.Schema, Name: table.Name}, connector.SampleOptions{Size: size})
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]Column, len(table.Columns))
	for i, c := range table.Columns {
		sc, ok := s.Column(c.Name)
		if !ok {
			t.Fatalf("%s.%s: column %q not sampled", table.Schema, table.Name, c.Name)
		}
		cols[i] = Column{Name: c.Name, DataType: c.DataType, Values: sc.Values, Nulls: sc.Nulls}
	}
	return cols
}

// TestDiscoveryOnTheSampleDatabase runs the default framework over every
// column of the sample database, sampled through the connector, and checks
// the tags of every column: those that must be tagged and those that must
// not, including the look-alikes.
func TestDiscoveryOnTheSampleDatabase(t *testing.T) {
	src := openSample(t)
	tables, err := src.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var (
		person = []string{TagPersonName}
		email  = []string{TagEmail}
		phone  = []string{TagPhone}
		date   = []string{TagDate}
		none   = []string{}
	)
	want := map[string]map[string][]string{
		"shop.customers": {
			"customer_id":     none,
			"first_name":      person,
			"last_name":       person,
			"email":           email,
			"ssn":             {TagCountryUS, TagSSN},
			"credit_card":     {TagCreditCard},
			"phone":           phone,
			"street_address":  {TagLocation, TagStreetAddress},
			"city":            none,
			"state":           {TagCountryUS, TagLocation, TagState},
			"zip":             {TagCountryUS, TagPostalCode},
			"country":         {TagCountry, TagLocation},
			"birth_date":      {TagDate, TagDateOfBirth},
			"gender":          {TagGender},
			"last_login_ip":   {TagIPAddress},
			"last_login_ipv6": {TagIPAddress},
			"iban":            {TagIBAN},
			"loyalty_points":  none,
			"created_at":      date,
		},
		"shop.products": {
			"product_id": none, "sku": none, "product_name": none, "category": none, "description": none,
			"price_cents": none, "weight_grams": none, "in_stock": none,
		},
		"shop.orders": {
			"order_id": none, "customer_id": none, "product_id": none, "quantity": none, "unit_price": none,
			"status": none, "tracking_number": none, "ordered_at": date,
		},
		"shop.customer_contacts": {"customer_id": none, "full_name": person, "email": email, "phone": phone},
		"Marketing.Loyalty Members": {
			"Member ID": none, "customerId": none, "Full Name": person, "EMail Address": email,
			"Tier": none, "Points Balance": none, "Joined On": date,
		},
		"Marketing.Gold Members": {"Member ID": none, "Full Name": person, "EMail Address": email},
	}
	scorer := MustCompile(DefaultFramework(), nil)
	if len(tables) != len(want) {
		t.Fatalf("%d tables, want %d", len(tables), len(want))
	}
	for _, table := range tables {
		key := table.Schema + "." + table.Name
		wantCols, ok := want[key]
		if !ok {
			t.Errorf("unexpected table %s", key)
			continue
		}
		cols := columnsOf(t, src, table, connector.DefaultSampleSize)
		if len(cols) != len(wantCols) {
			t.Errorf("%s: %d columns, want %d", key, len(cols), len(wantCols))
		}
		for _, r := range scorer.ScoreAll(cols) {
			wantTags, ok := wantCols[r.Column]
			if !ok {
				t.Errorf("%s: unexpected column %q", key, r.Column)
				continue
			}
			if !slices.Equal(r.Tags, wantTags) {
				t.Errorf("%s.%s: tags %q, want %q (matches %+v)", key, r.Column, r.Tags, wantTags, r.Matches)
			}
		}
	}
}

// TestSmallSamplesStayCorrect scores the customers table from ten rows.
func TestSmallSamplesStayCorrect(t *testing.T) {
	src := openSample(t)
	tables, err := src.LookupTables(context.Background(), []connector.TableRef{{Schema: sample.Shop, Name: "customers"}})
	if err != nil {
		t.Fatal(err)
	}
	scorer := MustCompile(DefaultFramework(), nil)
	for _, r := range scorer.ScoreAll(columnsOf(t, src, tables[0], 10)) {
		switch r.Column {
		case "customer_id", "city", "loyalty_points":
			if len(r.Tags) != 0 {
				t.Errorf("%s tagged %q", r.Column, r.Tags)
			}
		default:
			if len(r.Tags) == 0 {
				t.Errorf("%s not tagged from ten rows", r.Column)
			}
		}
	}
}
