package governance

import (
	"slices"
	"testing"

	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// A renamed tag re-plans the data sources tagged below it, whatever
// characters its name holds.
func TestSourcesTaggedBelowANonASCIIName(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.InTx(ctx, func(tx *store.Tx) error {
		tag, err := tags.Ensure(ctx, &tx.Queries, "Données.Santé", nil, false, store.Now())
		if err != nil {
			return err
		}
		_, err = tx.AttachTag(ctx, &store.ModelTag{ModelType: "datasource", ModelID: "7", Tag: tag, Source: "curated",
			Context: "manual", CreatedAt: store.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sourcesTagged(ctx, &db.Queries, "Données")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []int64{7}) {
		t.Fatalf("data sources tagged below Données: %v, want [7]", ids)
	}
}
