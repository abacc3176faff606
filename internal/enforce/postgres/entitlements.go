package postgres

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// row is an entitlements row in comparable form.
type row struct {
	UserID     int64
	Username   string
	IAM        string
	Groups     []string
	Attributes map[string][]string
	// OwnGroups and OwnAttributes are the user's own; the same as Groups
	// and Attributes when no equalized project limits them.
	OwnGroups     []string
	OwnAttributes map[string][]string
	Purposes      []string
	Acting        []string
}

func sorted(in []string) []string {
	out := append([]string{}, in...)
	sort.Strings(out)
	// drop duplicates
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}

// acting lists the purposes a user acts under with their ancestors: acting
// under "A.B" is acting under "A" too.
func acting(purposes []string) []string {
	var out []string
	for _, p := range purposes {
		for {
			out = append(out, p)
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
		}
	}
	return sorted(out)
}

func attributesOf(in map[string][]string) map[string][]string {
	out := map[string][]string{}
	for n, vs := range in {
		if len(vs) > 0 {
			out[n] = sorted(vs)
		}
	}
	return out
}

func rowOf(e Entitlement) row {
	r := row{UserID: e.UserID, Username: e.Username, IAM: e.IAM, Groups: sorted(e.Groups), Attributes: attributesOf(e.Attributes),
		Purposes: sorted(e.Purposes), Acting: acting(e.Purposes)}
	r.OwnGroups, r.OwnAttributes = r.Groups, r.Attributes
	if e.OwnGroups != nil || e.OwnAttributes != nil {
		r.OwnGroups, r.OwnAttributes = sorted(e.OwnGroups), attributesOf(e.OwnAttributes)
	}
	return r
}

// entitlements makes the entitlements table hold exactly the desired rows.
func (rc *run) entitlements() error {
	want := map[string]row{}
	for _, e := range rc.want.Entitlements {
		want[e.Role] = rowOf(e)
	}
	rows, err := rc.conn.Query(rc.ctx, `SELECT role_name::text, user_id, username, iam, groups, attributes, own_groups, own_attributes, purposes, acting FROM `+rc.sys.Table("entitlements"))
	if err != nil {
		return fmt.Errorf("read entitlements: %w", err)
	}
	have := map[string]row{}
	for rows.Next() {
		var role string
		var r row
		var attrs, ownAttrs []byte
		if err := rows.Scan(&role, &r.UserID, &r.Username, &r.IAM, &r.Groups, &attrs, &r.OwnGroups, &ownAttrs, &r.Purposes, &r.Acting); err != nil {
			rows.Close()
			return err
		}
		r.Attributes, r.OwnAttributes = map[string][]string{}, map[string][]string{}
		if err := json.Unmarshal(attrs, &r.Attributes); err != nil {
			r.Attributes = nil // malformed by hand: rewrite it
		}
		if err := json.Unmarshal(ownAttrs, &r.OwnAttributes); err != nil {
			r.OwnAttributes = nil
		}
		have[role] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var upsert, remove []string
	for role, r := range want {
		h, ok := have[role]
		if !ok || !sameRow(h, r) {
			upsert = append(upsert, role)
		}
	}
	for role := range have {
		if _, ok := want[role]; !ok {
			remove = append(remove, role)
		}
	}
	if len(upsert) == 0 && len(remove) == 0 {
		return nil
	}
	sort.Strings(upsert)
	sort.Strings(remove)
	err = rc.tx(func(tx pgx.Tx) error {
		for _, role := range upsert {
			r := want[role]
			attrs, err := json.Marshal(r.Attributes)
			if err != nil {
				return err
			}
			ownAttrs, err := json.Marshal(r.OwnAttributes)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(rc.ctx, `INSERT INTO `+rc.sys.Table("entitlements")+` (role_name, user_id, username, iam, groups, attributes, own_groups, own_attributes, purposes, acting, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9, $10, pg_catalog.now())
				ON CONFLICT (role_name) DO UPDATE SET user_id = EXCLUDED.user_id, username = EXCLUDED.username, iam = EXCLUDED.iam,
				groups = EXCLUDED.groups, attributes = EXCLUDED.attributes, own_groups = EXCLUDED.own_groups,
				own_attributes = EXCLUDED.own_attributes, purposes = EXCLUDED.purposes, acting = EXCLUDED.acting,
				updated_at = EXCLUDED.updated_at`,
				role, r.UserID, r.Username, r.IAM, r.Groups, string(attrs), r.OwnGroups, string(ownAttrs), r.Purposes, r.Acting); err != nil {
				return fmt.Errorf("write the entitlements of %q: %w", role, err)
			}
		}
		if len(remove) > 0 {
			if _, err := tx.Exec(rc.ctx, `DELETE FROM `+rc.sys.Table("entitlements")+` WHERE role_name = ANY ($1::text[])`, remove); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, role := range upsert {
		rc.change("wrote the entitlements of role %s", role)
	}
	for _, role := range remove {
		rc.change("removed the entitlements of role %s", role)
	}
	return nil
}

func sameRow(a, b row) bool {
	norm := func(r row) row {
		for _, p := range []*[]string{&r.Groups, &r.OwnGroups, &r.Purposes, &r.Acting} {
			if *p == nil {
				*p = []string{}
			}
		}
		for _, m := range []*map[string][]string{&r.Attributes, &r.OwnAttributes} {
			if *m == nil {
				*m = map[string][]string{}
			}
		}
		return r
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
