// Package resource holds what the V2 resource commands (datasource,
// policy, project, purpose) share: saving a document file, listing keys,
// renaming and deleting by key.
package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
)

// Kind describes one V2 resource and its endpoints.
type Kind struct {
	Doc         payload.Kind // the kind of document its files hold
	Path        string       // collection path, e.g. /api/v2/policy
	KeyField    string       // field naming a document, e.g. policyKey
	RenameField string       // body field of a rename, e.g. newPolicyKey
}

// Item is the path of one resource.
func (k Kind) Item(key string, rest ...string) string {
	return k.Path + client.Path(append([]string{key}, rest...)...)
}

// Flags builds query parameters from boolean flags that are set.
func Flags(pairs ...any) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if on, _ := pairs[i+1].(bool); on {
			q.Set(pairs[i].(string), "true")
		}
	}
	return q
}

// Save loads a document file of the kind, checks it, and posts it. The
// answer is printed on one line. progress, when not empty, is shown on a
// terminal while the request runs.
func Save(ctx context.Context, f *cmdutil.Factory, k Kind, file string, query url.Values, progress string) error {
	doc, err := payload.LoadV2(file, k.Doc, f.IO.In, f.IO.Getenv)
	if err != nil {
		return cmdutil.Usagef("%v", err)
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	if progress != "" {
		p := f.IO.StartProgress(progress)
		defer p.Stop()
	}
	body, err := c.JSON(ctx, http.MethodPost, k.Path, query, json.RawMessage(doc.JSON()), nil)
	if err != nil {
		return err
	}
	return cmdutil.WriteJSONLine(f.IO.Out, body)
}

// List prints the value of field of every element of the array at path,
// one per line (elements that are strings are printed as they are), or
// the whole answer as JSON when verbose.
func List(ctx context.Context, f *cmdutil.Factory, path, field string, verbose bool) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	var items []json.RawMessage
	body, err := c.JSON(ctx, http.MethodGet, path, nil, nil, &items)
	if err != nil {
		return err
	}
	if verbose {
		return cmdutil.WriteJSONIndented(f.IO.Out, body)
	}
	for _, raw := range items {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			var obj map[string]any
			if err := json.Unmarshal(raw, &obj); err != nil {
				return fmt.Errorf("the server listed something that is neither a name nor an object: %s", raw)
			}
			s, _ = obj[field].(string)
		}
		if _, err := fmt.Fprintln(f.IO.Out, s); err != nil {
			return err
		}
	}
	return nil
}

// Rename renames a resource and prints the answer on one line.
func Rename(ctx context.Context, f *cmdutil.Factory, k Kind, oldKey, newKey string) error {
	if newKey == "" {
		return cmdutil.ArgErrorf("the new key is empty")
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	body, err := c.JSON(ctx, http.MethodPost, k.Item(oldKey, "rename"), nil, map[string]string{k.RenameField: newKey}, nil)
	if err != nil {
		return err
	}
	return cmdutil.WriteJSONLine(f.IO.Out, body)
}

// Delete deletes a resource and prints the answer on one line.
func Delete(ctx context.Context, f *cmdutil.Factory, k Kind, key string, query url.Values) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	body, err := c.JSON(ctx, http.MethodDelete, k.Item(key), query, nil, nil)
	if err != nil {
		return err
	}
	return cmdutil.WriteJSONLine(f.IO.Out, body)
}
