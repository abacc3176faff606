package auditexport

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// s3Bucket uploads files with S3's PutObject, signed with AWS Signature
// Version 4.
type s3Bucket struct {
	client   *http.Client
	bucket   string
	prefix   string
	region   string
	endpoint string // an S3-compatible service; empty for AWS
	keyID    string
	secret   string
	now      func() time.Time // for tests
}

func (b *s3Bucket) String() string {
	return fmt.Sprintf("s3://%s/%s", b.bucket, b.prefix)
}

// objectURL is where a key is stored: virtual-hosted style on AWS (path
// style for bucket names with dots, which do not fit the certificate),
// path style on other services.
func (b *s3Bucket) objectURL(key string) string {
	escaped := uriEncode(key, false)
	switch {
	case b.endpoint != "":
		return strings.TrimRight(b.endpoint, "/") + "/" + uriEncode(b.bucket, true) + "/" + escaped
	case strings.Contains(b.bucket, "."):
		return fmt.Sprintf("https://s3.%s.amazonaws.com/%s/%s", b.region, b.bucket, escaped)
	default:
		return fmt.Sprintf("https://%s.s3.%s.amazonaws.com/%s", b.bucket, b.region, escaped)
	}
}

func (b *s3Bucket) Put(ctx context.Context, name string, data []byte) error {
	key := strings.TrimLeft(b.prefix+"/"+name, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.objectURL(key), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	now := time.Now
	if b.now != nil {
		now = b.now
	}
	signV4(req, data, b.keyID, b.secret, b.region, "s3", now().UTC())
	resp, err := b.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if ok := asURLError(err, &uerr); ok {
			return uerr.Err
		}
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var s3err struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &s3err) == nil && s3err.Code != "" {
		return fmt.Errorf("S3 answered %d %s: %s", resp.StatusCode, s3err.Code, s3err.Message)
	}
	return fmt.Errorf("S3 answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
}

func asURLError(err error, target **url.Error) bool {
	u, ok := err.(*url.Error)
	if ok {
		*target = u
	}
	return ok
}

// signV4 adds the headers of AWS Signature Version 4 to req: x-amz-date,
// x-amz-content-sha256 and Authorization. It signs host, the x-amz-*
// headers and any other header already set except Content-Type, User-Agent
// and Content-Length.
func signV4(req *http.Request, body []byte, keyID, secret, region, service string, now time.Time) {
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	payloadHash := sha256Hex(body)
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)

	headers := map[string]string{"host": req.URL.Host}
	for name, values := range req.Header {
		lower := strings.ToLower(name)
		switch lower {
		case "content-type", "user-agent", "content-length", "authorization":
			continue
		}
		trimmed := make([]string, len(values))
		for i, v := range values {
			trimmed[i] = strings.Join(strings.Fields(v), " ")
		}
		headers[lower] = strings.Join(trimmed, ",")
	}
	names := make([]string, 0, len(headers))
	for n := range headers {
		names = append(names, n)
	}
	sort.Strings(names)
	var canonicalHeaders strings.Builder
	for _, n := range names {
		canonicalHeaders.WriteString(n + ":" + headers[n] + "\n")
	}
	signedHeaders := strings.Join(names, ";")

	canonicalRequest := strings.Join([]string{
		req.Method,
		canonicalPath(req.URL),
		canonicalQuery(req.URL.Query()),
		canonicalHeaders.String(),
		signedHeaders,
		payloadHash,
	}, "\n")
	scope := day + "/" + region + "/" + service + "/aws4_request"
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonicalRequest))
	key := hmacSHA256([]byte("AWS4"+secret), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	signature := hex.EncodeToString(hmacSHA256(key, stringToSign))
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		keyID, scope, signedHeaders, signature))
}

// canonicalPath is the URI-encoded path; S3 encodes it once, as sent.
func canonicalPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	unescaped, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return uriEncode(unescaped, false)
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			parts = append(parts, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	return strings.Join(parts, "&")
}

// uriEncode escapes every byte but the unreserved characters (and '/'
// unless encodeSlash), as Signature Version 4 requires.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
