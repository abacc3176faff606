package apicmd

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestRequest(t *testing.T) {
	cases := []struct {
		endpoint string
		o        options
		method   string
		path     string
		query    string
		body     string
		ctype    string
	}{
		{endpoint: "tag", method: "GET", path: "/tag"},
		{endpoint: "/tag?limit=10", o: options{query: []string{"searchText=a b", "limit=5"}}, method: "GET", path: "/tag",
			query: "limit=10&limit=5&searchText=a+b"},
		{endpoint: "tag/{name}", o: options{pathParams: []string{"name=Discovered/PII x"}, method: "delete"}, method: "DELETE",
			path: "/tag/Discovered%2FPII%20x"},
		{endpoint: "x", o: options{data: []string{"a=1", "b=true", "c=null", "d=-7", "e=1.5", "f=01"}}, method: "POST", path: "/x",
			body: `{"a":1,"b":true,"c":null,"d":-7,"e":"1.5","f":"01"}`, ctype: "application/json"},
		{endpoint: "x", o: options{rawData: []string{"a=1", "b=true", "eq=a=b"}}, method: "POST", path: "/x",
			body: `{"a":"1","b":"true","eq":"a=b"}`, ctype: "application/json"},
		{endpoint: "x", o: options{data: []string{"ids[]=1", "ids[]=2"}, method: "PUT"}, method: "PUT", path: "/x",
			body: `{"ids":[1,2]}`, ctype: "application/json"},
		{endpoint: "x", o: options{body: "name: yaml"}, method: "POST", path: "/x", body: "name: yaml", ctype: "application/yaml"},
	}
	for _, c := range cases {
		r, err := c.o.request(c.endpoint, nil)
		if err != nil {
			t.Fatalf("%s %+v: %v", c.endpoint, c.o, err)
		}
		if r.Method != c.method || r.Path != c.path || r.Query.Encode() != c.query || r.ContentType != c.ctype {
			t.Errorf("%s: %s %s ?%s %s", c.endpoint, r.Method, r.Path, r.Query.Encode(), r.ContentType)
		}
		if c.ctype == "application/json" {
			var got, want any
			json.Unmarshal(r.Body, &got)
			json.Unmarshal([]byte(c.body), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: body %s, want %s", c.endpoint, r.Body, c.body)
			}
		} else if string(r.Body) != c.body {
			t.Errorf("%s: body %q", c.endpoint, r.Body)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	cases := []struct {
		o   options
		ep  string
		err string
	}{
		{ep: "a/{id}", err: "no --path-param id=value"},
		{ep: "a", o: options{pathParams: []string{"novalue"}}, err: "must be key=value"},
		{ep: "a", o: options{query: []string{"=x"}}, err: "must be key=value"},
		{ep: "a", o: options{headers: []string{"NoColon"}}, err: "must be key:value"},
		{ep: "a", o: options{data: []string{"k=1", "k=2"}}, err: "given twice"},
		{ep: "a", o: options{data: []string{"k=1", "k[]=2"}}, err: "already a single value"},
		{ep: "a", o: options{input: "/no/such/file"}, err: "cannot read --input"},
		{ep: "a", o: options{input: "f", body: "b"}, err: "give the body one way"},
	}
	for _, c := range cases {
		_, err := c.o.request(c.ep, nil)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s %+v: %v, want %q", c.ep, c.o, err, c.err)
		}
	}
}

// FuzzRequest: any endpoint and flags either build a request whose path
// starts with / or fail with a usage error; nothing panics.
func FuzzRequest(f *testing.F) {
	f.Add("tag/{a}?x=1", "a=b/c", "k=v", "h:v", "d=1")
	f.Add("{", "", "", "", "")
	f.Add("%zz", "=", "=", ":", "[]=1")
	f.Fuzz(func(t *testing.T, endpoint, param, query, header, data string) {
		o := options{pathParams: []string{param}, query: []string{query}, headers: []string{header}, data: []string{data}}
		r, err := o.request(endpoint, nil)
		if err != nil {
			return
		}
		if !strings.HasPrefix(r.Path, "/") || r.Method != "POST" || !json.Valid(r.Body) {
			t.Fatalf("request %+v", r)
		}
	})
}
