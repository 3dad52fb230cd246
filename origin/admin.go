package origin

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// maxAdminBody bounds admin API request bodies; a locator or a content key
// policy with a few verification keys is a few kilobytes.
const maxAdminBody = 1 << 20

// adminRoutes mounts the admin API below /api/v1.
func (s *Server) adminRoutes(r chi.Router) {
	r.Use(s.adminAuth)
	r.NotFound(s.adminHandler(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "no admin API resource %s", quote(r.URL.Path))
	}))
	r.MethodNotAllowed(s.adminHandler(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s", r.Method, quote(r.URL.Path))
	}))

	r.Route("/streamingLocators", func(r chi.Router) {
		r.Put("/", s.adminHandler(s.createLocator))
		r.Post("/", s.adminHandler(s.createLocator))
		r.Get("/", s.adminHandler(s.listLocators))
		r.Get("/{nameOrId}", s.adminHandler(s.getLocator))
		r.Delete("/{nameOrId}", s.adminHandler(s.deleteLocator))
		r.Post("/{nameOrId}/listPaths", s.adminHandler(s.listPaths))
	})

	s.contentKeyRoutes(r)
}

// contentKeyRoutes mounts the content key policy and content key
// endpoints when the catalog stores policies and keys. With any other
// catalog these paths return 404.
//
//	PUT    /contentKeyPolicies/{name}                    create or replace, JSON or YAML body
//	GET    /contentKeyPolicies                           list, secrets redacted
//	GET    /contentKeyPolicies/{name}                    one policy; ?includeSecrets=true returns HMAC secrets
//	DELETE /contentKeyPolicies/{name}                    409 while a locator uses it
//	POST   /streamingLocators/{nameOrId}/listContentKeys key IDs; ?includeValues=true adds the key values
//	POST   /streamingLocators/{nameOrId}/testToken       a token signed with the policy's HMAC key
func (s *Server) contentKeyRoutes(r chi.Router) {
	store, ok := s.catalog.(keyCatalog)
	if !ok {
		return
	}
	a := &keyAdmin{Server: s, store: store}

	r.Route("/contentKeyPolicies", func(r chi.Router) {
		r.Get("/", s.adminHandler(a.listPolicies))
		r.Get("/{name}", s.adminHandler(a.getPolicy))
		r.Put("/{name}", s.adminHandler(a.putPolicy))
		r.Delete("/{name}", s.adminHandler(a.deletePolicy))
	})
	r.Post("/streamingLocators/{nameOrId}/listContentKeys", s.adminHandler(a.listContentKeys))
	r.Post("/streamingLocators/{nameOrId}/testToken", s.adminHandler(a.testToken))
}

// adminHandler adapts a handler that returns an error, writing the error
// as JSON.
func (s *Server) adminHandler(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err, errorJSON)
		}
	}
}

// adminAuth requires "Authorization: Bearer <admin token>". The token is
// compared through SHA-256 digests in constant time, so neither its bytes
// nor its length leak through timing.
func (s *Server) adminAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r, routeAdmin)
		if s.cfg.AdminToken == "" {
			s.writeError(w, r, &Error{Status: http.StatusNotFound, Code: "AdminDisabled",
				Message: "the admin API is disabled: set LOCKSTREAM_ADMIN_TOKEN on the server to enable it"}, errorJSON)
			return
		}

		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			s.requestLogger(r).Warn("admin request rejected", "reason", "missing bearer token")
			s.unauthorized(w, r)
			return
		}
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], s.adminTokenHash[:]) != 1 {
			s.requestLogger(r).Warn("admin request rejected", "reason", "wrong bearer token")
			s.unauthorized(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="lockstream-admin"`)
	s.writeError(w, r, errorf(http.StatusUnauthorized, "missing or invalid admin token: send Authorization: Bearer <token>"), errorJSON)
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header; the scheme name is case-insensitive (RFC 9110 section 11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// decodeJSON reads a JSON request body into v: Content-Type must be
// application/json, the body at most maxAdminBody bytes, and unknown
// fields and trailing data are errors.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json, got %s", quote(r.Header.Get("Content-Type")))
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return &Error{Status: http.StatusBadRequest, Message: "reading request body failed", Err: err}
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Status: http.StatusBadRequest, Message: "invalid JSON body: " + jsonProblem(err), Err: err}
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "invalid JSON body: data after the JSON object")
	}
	return nil
}

// jsonProblem describes a decoding error in terms of the JSON document,
// not of Go types.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "empty body"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be a JSON %s", typeErr.Field, typeErr.Type.Kind())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return err.Error()
}

// writeJSON sends v with status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.requestLogger(r).Debug("writing JSON response failed", "err", err)
	}
}
