package postgres

import "sort"

// acl maps a grantee ("public" for PUBLIC) to its privileges on an object.
type acl map[string]map[string]bool

func (a acl) add(grantee, priv string) {
	if a[grantee] == nil {
		a[grantee] = map[string]bool{}
	}
	a[grantee][priv] = true
}

func (a acl) has(grantee, priv string) bool { return a[grantee][priv] }

// privileges lists a grantee's privileges, sorted.
func (a acl) privileges(grantee string) []string {
	var out []string
	for p := range a[grantee] {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// grantees lists every grantee, sorted.
func (a acl) grantees() []string {
	var out []string
	for g := range a {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// colACL maps a grantee to its privileges on single columns: privilege ->
// column names.
type colACL map[string]map[string]map[string]bool

func (a colACL) add(grantee, priv, col string) {
	if a[grantee] == nil {
		a[grantee] = map[string]map[string]bool{}
	}
	if a[grantee][priv] == nil {
		a[grantee][priv] = map[string]bool{}
	}
	a[grantee][priv][col] = true
}

// columns lists the columns a grantee holds a privilege on, sorted.
func (a colACL) columns(grantee, priv string) []string {
	var out []string
	for c := range a[grantee][priv] {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
