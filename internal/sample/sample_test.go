package sample

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func TestLoadCreatesEveryTableWithItsRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	if err := Load(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for table, want := range map[string]int{
		`shop.customers`:                Customers,
		`shop.products`:                 Products,
		`shop.orders`:                   Orders,
		`"Marketing"."Loyalty Members"`: LoyaltyMembers,
		`shop.customer_contacts`:        Customers,
	} {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}
	var gold int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM "Marketing"."Gold Members"`).Scan(&gold); err != nil || gold == 0 {
		t.Errorf("Gold Members: %d rows, %v", gold, err)
	}
	// The column the documentation promises with its exact spelling.
	var email string
	if err := conn.QueryRow(ctx, `SELECT "EMail Address" FROM "Marketing"."Loyalty Members" WHERE "Member ID" = 1`).Scan(&email); err != nil || !strings.Contains(email, "@") {
		t.Errorf("EMail Address = %q, %v", email, err)
	}
	// A second load into the same database fails and changes nothing.
	if err := Load(ctx, dsn); err == nil {
		t.Error("loading twice must fail")
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := generate(), generate()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generations differ")
	}
}

func TestGeneratedValuesPassTheirChecks(t *testing.T) {
	d := generate()
	for _, row := range d.customers {
		card := strings.NewReplacer(" ", "", "-", "").Replace(row[5].(string))
		if luhnCheckDigit(card[:len(card)-1]) != int(card[len(card)-1]-'0') {
			t.Errorf("card %q fails Luhn", row[5])
		}
		iban := strings.ReplaceAll(row[16].(string), " ", "")
		if mod97(iban[4:]+iban[:4]) != 1 {
			t.Errorf("IBAN %q fails mod-97", row[16])
		}
	}
	for _, row := range d.orders {
		if tn, ok := row[6].(string); ok && luhnCheckDigit(tn[:len(tn)-1]) == int(tn[len(tn)-1]-'0') {
			t.Errorf("tracking number %q passes Luhn", tn)
		}
	}
}
