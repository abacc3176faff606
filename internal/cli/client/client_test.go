package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestErrorsAndEscaping(t *testing.T) {
	var gotPath, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.EscapedPath(), r.Header.Get("Authorization")
		switch r.URL.Query().Get("case") {
		case "json":
			w.WriteHeader(422)
			w.Write([]byte(`{"statusCode":422,"error":"Unprocessable Entity","message":"name is required"}`))
		case "text":
			w.WriteHeader(502)
			w.Write([]byte("bad gateway from the proxy\nmore"))
		case "html":
			w.WriteHeader(503)
			w.Write([]byte("<html>down</html>"))
		}
	}))
	defer srv.Close()
	c := New(srv.URL+"/prefix/", "key", "test", nil)
	ctx := context.Background()
	for q, want := range map[string]string{"json": "status code: 422 message: name is required",
		"text": "status code: 502 message: bad gateway from the proxy", "html": "status code: 503 message: Service Unavailable"} {
		_, err := c.JSON(ctx, "GET", Path("api", "v2", "policy", "a b/c")+"?case="+q, nil, nil, nil)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || err.Error() != want {
			t.Errorf("%s: %v", q, err)
		}
	}
	if gotPath != "/prefix/api/v2/policy/a%20b%2Fc" || gotAuth != "key" {
		t.Fatalf("path %s, auth %s", gotPath, gotAuth)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(url, "k", "", nil).Do(context.Background(), Request{Path: "/tag"})
	var u *UnreachableError
	if !errors.As(err, &u) || err.Error() != "cannot reach the custos server at "+url+": connection refused" {
		t.Fatalf("%v", err)
	}
	_, err = New("http://no-such-host.invalid", "k", "", nil).Do(context.Background(), Request{Path: "/"})
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the custos server at http://no-such-host.invalid: looking up no-such-host.invalid") {
		t.Fatalf("%v", err)
	}
}
