package payload

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Kind is the kind of V2 document a file holds.
type Kind string

const (
	DataSource Kind = "data source"
	Policy     Kind = "policy"
	Project    Kind = "project"
	Purpose    Kind = "purpose"
)

// Command is the custos command group that saves documents of the kind.
func (k Kind) Command() string {
	switch k {
	case DataSource:
		return "datasource"
	default:
		return string(k)
	}
}

// keyFields are the fields that identify each kind.
var keyFields = []struct {
	field string
	kind  Kind
}{{"connectionKey", DataSource}, {"policyKey", Policy}, {"projectKey", Project}}

// purposeFields are every field a purpose document may have.
var purposeFields = map[string]bool{"name": true, "acknowledgement": true, "description": true,
	"kAnonNoiseReduction": true, "subpurposes": true}

// DetectKind recognises a document by its keys: connectionKey is a data
// source, policyKey a policy, projectKey a project, and a name with only
// purpose fields (acknowledgement, description, ...) a purpose.
func DetectKind(doc map[string]any) (Kind, error) {
	var found []string
	var kind Kind
	for _, k := range keyFields {
		if _, ok := doc[k.field]; ok {
			found = append(found, k.field)
			kind = k.kind
		}
	}
	switch len(found) {
	case 1:
		return kind, nil
	case 0:
	default:
		return "", fmt.Errorf("the document has both %s; it can only be one kind of document", strings.Join(found, " and "))
	}
	if _, ok := doc["name"]; ok {
		var extra []string
		for k := range doc {
			if !purposeFields[k] {
				extra = append(extra, k)
			}
		}
		if len(extra) == 0 {
			return Purpose, nil
		}
		sort.Strings(extra)
		return "", fmt.Errorf("the document is not a data source, policy, project or purpose: it has no connectionKey, policyKey or projectKey, and a purpose has no %s", strings.Join(extra, ", "))
	}
	return "", fmt.Errorf("the document is not a data source, policy, project or purpose: it has none of connectionKey, policyKey, projectKey or name")
}

// LoadV2 loads a V2 document and checks that it is of kind want.
// The kind is checked before placeholders are resolved.
func LoadV2(path string, want Kind, stdin io.Reader, env Env) (*Document, error) {
	doc, err := Read(path, stdin)
	if err != nil {
		return nil, err
	}
	got, err := DetectKind(doc.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if got != want {
		return nil, fmt.Errorf("%s is a %s document, not a %s: save it with `custos %s save`", path, got, want, got.Command())
	}
	if err := doc.Resolve(env); err != nil {
		return nil, err
	}
	if got == DataSource {
		numericPort(doc.Data)
	}
	return doc, nil
}

// numericPort sends a connection's port given as digits, as a placeholder
// yields it ('{{EnvVar "PGPORT"}}'), as the number the API takes.
func numericPort(doc map[string]any) {
	conn, ok := doc["connection"].(map[string]any)
	if !ok {
		return
	}
	if s, ok := conn["port"].(string); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 {
			conn["port"] = n
		}
	}
}
