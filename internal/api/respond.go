package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/errs"
)

// Raw is a response that is not JSON (scripts, CSV).
type Raw struct {
	ContentType string
	Body        []byte
	Status      int
}

// Status wraps a JSON value with a status code other than 200.
type Status struct {
	Code  int
	Value any
}

// Stream is a JSON response written as it is produced, for answers too
// large to build in memory first. An error after the first byte cannot
// become an error response: the connection is cut instead, so that the
// client sees a broken answer rather than a short one it could trust.
type Stream func(w *StreamWriter) error

// StreamWriter writes the parts of a streamed JSON response, keeping the
// first error.
type StreamWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

// streamBatch is how many items a streamed list renders at a time.
const streamBatch = 500

// Raw writes JSON text as is.
func (s *StreamWriter) Raw(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}

// Value writes v as JSON.
func (s *StreamWriter) Value(v any) {
	if s.err == nil {
		s.err = s.enc.Encode(v)
	}
}

// Err is the first error met.
func (s *StreamWriter) Err() error { return s.err }

// sentWriter sets the JSON content type before the first byte and
// remembers that the answer has started.
type sentWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *sentWriter) Write(b []byte) (int, error) {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	return s.w.Write(b)
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	StatusCode int               `json:"statusCode"`
	Error      string            `json:"error"`
	Message    string            `json:"message"`
	Validation []errs.FieldError `json:"validation,omitempty"`
	RequestID  string            `json:"requestId,omitempty"`
}

func (s *Server) writeValue(w http.ResponseWriter, r *http.Request, v any) {
	switch out := v.(type) {
	case nil:
		w.WriteHeader(http.StatusNoContent)
	case Raw:
		w.Header().Set("Content-Type", out.ContentType)
		if out.Status != 0 {
			w.WriteHeader(out.Status)
		}
		_, _ = w.Write(out.Body)
	case Status:
		writeJSON(w, out.Code, out.Value)
	case Stream:
		sent := &sentWriter{w: w}
		bw := bufio.NewWriterSize(sent, 64<<10)
		sw := &StreamWriter{w: bw, enc: json.NewEncoder(bw)}
		sw.enc.SetEscapeHTML(false)
		err := out(sw)
		if err != nil && !sent.started {
			s.writeError(w, r, err) // nothing was sent: an ordinary error answer
			return
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			s.opts.Logger.Error("streamed response failed", "requestId", w.Header().Get("X-Request-Id"), "error", err)
			panic(http.ErrAbortHandler)
		}
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"statusCode":500,"error":"Internal Server Error","message":"cannot encode the response"}`, 500)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeError writes the error body; denials are audited, internal errors
// logged with the request id and hidden from the caller.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := errs.As(err)
	status := e.Status()
	reqID := w.Header().Get("X-Request-Id")
	msg := e.Message
	if e.Kind == errs.Internal {
		s.opts.Logger.Error("request failed", "requestId", reqID, "method", r.Method, "path", r.URL.Path, "error", err)
		msg = "internal error; the server log has the details under request id " + reqID
	}
	if e.Kind == errs.Unavailable && e.Err != nil {
		s.opts.Logger.Warn("dependency unavailable", "requestId", reqID, "error", e.Err)
	}
	if e.Kind == errs.TooMany && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(e.RetryAfter.Seconds())), 10))
	}
	if e.Kind == errs.Forbidden {
		_ = audit.Write(r.Context(), &s.DB.Queries, audit.Event{Type: "permissionDenied", Action: r.Method + " " + r.URL.Path,
			FailureReason: e.Message})
	}
	writeJSON(w, status, ErrorBody{StatusCode: status, Error: http.StatusText(status), Message: msg,
		Validation: e.Fields, RequestID: reqID})
}

// auditNote records an operation that changes no state of its own but is
// worth a line in the trail (a refresh, a test of a connection).
func auditNote(r *Request, recordType string) error {
	return audit.Write(r.Context(), &r.server.DB.Queries, audit.Event{Type: recordType, Success: true})
}
