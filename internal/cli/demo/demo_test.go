package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/pgcluster"
)

// TestDemo runs the whole demo and checks what it shows: alice's rows masked
// and filtered, bob's not, the write policy, carol's writes bound by her row
// filter and the masks, and that nothing is left.
func TestDemo(t *testing.T) {
	if _, err := pgcluster.BinDir(); errors.Is(err, pgcluster.ErrNotInstalled) {
		if os.Getenv("CUSTOS_REQUIRE_POSTGRES") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"*****@",                             // alice's e-mails
		"**** ",                              // alice's card numbers
		"customers in all, from 2 countries", // alice's row filter
		"(300 customers in all, from 7 countries)",
		"alice INSERT INTO shop.products ...  -> ERROR: permission denied",
		"bob   INSERT INTO shop.products ...  -> 1 row inserted",
		"alice SELECT * FROM shop.customers   -> ERROR: permission denied",
		"(a French customer)\n     -> 1 row(s) changed",
		"(an American one)\n     -> 0 row(s) changed",
		"(SSNs are masked for her)\n     -> ERROR: permission denied for table customers",
		`(out of her rows)` + "\n" + `     -> ERROR: new row violates row-level security policy "custos_writer_carol" for table "customers"`,
		"after: the hidden row is untouched",
		"Cleaned up",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the output lacks %q:\n%s", want, text)
		}
	}
	i := strings.Index(text, "files in ")
	dir := strings.Fields(text[i+len("files in "):])[0]
	if _, err := os.Stat(filepath.Clean(dir)); !os.IsNotExist(err) {
		t.Errorf("%s is left behind", dir)
	}
}
