package auditexport

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The published AWS Signature Version 4 examples for S3 (examplebucket,
// us-east-1, 24 May 2013) with their known signatures.
func TestSignV4MatchesPublishedExamples(t *testing.T) {
	const keyID, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	when := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, method, url string
		body              string
		headers           map[string]string
		signed, signature string
	}{
		{name: "GET object", method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
			headers:   map[string]string{"Range": "bytes=0-9"},
			signed:    "host;range;x-amz-content-sha256;x-amz-date",
			signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
		{name: "PUT object", method: "PUT", url: "https://examplebucket.s3.amazonaws.com/test$file.text",
			body:      "Welcome to Amazon S3.",
			headers:   map[string]string{"Date": "Fri, 24 May 2013 00:00:00 GMT", "X-Amz-Storage-Class": "REDUCED_REDUNDANCY"},
			signed:    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
			signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, c.url, bytes.NewReader([]byte(c.body)))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			signV4(req, []byte(c.body), keyID, secret, "us-east-1", "s3", when)
			want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=" +
				c.signed + ", Signature=" + c.signature
			if got := req.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestS3ObjectURL(t *testing.T) {
	cases := []struct {
		b    s3Bucket
		want string
	}{
		{s3Bucket{bucket: "logs", region: "eu-west-1"}, "https://logs.s3.eu-west-1.amazonaws.com/a/b c.jsonl"},
		{s3Bucket{bucket: "my.logs", region: "eu-west-1"}, "https://s3.eu-west-1.amazonaws.com/my.logs/a/b c.jsonl"},
		{s3Bucket{bucket: "logs", region: "us-east-1", endpoint: "http://minio:9000/"}, "http://minio:9000/logs/a/b c.jsonl"},
	}
	for _, c := range cases {
		got := c.b.objectURL("a/b c.jsonl")
		if strings.ReplaceAll(got, "%20", " ") != c.want {
			t.Errorf("objectURL = %s, want %s", got, c.want)
		}
	}
}
