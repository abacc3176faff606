package governance

import (
	"context"
	"fmt"
	"sort"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// TagsInUse tells which of tags the global policies (staged ones and
// templates included) and the data sources' own policies name, mapping each
// named tag to the policies naming it (as `policy "name"` or `the policy
// of data source "name"`). It reads through q, so a tag change
// sees the policies of its own transaction.
func (s *Service) TagsInUse(ctx context.Context, q *store.Queries, tags []string) (map[string][]string, error) {
	want := map[string]bool{}
	for _, t := range tags {
		want[t] = true
	}
	out := map[string][]string{}
	note := func(refs policy.References, by string) {
		for _, t := range refs.Tags {
			if want[t] {
				out[t] = append(out[t], by)
			}
		}
	}
	sps, err := allPolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, sp := range sps {
		p, err := decodeStored(sp)
		if err != nil {
			continue // a document that no longer decodes names nothing the engine uses
		}
		note(p.References(), fmt.Sprintf("policy %q", sp.Name))
	}
	rows, err := q.Query(ctx, `SELECT h.json_policies, d.name FROM policy_handlers h JOIN data_sources d ON d.id = h.data_source_id
		WHERE h.id IN (SELECT MAX(id) FROM policy_handlers GROUP BY data_source_id) ORDER BY h.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var doc []byte
		var name string
		if err := rows.Scan(&doc, &name); err != nil {
			return nil, err
		}
		lp, err := policy.DecodeStoredLocalV1(doc)
		if err != nil {
			continue // a handler that no longer decodes names nothing the engine uses
		}
		typ := policy.TypeData
		if len(lp.Data) == 0 {
			typ = policy.TypeSubscription
		}
		note((&policy.Policy{Type: typ, Data: lp.Data, Subscription: lp.Subscription}).References(),
			fmt.Sprintf("the policy of data source %q", name))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, by := range out {
		sort.Strings(by)
	}
	return out, nil
}
