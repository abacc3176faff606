package projects

import (
	"context"
	"fmt"
	"testing"

	"github.com/custosdata/custos/internal/store"
)

// BenchmarkActing measures the acting source the engine calls when it
// loads every user: 10,000 users, half of them acting under one of ten
// projects (through their own row or a group's) with two purposes
// acknowledged.
func BenchmarkActing(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const users = 10000
	ids := make([]int64, 0, users)
	err = db.InTx(ctx, func(tx *store.Tx) error {
		now := store.Now()
		var purposes []int64
		for i := 0; i < 2; i++ {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO purposes (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id`,
				fmt.Sprintf("P%d", i), now).Scan(&id); err != nil {
				return err
			}
			purposes = append(purposes, id)
		}
		var group int64
		if err := tx.QueryRow(ctx, `INSERT INTO groups (iamid, name, created_at, updated_at) VALUES ('bim', 'g', $1, $1) RETURNING id`,
			now).Scan(&group); err != nil {
			return err
		}
		var projects []int64
		for i := 0; i < 10; i++ {
			p := &Project{Key: fmt.Sprintf("p%d", i), Name: fmt.Sprintf("P%d", i), Status: "open", CreatedAt: now, UpdatedAt: now}
			if err := saveProject(ctx, &tx.Queries, p); err != nil {
				return err
			}
			_, added := planPurposes(purposeStates{}, purposes, nil, true)
			if err := writePurposes(ctx, &tx.Queries, p.ID, added, nil, now); err != nil {
				return err
			}
			if err := putMember(ctx, &tx.Queries, &Member{ProjectID: p.ID, ModelType: modelGroup, ModelID: group, State: stateSubscribed,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			projects = append(projects, p.ID)
		}
		for i := 0; i < users; i++ {
			u := &store.User{IAMID: "bim", UserID: fmt.Sprintf("u%d", i), CreatedAt: now, UpdatedAt: now}
			if i%2 == 0 {
				pid := projects[i%10]
				u.CurrentProjectID = &pid
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			ids = append(ids, u.ID)
			if u.CurrentProjectID == nil {
				continue
			}
			if i%4 == 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO group_members (group_id, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3)`,
					group, u.ID, now); err != nil {
					return err
				}
			} else if err := putMember(ctx, &tx.Queries, &Member{ProjectID: *u.CurrentProjectID, ModelType: modelUser, ModelID: u.ID,
				State: stateSubscribed, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			for _, p := range purposes {
				if _, err := tx.Exec(ctx, `INSERT INTO project_acknowledgements (project_id, user_id, purpose_id, version, acknowledged_at)
					VALUES ($1, $2, $3, 1, $4)`, *u.CurrentProjectID, u.ID, p, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	s := New(db, Options{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.Acting(ctx, &db.Queries, ids)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != users/2 || len(got[ids[0]].Purposes) != 2 {
			b.Fatalf("%d users act, the first under %v", len(got), got[ids[0]].Purposes)
		}
	}
}
