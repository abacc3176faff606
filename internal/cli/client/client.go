// Package client is the small HTTP client the custos commands share: it
// knows the server's base URL and API key, escapes path segments, and turns
// error responses into the message the command line prints.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Client calls one custos server with one API key.
type Client struct {
	base      string // scheme://host[/prefix], no trailing slash
	key       string
	http      *http.Client
	userAgent string
}

// New returns a client for the server at baseURL. hc may be nil.
func New(baseURL, key, userAgent string, hc *http.Client) *Client {
	if hc == nil {
		hc = DefaultHTTPClient()
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), key: key, http: hc, userAgent: userAgent}
}

// DefaultHTTPClient connects with bounded timeouts but lets a response take
// as long as the server needs: some requests wait for jobs on purpose.
func DefaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// BaseURL is the server's URL.
func (c *Client) BaseURL() string { return c.base }

// Path joins path segments, escaping each one, so that a segment holding
// a slash or a space (connection keys, policy keys) stays one segment.
func Path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// Request is one call. Path is already escaped and may carry a query.
type Request struct {
	Method      string
	Path        string
	Query       url.Values
	Header      http.Header
	Body        []byte
	ContentType string
}

// Response is a server's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// APIError is an error response, printed the way the immuta CLI prints it.
type APIError struct {
	Status  int
	Message string
	Body    []byte
}

func (e *APIError) Error() string {
	return fmt.Sprintf("status code: %d message: %s", e.Status, e.Message)
}

// UnreachableError means no HTTP answer came back at all.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the custos server at %s: %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// URL returns the full URL of a request.
func (c *Client) URL(path string, query url.Values) (*url.URL, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(c.base + path)
	if err != nil {
		return nil, fmt.Errorf("invalid endpoint %q: %v", path, err)
	}
	if len(query) > 0 {
		q := u.Query()
		for k, vs := range query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// Do sends a request. A response with status 400 or more is returned
// together with an *APIError; a request that gets no answer fails with an
// *UnreachableError.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	u, err := c.URL(r.Path, r.Query)
	if err != nil {
		return nil, err
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build the request: %v", err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.ContentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if req.Header.Get("Authorization") == "" && c.key != "" {
		req.Header.Set("Authorization", c.key)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &UnreachableError{URL: c.base, Err: rootCause(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &UnreachableError{URL: c.base, Err: fmt.Errorf("reading the response: %w", rootCause(err))}
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if resp.StatusCode >= 400 {
		return out, &APIError{Status: resp.StatusCode, Message: errorMessage(resp.StatusCode, data), Body: data}
	}
	return out, nil
}

// JSON sends in (when not nil) as a JSON body and decodes the answer into
// out (when not nil). It returns the raw response body too.
func (c *Client) JSON(ctx context.Context, method, path string, query url.Values, in, out any) ([]byte, error) {
	r := Request{Method: method, Path: path, Query: query}
	if in != nil {
		var err error
		if raw, ok := in.(json.RawMessage); ok {
			r.Body = raw
		} else if r.Body, err = json.Marshal(in); err != nil {
			return nil, err
		}
		r.ContentType = "application/json"
	}
	resp, err := c.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	if out != nil && len(bytes.TrimSpace(resp.Body)) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp.Body, fmt.Errorf("the server's answer to %s %s is not the expected JSON: %v", method, path, err)
		}
	}
	return resp.Body, nil
}

// errorMessage finds the message of an error body: the "message" of the
// documented JSON shape, else the text itself, else the status text.
func errorMessage(status int, body []byte) string {
	var shaped struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &shaped) == nil {
		if shaped.Message != "" {
			return shaped.Message
		}
		if shaped.Error != "" {
			return shaped.Error
		}
	}
	text := strings.TrimSpace(string(body))
	if text != "" && !strings.HasPrefix(text, "{") && !strings.HasPrefix(text, "<") {
		if line, _, _ := strings.Cut(text, "\n"); len(line) <= 500 {
			return line
		}
	}
	return http.StatusText(status)
}

// rootCause strips the wrappers of a transport error down to what a person
// can act on ("connection refused", "no such host").
func rootCause(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Errorf("looking up %s: %s", dns.Name, dns.Err)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
		var sys *os.SyscallError
		if errors.As(err, &sys) {
			err = sys.Err
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out")
	}
	return err
}
