package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// BenchmarkCurrentUser measures an authenticated GET /bim/rpc/user/current
// through the whole HTTP stack (listener, routing, authentication, store).
func BenchmarkCurrentUser(b *testing.B) {
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		b.Run(string(backend), func(b *testing.B) {
			env := servertest.New(b, backend)
			req, _ := http.NewRequest("GET", env.URL+"/bim/rpc/user/current", nil)
			req.Header.Set("Authorization", servertest.AdminKey)
			b.ResetTimer()
			for b.Loop() {
				resp, err := env.Client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkUserSearch measures GET /bim/user with a name filter over 10,000 users.
func BenchmarkUserSearch(b *testing.B) {
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		b.Run(string(backend), func(b *testing.B) {
			env := servertest.New(b, backend)
			ctx := context.Background()
			err := env.App.DB.InTx(ctx, func(tx *store.Tx) error {
				now := store.Now()
				for i := 0; i < 10000; i++ {
					u := &store.User{IAMID: "bim", UserID: fmt.Sprintf("user%05d@example.com", i),
						Name: fmt.Sprintf("User %05d", i), Email: fmt.Sprintf("user%05d@example.com", i), CreatedAt: now, UpdatedAt: now}
					if err := tx.CreateUser(ctx, u); err != nil {
						return err
					}
					if err := tx.AddAttribute(ctx, store.ModelUser, u.ID, "Department", fmt.Sprint(i%20)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			req, _ := http.NewRequest("GET", env.URL+"/bim/user?name=user%200&size=25&sortField=name", nil)
			req.Header.Set("Authorization", servertest.AdminKey)
			b.ResetTimer()
			for b.Loop() {
				resp, err := env.Client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				resp.Body.Close()
			}
		})
	}
}
