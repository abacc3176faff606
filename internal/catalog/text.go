package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/errs"
)

// checkText reports, as 422s naming their fields, the strings of a payload
// that hold a NUL character: PostgreSQL keeps no such text (a store error)
// and SQLite would keep what no database can be asked for. Fields are named
// as the payload's JSON form names them, under field ("" for the top).
func checkText(field string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return nil
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	var l errs.List
	if field == "" {
		field = "body"
		if m, ok := doc.(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				nulText(&l, k, m[k])
			}
			return l.Err()
		}
	}
	nulText(&l, field, doc)
	return l.Err()
}

// addText appends checkText's problems to l; other failures are returned.
func addText(l *errs.List, field string, v any) error {
	err := checkText(field, v)
	if errs.Is(err, errs.Invalid) {
		*l = append(*l, errs.As(err).Fields...)
		return nil
	}
	return err
}

func nulText(l *errs.List, at string, v any) {
	join := func(key string) string {
		if at == "" {
			return key
		}
		return at + "." + key
	}
	switch x := v.(type) {
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			l.Add(at, errs.CodeInvalid, "%s must not contain NUL characters", at)
		}
	case []any:
		for i, e := range x {
			nulText(l, fmt.Sprintf("%s[%d]", at, i), e)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if strings.IndexByte(k, 0) >= 0 {
				l.Add(at, errs.CodeInvalid, "%s has a field name with a NUL character", at)
				continue
			}
			nulText(l, join(k), x[k])
		}
	}
}
