package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	stdjson "encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/keyhaven/keyhaven/internal/apierr"
)

// MaxBody is the largest request body accepted (1 MiB).
const MaxBody = 1 << 20

// envelope is every /api/v3 reply.
type envelope struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	APICode    int    `json:"apiCode,omitempty"`
	RequestID  string `json:"requestId,omitempty"`
	Data       any    `json:"data,omitempty"`
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeJSON writes v with no-store caching: replies carry tokens and codes.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	var buf bytes.Buffer
	enc := stdjson.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"statusCode":500,"message":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// The request id goes into a success too (the middleware has set it as
// X-Request-Id), so a caller can log it whatever the outcome.
func writeOK(w http.ResponseWriter, data any) error {
	writeJSON(w, http.StatusOK, envelope{StatusCode: 200, Message: "success", RequestID: w.Header().Get("X-Request-Id"), Data: data})
	return nil
}

// writeError writes the envelope for err. Business failures go out as HTTP
// 200 with the real status in statusCode (the official axios-based SDK
// throws on non-2xx and its callers read statusCode). Anything that is not
// an *apierr.Error is logged and becomes a bare 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	id := requestID(r.Context())
	ae, ok := apierr.As(err)
	if !ok {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", id, "route", r.Pattern, "err", err)
		ae = apierr.New(500, apierr.CodeInternal, "internal error")
	} else if ae.Unwrap() != nil {
		s.log.WarnContext(r.Context(), "request refused", "request_id", id, "route", r.Pattern, "err", err)
	}
	if ae.Status == 429 {
		w.Header().Set("Retry-After", "60")
	}
	s.outcomeOf(w, r, ae.Status, ae.APICode)
	writeJSON(w, http.StatusOK, envelope{StatusCode: ae.Status, Message: ae.Message, APICode: ae.APICode, RequestID: id})
}

// decode reads a JSON object into dst strictly: keys match exactly, a key
// may appear once, unknown keys are refused, strings must be valid UTF-8,
// and the body may hold nothing after the object. Errors name the field.
func decode(r *http.Request, dst any) error {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return apierr.BadRequest("", "Content-Encoding "+strconv.Quote(ce)+" is not accepted: send the body uncompressed")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apierr.New(413, apierr.CodeBodyTooLarge, "request body is larger than 1 MiB")
		}
		return apierr.BadRequest("", "request body could not be read")
	}
	return decodeBytes(body, dst)
}

func decodeBytes(body []byte, dst any) error {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return apierr.BadRequest("", "request body must be a JSON object")
	}
	if !utf8.Valid(body) {
		return apierr.BadRequest("", "request body is not valid UTF-8")
	}
	opts := []json.Options{json.RejectUnknownMembers(true), jsontext.AllowDuplicateNames(false), jsontext.AllowInvalidUTF8(false)}
	if bytes.Contains(body, nulEscape) {
		opts = append(opts, refuseNUL)
	}
	err := json.Unmarshal(body, dst, opts...)
	if err == nil {
		return nil
	}
	return decodeError(err)
}

// nulEscape is how JSON writes U+0000. No string field may hold one:
// PostgreSQL's text cannot store it, and no name, code or option needs it.
// Only a body with the escape in it pays for the check of every string.
var (
	nulEscape = []byte(`\u0000`)
	errNUL    = errors.New("NUL character")
	refuseNUL = json.WithUnmarshalers(json.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *string) error {
		if dec.PeekKind() != '"' {
			return errors.ErrUnsupported // the usual handling, and its type error
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if strings.IndexByte(tok.String(), 0) >= 0 {
			return errNUL
		}
		*s = tok.String()
		return nil
	}))
)

func decodeError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return apierr.BadRequest("", "request body is not valid JSON (it ends early)")
	}
	var se *json.SemanticError
	if errors.As(err, &se) {
		field := pointerField(string(se.JSONPointer))
		switch {
		case errors.Is(se.Err, json.ErrUnknownName):
			return apierr.BadRequest(field, "is not a known field (names are case-sensitive)")
		case errors.Is(se.Err, errNUL):
			return apierr.BadRequest(field, "must not contain a NUL character")
		case se.JSONKind != 0 && se.GoType != nil:
			return apierr.BadRequest(field, "must be "+kindName(se.GoType.Kind().String())+", not "+jsonKindName(se.JSONKind))
		}
		return apierr.BadRequest(field, "has an invalid value")
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		field := pointerField(string(syn.JSONPointer))
		msg := syn.Err.Error()
		switch {
		case strings.Contains(msg, "duplicate"):
			return apierr.BadRequest(field, "appears more than once")
		case strings.Contains(msg, "UTF-8"), strings.Contains(msg, "surrogate"):
			return apierr.BadRequest(field, "is not valid UTF-8")
		}
		if field == "" {
			return apierr.BadRequest("", "request body is not valid JSON")
		}
		return apierr.BadRequest(field, "is not valid JSON")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return apierr.BadRequest("", "request body is not valid JSON (it ends early)")
	}
	return apierr.BadRequest("", "request body is not valid JSON")
}

// pointerField turns "/passwordPayload/email" into "passwordPayload.email",
// shortened if a deep nesting made it long.
func pointerField(p string) string {
	if len(p) > 120 {
		p = strings.ToValidUTF8(p[:120], "") + "…"
	}
	p = strings.TrimPrefix(p, "/")
	p = strings.ReplaceAll(p, "/", ".")
	p = strings.ReplaceAll(p, "~1", "/")
	return strings.ReplaceAll(p, "~0", "~")
}

func kindName(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "float64":
		return "a number"
	}
	return "another type"
}

func jsonKindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "that"
}

// logger helpers keep secrets out: only ids, routes and statuses are logged.
// A request that matched no route is logged as route "unmatched", as the
// metrics count it.
func (s *Server) logRequest(r *http.Request, w *statusWriter, d float64) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	attrs := []slog.Attr{
		slog.String("request_id", requestID(r.Context())),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", w.status),
	}
	if w.statusCode != 0 {
		attrs = append(attrs, slog.Int("status_code", w.statusCode), slog.Int("api_code", w.apiCode))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs, slog.Float64("duration_ms", d))...)
}
