package auditexport

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/custosdata/custos/internal/errs"
)

// field describes one field of a destination.
type field struct {
	name     string
	required bool
	secret   bool
	check    func(string) string // returns a problem, or ""
}

var (
	bucketRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRe     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accessKeyRe  = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	accountRe    = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	typeNames    = map[string]string{TypeS3: "S3EndpointConfiguration", TypeADLS: "ADLSEndpointConfiguration", TypeLocal: "LocalEndpointConfiguration"}
	destinations = map[string][]field{
		TypeS3: {
			{name: "bucket", required: true, check: checkBucket},
			{name: "path", check: checkPrefix},
			{name: "region", required: true, check: match(regionRe, "an AWS region such as us-east-1")},
			{name: "accessKeyId", required: true, check: match(accessKeyRe, "an AWS access key id (upper-case letters and digits)")},
			{name: "secretAccessKey", required: true, secret: true},
			{name: "endpoint", check: checkEndpoint},
		},
		TypeADLS: {
			{name: "storageAccount", required: true, check: match(accountRe, "3 to 24 lower-case letters and digits")},
			{name: "container", required: true, check: checkContainer},
			{name: "path", check: checkPrefix},
			{name: "sasToken", required: true, secret: true},
		},
		TypeLocal: {
			{name: "directory", required: true, check: checkDirectory},
		},
	}
)

// validate checks a configuration, returning its endpoint fields and its
// secret fields apart. Every problem is reported, each naming its field.
func validate(in Input) (map[string]any, map[string]string, error) {
	var problems errs.List
	if in.Type == "" {
		problems.Add("type", errs.CodeRequired, "type is required: s3, adls or local")
	} else if _, ok := destinations[in.Type]; !ok {
		problems.Add("type", errs.CodeEnum, "type must be s3, adls or local, not %q", in.Type)
	}
	if in.Interval == "" {
		problems.Add("interval", errs.CodeRequired, "interval is required: one of %s", strings.Join(IntervalNames, ", "))
	} else if _, ok := Intervals[in.Interval]; !ok {
		problems.Add("interval", errs.CodeEnum, "interval must be one of %s, not %q", strings.Join(IntervalNames, ", "), in.Interval)
	}
	if in.EndpointConfiguration == nil {
		problems.Add("endpointConfiguration", errs.CodeRequired, "endpointConfiguration is required")
	}
	fields, ok := destinations[in.Type]
	if !ok || in.EndpointConfiguration == nil {
		return nil, nil, problems.Err()
	}
	endpoint := map[string]any{}
	secrets := map[string]string{}
	for _, f := range fields {
		name := "endpointConfiguration." + f.name
		raw, present := in.EndpointConfiguration[f.name]
		if !present || raw == nil {
			if f.required {
				problems.Add(name, errs.CodeRequired, "%s is required for %s exports", name, in.Type)
			}
			continue
		}
		s, isString := raw.(string)
		if !isString {
			problems.Add(name, errs.CodeType, "%s must be a string, not %s", name, jsonKind(raw))
			continue
		}
		s = strings.TrimSpace(s)
		if s == "" {
			if f.required {
				problems.Add(name, errs.CodeRequired, "%s is required for %s exports", name, in.Type)
			}
			continue
		}
		if f.check != nil {
			if problem := f.check(s); problem != "" {
				problems.Add(name, errs.CodeInvalid, "%s %s", name, problem)
				continue
			}
		}
		if f.name == "path" || f.name == "directory" {
			s = strings.Trim(path.Clean("/"+s), "/")
		}
		if f.secret {
			secrets[f.name] = s
		} else {
			endpoint[f.name] = s
		}
	}
	return endpoint, secrets, problems.Err()
}

func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case float64, json.Number, int, int64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func match(re *regexp.Regexp, what string) func(string) string {
	return func(s string) string {
		if !re.MatchString(s) {
			return fmt.Sprintf("must be %s, not %q", what, s)
		}
		return ""
	}
}

func checkBucket(s string) string {
	if !bucketRe.MatchString(s) || strings.Contains(s, "..") {
		return fmt.Sprintf("must be an S3 bucket name (3 to 63 lower-case letters, digits, dots and dashes), not %q", s)
	}
	return ""
}

func checkContainer(s string) string {
	if !containerRe.MatchString(s) || strings.Contains(s, "--") {
		return fmt.Sprintf("must be a container name (3 to 63 lower-case letters, digits and single dashes), not %q", s)
	}
	return ""
}

// checkPrefix accepts an object key prefix: no empty, "." or ".." parts.
func checkPrefix(s string) string {
	if strings.ContainsAny(s, "\x00\r\n\\") {
		return "must not contain control characters or backslashes"
	}
	for _, part := range strings.Split(strings.Trim(s, "/"), "/") {
		if part == "." || part == ".." {
			return fmt.Sprintf("must not contain %q", part)
		}
	}
	return ""
}

// checkDirectory accepts a relative directory below the export root.
func checkDirectory(s string) string {
	if strings.ContainsAny(s, "\x00\r\n") {
		return "must not contain control characters"
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, `\`) || (len(s) > 1 && s[1] == ':') {
		return fmt.Sprintf("must be relative to the server's audit export directory, not %q", s)
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "must not leave the server's audit export directory (no ..)"
		}
	}
	return ""
}

func checkEndpoint(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return fmt.Sprintf("must be an http(s) URL of an S3-compatible service, not %q", s)
	}
	return ""
}

// seal encrypts the secret fields.
func (s *Service) seal(secrets map[string]string) (string, error) {
	b, err := json.Marshal(secrets)
	if err != nil {
		return "", err
	}
	return s.box.Seal(b), nil
}

// secrets decrypts the secret fields of c.
func (s *Service) secrets(c *Config) (map[string]string, error) {
	out := map[string]string{}
	if c.sealed == "" {
		return out, nil
	}
	b, err := s.box.Open(c.sealed)
	if err != nil {
		return nil, err
	}
	return out, json.Unmarshal(b, &out)
}

// TypeName is the endpoint's __typename.
func TypeName(t string) string { return typeNames[t] }
