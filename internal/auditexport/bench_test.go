package auditexport_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// BenchmarkExportDue measures one export run of 1,000 new records to a
// local directory (read after the cursor, encode, write, move the cursor).
func BenchmarkExportDue(b *testing.B) {
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		b.Run(string(backend), func(b *testing.B) {
			env := servertest.New(b, backend)
			ctx := context.Background()
			id := env.Admin(b, 200, "POST", "/audit/exportConfig", map[string]any{"type": "local", "interval": "EVERY_HOUR",
				"endpointConfiguration": map[string]any{"directory": "bench"}}).Map(b)["id"].(string)
			const perRun = 1000
			at := time.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				at = at.Add(2 * time.Hour)
				err := env.App.DB.InTx(ctx, func(tx *store.Tx) error {
					for j := 0; j < perRun; j++ {
						action := fmt.Sprintf("bench %d", j)
						if err := tx.InsertAudit(ctx, &store.AuditRecord{ID: uuid.Must(uuid.NewV7()).String(),
							DateTime: at.Add(-time.Hour).UTC().Truncate(time.Millisecond), RecordType: "benchmark",
							Action: &action, Success: true}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := env.App.AuditExport.ExportDue(ctx, at); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st := env.Admin(b, 200, "GET", "/audit/exportConfig/"+id, nil).Map(b)["status"].(map[string]any)
			if st["state"] != "ok" || int(st["exportedRecords"].(float64)) < b.N*perRun {
				b.Fatalf("status: %v", st)
			}
			b.ReportMetric(float64(b.N*perRun)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
