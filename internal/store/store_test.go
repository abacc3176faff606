package store_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// eachBackend runs the test on a fresh SQLite store and a fresh PostgreSQL store.
func eachBackend(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := store.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db, err := store.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, db)
	})
}

func newUser(t *testing.T, q *store.Queries, userid, name string) *store.User {
	t.Helper()
	now := store.Now()
	u := &store.User{IAMID: "bim", UserID: userid, Name: name, Email: userid, CreatedAt: now, UpdatedAt: now}
	if err := q.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsersRoundTripAndSearch(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		phone := "555"
		now := store.Now()
		u := &store.User{IAMID: "bim", UserID: "ada@example.com", Name: "Ada Lovelace", Email: "ada@example.com",
			Phone: &phone, Preferences: store.JSON(`{"a":1}`), CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != u.UserID || *got.Phone != "555" || !got.CreatedAt.Equal(now) || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("round trip: %+v", got)
		}
		if string(got.Preferences) != `{"a":1}` && string(got.Preferences) != `{"a": 1}` {
			t.Fatalf("preferences: %s", got.Preferences)
		}
		if got.About != nil || got.LastLogin != nil {
			t.Fatal("NULL columns must scan as nil")
		}
		dup := &store.User{IAMID: "bim", UserID: "ada@example.com", CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(ctx, dup); !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate user: %v", err)
		}
		newUser(t, &db.Queries, "bob@example.com", "Bob 100%_Sure")
		newUser(t, &db.Queries, "carol@example.com", "Carol")
		if err := db.SetUserPermissions(ctx, u.ID, []string{"USER_ADMIN", "AUDIT"}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			f    store.UserFilter
			want []string
		}{
			{store.UserFilter{Size: 10}, []string{"ada@example.com", "bob@example.com", "carol@example.com"}},
			{store.UserFilter{Size: 10, Descending: true}, []string{"carol@example.com", "bob@example.com", "ada@example.com"}},
			{store.UserFilter{Name: "ADA", Size: 10}, []string{"ada@example.com"}},
			{store.UserFilter{Name: "100%_", Size: 10}, []string{"bob@example.com"}},
			{store.UserFilter{Name: "0%s", Size: 10}, nil},
			{store.UserFilter{Permission: "AUDIT", Size: 10}, []string{"ada@example.com"}},
			{store.UserFilter{Size: 1, Offset: 1}, []string{"bob@example.com"}},
		}
		for _, c := range cases {
			users, total, err := db.SearchUsers(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, u := range users {
				ids = append(ids, u.UserID)
			}
			if len(ids) != len(c.want) {
				t.Fatalf("%+v: got %v want %v", c.f, ids, c.want)
			}
			for i := range ids {
				if ids[i] != c.want[i] {
					t.Fatalf("%+v: got %v want %v", c.f, ids, c.want)
				}
			}
			if c.f.Offset == 0 && c.f.Size > len(c.want) && total != len(c.want) {
				t.Fatalf("%+v: total %d", c.f, total)
			}
		}
		perms, _ := db.UserPermissions(ctx, u.ID)
		if len(perms[u.ID]) != 2 || perms[u.ID][0] != "AUDIT" {
			t.Fatalf("permissions: %v", perms)
		}
	})
}

func TestGroupsMembersAttributes(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := newUser(t, &db.Queries, "u1", "User One")
		now := store.Now()
		g := &store.Group{IAMID: "bim", Name: "HR", CreatedAt: now, UpdatedAt: now}
		if err := db.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		m := &store.Membership{GroupID: g.ID, UserID: u.ID, CreatedAt: now, UpdatedAt: now}
		if err := db.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
		again := &store.Membership{GroupID: g.ID, UserID: u.ID, CreatedAt: now, UpdatedAt: now}
		if err := db.AddMember(ctx, again); err != nil || again.ID != m.ID {
			t.Fatalf("re-adding a member: %v %d %d", err, again.ID, m.ID)
		}
		groups, err := db.GroupsOfUsers(ctx, u.ID)
		if err != nil || len(groups[u.ID]) != 1 || groups[u.ID][0].Group.Name != "HR" {
			t.Fatalf("groups of user: %v %v", groups, err)
		}
		members, total, err := db.GroupMembers(ctx, g.ID, false, 0, 10)
		if err != nil || total != 1 || members[0].User.UserID != "u1" {
			t.Fatalf("members: %v %d %v", members, total, err)
		}
		for _, v := range []string{"CFA", "Red Team", "CFA"} {
			if err := db.AddAttribute(ctx, store.ModelUser, u.ID, "Finance", v); err != nil {
				t.Fatal(err)
			}
		}
		attrs, _ := db.AttributesOf(ctx, store.ModelUser, u.ID)
		if got := attrs[u.ID]["Finance"]; len(got) != 2 || got[0] != "CFA" || got[1] != "Red Team" {
			t.Fatalf("attributes: %v", attrs)
		}
		if ok, _ := db.RemoveAttribute(ctx, store.ModelUser, u.ID, "Finance", "CFA"); !ok {
			t.Fatal("remove existing value")
		}
		if ok, _ := db.RemoveAttribute(ctx, store.ModelUser, u.ID, "Finance", "nope"); ok {
			t.Fatal("remove missing value")
		}
		if err := db.DeleteGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetMembership(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("membership must go with its group: %v", err)
		}
	})
}

func TestCredentialsAndTransactions(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := newUser(t, &db.Queries, "u1", "User One")
		now := store.Now()
		k := &store.APIKey{UserID: u.ID, KeyHash: "h1", CreatedAt: now}
		if err := db.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		tok := &store.Token{TokenHash: "t1", UserID: u.ID, APIKeyID: &k.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got, err := db.GetTokenByHash(ctx, "t1"); err != nil || got.UserID != u.ID || *got.APIKeyID != k.ID {
			t.Fatalf("token: %+v %v", got, err)
		}
		revoked, err := db.DeleteAPIKey(ctx, k.ID)
		if err != nil || revoked != 1 {
			t.Fatalf("revoke: %d %v", revoked, err)
		}
		if _, err := db.GetTokenByHash(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("tokens of a deleted key must be gone")
		}
		// A failed transaction leaves nothing behind.
		boom := errors.New("boom")
		err = db.InTx(ctx, func(tx *store.Tx) error {
			newUser(t, &tx.Queries, "ghost", "Ghost")
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := db.GetUserByName(ctx, "bim", "ghost"); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("rolled back user is visible")
		}
	})
}

func TestTagsAndAudit(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := store.Now()
		for _, n := range []string{"PII", "PII.SSN", "PII.Email", "PIIX", "Finance"} {
			if err := db.CreateTag(ctx, &store.Tag{Name: n, Source: "curated", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		desc, err := db.TagDescendants(ctx, "PII")
		if err != nil || len(desc) != 2 || desc[0].Name != "PII.Email" {
			t.Fatalf("descendants: %v %v", desc, err)
		}
		found, _ := db.SearchTags(ctx, store.TagFilter{SearchText: "pii", ExcludedHierarchies: []string{"PII"}})
		if len(found) != 1 || found[0].Name != "PIIX" {
			t.Fatalf("search: %v", found)
		}
		ssn, _ := db.GetTagByName(ctx, "PII.SSN")
		if ok, err := db.AttachTag(ctx, &store.ModelTag{ModelType: "project", ModelID: "7", Tag: ssn, Source: "curated",
			Context: "manual", CreatedAt: now}); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if ok, _ := db.AttachTag(ctx, &store.ModelTag{ModelType: "project", ModelID: "7", Tag: ssn, Source: "curated",
			Context: "manual", CreatedAt: now}); ok {
			t.Fatal("attaching twice must report no change")
		}
		tags, _ := db.TagsOfModels(ctx, "project", []string{"7"})
		if len(tags["7"]) != 1 || tags["7"][0].Tag.Name != "PII.SSN" {
			t.Fatalf("model tags: %v", tags)
		}
		for i, typ := range []string{"authenticate", "userCreate", "authenticate"} {
			pid := int64(i)
			r := &store.AuditRecord{ID: string(rune('a' + i)), DateTime: now.Add(time.Duration(i) * time.Second),
				RecordType: typ, Success: i != 2, ProfileID: &pid, Details: store.JSON(`{"k":"v"}`)}
			if err := db.InsertAudit(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		recs, total, err := db.SearchAudit(ctx, store.AuditFilter{RecordTypes: []string{"authenticate"}, Descending: true, Size: 10})
		if err != nil || total != 2 || recs[0].ID != "c" || recs[0].Success {
			t.Fatalf("audit search: %v %d %v", recs, total, err)
		}
		yes := true
		_, total, _ = db.SearchAudit(ctx, store.AuditFilter{Success: &yes, Size: 10})
		if total != 2 {
			t.Fatalf("success filter: %d", total)
		}
	})
}

func TestCatalogTables(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := store.Now()
		host, key := "db.example.com", "pg-main"
		c := &store.Connection{ConnectionKey: key, Technology: "PostgreSQL", Hostname: &host, Config: store.JSON(`{"port":5432}`),
			CreatedAt: now, UpdatedAt: now}
		if err := db.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateConnection(ctx, &store.Connection{ConnectionKey: key, Technology: "x", Config: store.JSON(`{}`),
			CreatedAt: now, UpdatedAt: now}); !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate connection key: %v", err)
		}
		schema, table := "app", "Customers"
		d := &store.DataSource{Name: "App Customers", ConnectionID: &c.ID, Technology: "PostgreSQL", RemoteSchema: &schema,
			RemoteTable: &table, RemoteKind: "table", Status: store.DataSourceEnabled, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateDataSource(ctx, d); err != nil {
			t.Fatal(err)
		}
		cols := []store.Column{
			{Name: "id", Position: 1, DataType: "integer", PrimaryKey: true, CreatedAt: now, UpdatedAt: now},
			{Name: "e_mail", Position: 2, DataType: "text", Nullable: true, CreatedAt: now, UpdatedAt: now},
		}
		if err := db.ReplaceColumns(ctx, d.ID, cols); err != nil {
			t.Fatal(err)
		}
		got, _ := db.ColumnsOf(ctx, d.ID)
		if len(got[d.ID]) != 2 || got[d.ID][1].Name != "e_mail" || !got[d.ID][0].PrimaryKey {
			t.Fatalf("columns: %+v", got)
		}
		if ds, name, ok := store.ParseColumnModelID(store.ColumnModelID(d.ID, "e_mail")); !ok || ds != d.ID || name != "e_mail" {
			t.Fatalf("column model id: %d %q %v", ds, name, ok)
		}
		u := newUser(t, &db.Queries, "owner", "Owner")
		a := &store.Access{DataSourceID: d.ID, ModelType: "user", ModelID: u.ID, State: store.AccessOwner, AccessGrant: store.GrantWrite,
			CreatedAt: now, UpdatedAt: now}
		if err := db.PutAccess(ctx, a); err != nil {
			t.Fatal(err)
		}
		past := now.Add(-time.Hour)
		again := &store.Access{DataSourceID: d.ID, ModelType: "user", ModelID: u.ID, State: store.AccessSubscribed,
			AccessGrant: store.GrantRead, Expiration: &past, CreatedAt: now, UpdatedAt: now}
		if err := db.PutAccess(ctx, again); err != nil || again.ID != a.ID {
			t.Fatalf("replacing access keeps its id: %v %d %d", err, again.ID, a.ID)
		}
		list, _ := db.AccessToDataSource(ctx, d.ID, store.AccessSubscribed)
		if len(list) != 1 || list[0].Active(now) {
			t.Fatalf("an expired subscription must not be active: %+v", list)
		}
		// Deleting a data source removes its columns, access and tags.
		tag := &store.Tag{Name: "PII", Source: "curated", CreatedAt: now, UpdatedAt: now}
		db.CreateTag(ctx, tag)
		db.AttachTag(ctx, &store.ModelTag{ModelType: "column", ModelID: store.ColumnModelID(d.ID, "e_mail"), Tag: tag,
			Source: "curated", Context: "manual", CreatedAt: now})
		if err := db.DeleteDataSource(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		left, _ := db.TagsOfModels(ctx, "column", []string{store.ColumnModelID(d.ID, "e_mail")})
		cols2, _ := db.ColumnsOf(ctx, d.ID)
		acc, _ := db.AccessToDataSource(ctx, d.ID)
		if len(left) != 0 || len(cols2) != 0 || len(acc) != 0 {
			t.Fatalf("leftovers: tags %v columns %v access %v", left, cols2, acc)
		}
	})
}
