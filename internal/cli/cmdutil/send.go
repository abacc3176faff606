package cmdutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// Send makes a change and prints the answer as the write commands do: one
// line of JSON, or done when the server answers nothing.
func Send(ctx context.Context, f *Factory, method, path string, query url.Values, body any, done string) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	resp, err := c.JSON(ctx, method, path, query, body, nil)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(resp)) == 0 {
		if done != "" {
			_, err = fmt.Fprintln(f.IO.Out, done)
		}
		return err
	}
	return WriteJSONLine(f.IO.Out, resp)
}

// Show reads one object and prints it in the chosen output (indented JSON
// by default).
func Show(ctx context.Context, f *Factory, out *Output, path string, query url.Values) error {
	if err := out.Check(); err != nil {
		return err
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	resp, err := c.JSON(ctx, "GET", path, query, nil, nil)
	if err != nil {
		return err
	}
	return out.Write(f.IO.Out, resp)
}

// ListNames reads a list and prints field of each item, one per line, or
// the whole answer indented when verbose. The list is the answer itself or,
// when under is not empty, the answer's field of that name ({"hits": [...]}).
func ListNames(ctx context.Context, f *Factory, path string, query url.Values, under, field string, verbose bool) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	resp, err := c.JSON(ctx, "GET", path, query, nil, nil)
	if err != nil {
		return err
	}
	if verbose {
		return WriteJSONIndented(f.IO.Out, resp)
	}
	names, err := Names(resp, under, field)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := fmt.Fprintln(f.IO.Out, n); err != nil {
			return err
		}
	}
	return nil
}

// Names picks field of each item of a list answer (see ListNames); items
// that are strings are names themselves.
func Names(body []byte, under, field string) ([]string, error) {
	var items []json.RawMessage
	if under != "" {
		var page map[string]json.RawMessage
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("the answer is not an object with %s: %s", under, body)
		}
		body = page[under]
	}
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("the answer is not a list: %s", body)
	}
	out := make([]string, 0, len(items))
	for _, raw := range items {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("the server listed something that is neither a name nor an object: %s", raw)
		}
		switch v := obj[field].(type) {
		case string:
			out = append(out, v)
		case float64:
			out = append(out, fmt.Sprint(int64(v)))
		}
	}
	return out, nil
}

// CompleteFrom completes a command's first argument with names the server
// lists (see ListNames); a server that cannot be asked completes nothing.
func CompleteFrom(f *Factory, path string, query url.Values, under, field string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		resp, err := c.JSON(cmd.Context(), "GET", path, query, nil, nil)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, _ := Names(resp, under, field)
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
