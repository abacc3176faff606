package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	yaml "go.yaml.in/yaml/v2"
)

// Ordered is a JSON object that keeps the order of its keys, so that a
// document written to YAML reads the way the server wrote it.
type Ordered = yaml.MapSlice

// DecodeOrdered parses JSON keeping object key order: objects become
// Ordered, arrays []any, numbers int64 or float64.
func DecodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := Ordered{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, yaml.MapItem{Key: kt.(string), Value: v})
			}
			_, err := dec.Token()
			return obj, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return n, nil
		}
		return t.Float64()
	}
	return tok, nil
}

// Get returns the value of key in o.
func Get(o Ordered, key string) (any, bool) {
	for _, it := range o {
		if it.Key == key {
			return it.Value, true
		}
	}
	return nil, false
}

// Set replaces the value of key in o, appending it when missing.
func Set(o Ordered, key string, v any) Ordered {
	for i, it := range o {
		if it.Key == key {
			o[i].Value = v
			return o
		}
	}
	return append(o, yaml.MapItem{Key: key, Value: v})
}

// ToYAML writes a value from DecodeOrdered as YAML.
func ToYAML(v any) ([]byte, error) {
	return yaml.Marshal(v)
}

// JSONToYAML converts a JSON document to YAML, keeping key order.
func JSONToYAML(data []byte) ([]byte, error) {
	v, err := DecodeOrdered(data)
	if err != nil {
		return nil, err
	}
	return ToYAML(v)
}
