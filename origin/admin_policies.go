package origin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/lockstream/lockstream/policy"
)

// keyCatalog is the part of the catalog that the content key policy and
// content key endpoints need.
type keyCatalog interface {
	policy.ContentKeyStore
	policy.ContentKeyPolicyStore
}

// keyAdmin serves the content key policy and content key endpoints of the
// admin API.
type keyAdmin struct {
	*Server
	store keyCatalog
}

// maxListedPolicyUsers bounds how many locator names a 409 on delete lists.
const maxListedPolicyUsers = 5

// putPolicy creates or replaces the content key policy named in the path.
// The body is JSON, or YAML with Content-Type application/yaml or
// application/x-yaml, in the flat shape or the hosted service's resource
// shape. It responds 201 for a new policy and 200 for a replaced one, with
// the stored policy redacted.
func (a *keyAdmin) putPolicy(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "name")
	p, err := readPolicyBody(w, r)
	if err != nil {
		return err
	}
	if p.Name != "" && p.Name != name {
		return errorf(http.StatusUnprocessableEntity,
			"invalid content key policy: name %s in the body differs from name %s in the path; omit it or make them equal",
			quote(p.Name), quote(name))
	}
	p.Name = name

	// Update first, because re-applying a file is the common case and then
	// costs one statement. When another request creates the policy
	// between the update and the create, the second update replaces it.
	ctx := r.Context()
	status := http.StatusOK
	err = a.store.UpdateContentKeyPolicy(ctx, p)
	if errors.Is(err, policy.ErrNotFound) {
		status = http.StatusCreated
		err = a.store.CreateContentKeyPolicy(ctx, p)
		if errors.Is(err, policy.ErrConflict) {
			status = http.StatusOK
			err = a.store.UpdateContentKeyPolicy(ctx, p)
		}
	}
	if err != nil {
		return err
	}

	event := "content key policy updated"
	if status == http.StatusCreated {
		event = "content key policy created"
		w.Header().Set("Location", "/api/v1/contentKeyPolicies/"+p.Name)
	}
	a.requestLogger(r).Info(event, "content_key_policy", p.Name)
	a.writeJSON(w, r, status, p.Redacted())
	return nil
}

// readPolicyBody reads and decodes a policy document. A malformed document
// is a 400 error. The store validates the decoded policy and reports 422.
func readPolicyBody(w http.ResponseWriter, r *http.Request) (*policy.ContentKeyPolicy, error) {
	contentType := r.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(contentType)
	isJSON := err == nil && mediaType == "application/json"
	isYAML := err == nil && (mediaType == "application/yaml" || mediaType == "application/x-yaml")
	if !isJSON && !isYAML {
		return nil, errorf(http.StatusUnsupportedMediaType,
			"Content-Type must be application/json, application/yaml or application/x-yaml, got %s", quote(contentType))
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, &Error{Status: http.StatusBadRequest, Message: "reading request body failed", Err: err}
	}
	if isJSON {
		if err := checkJSONObject(body); err != nil {
			return nil, err
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errorf(http.StatusBadRequest, "invalid content key policy: empty body")
	}

	p, err := policy.ParseContentKeyPolicy(body)
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Message: err.Error(), Err: err}
	}
	return p, nil
}

// checkJSONObject reports a body that is not one well-formed JSON object
// as a 400 saying where it breaks. ParseContentKeyPolicy would read a
// body that does not start with '{' as YAML, which a client that declared
// JSON did not mean.
func checkJSONObject(body []byte) error {
	var raw json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return &Error{Status: http.StatusBadRequest, Message: "invalid JSON body: " + jsonProblem(err), Err: err}
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "invalid JSON body: data after the JSON object")
	}
	if raw[0] != '{' {
		return errorf(http.StatusBadRequest, "invalid JSON body: want a JSON object holding the content key policy")
	}
	return nil
}

func (a *keyAdmin) listPolicies(w http.ResponseWriter, r *http.Request) error {
	policies, err := a.store.ListContentKeyPolicies(r.Context())
	if err != nil {
		return err
	}

	list := struct {
		ContentKeyPolicies []*policy.ContentKeyPolicy `json:"contentKeyPolicies"`
	}{make([]*policy.ContentKeyPolicy, 0, len(policies))}
	for _, p := range policies {
		list.ContentKeyPolicies = append(list.ContentKeyPolicies, p.Redacted())
	}
	a.writeJSON(w, r, http.StatusOK, list)
	return nil
}

// getPolicy returns one policy, redacted unless the query has
// includeSecrets=true. Returning the secrets is the admin's explicit
// option, for copying a policy to another origin. The request is logged,
// without the secrets.
func (a *keyAdmin) getPolicy(w http.ResponseWriter, r *http.Request) error {
	includeSecrets, err := queryBool(r, "includeSecrets")
	if err != nil {
		return err
	}
	p, err := a.findPolicy(r, chi.URLParam(r, "name"))
	if err != nil {
		return err
	}

	if includeSecrets {
		a.requestLogger(r).Info("content key policy read with secrets", "content_key_policy", p.Name)
		a.writeJSON(w, r, http.StatusOK, p)
		return nil
	}
	a.writeJSON(w, r, http.StatusOK, p.Redacted())
	return nil
}

// deletePolicy deletes a policy, or returns a 409 naming the locators
// that still use it.
func (a *keyAdmin) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "name")
	err := a.store.DeleteContentKeyPolicy(r.Context(), name)
	switch {
	case errors.Is(err, policy.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("content key policy %s not found", quote(name)), Err: err}
	case errors.Is(err, policy.ErrConflict):
		return &Error{Status: http.StatusConflict, Message: fmt.Sprintf("content key policy %s is in use by %s: delete them first",
			quote(name), a.policyUsers(r, name)), Err: err}
	case err != nil:
		return err
	}

	a.requestLogger(r).Info("content key policy deleted", "content_key_policy", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// policyUsers names the locators that use policy name, for an error
// message.
func (a *keyAdmin) policyUsers(r *http.Request, name string) string {
	locs, err := a.catalog.ListLocators(r.Context())
	if err != nil {
		return "streaming locators"
	}

	var names []string
	for _, loc := range locs {
		if loc.ContentKeyPolicy == name {
			names = append(names, quote(loc.Name))
		}
	}
	switch {
	case len(names) == 0:
		// The last user was deleted after the store's check.
		return "streaming locators"
	case len(names) > maxListedPolicyUsers:
		return fmt.Sprintf("%d streaming locators (%s, ...)", len(names), strings.Join(names[:maxListedPolicyUsers], ", "))
	}
	return fmt.Sprintf("%d streaming locators (%s)", len(names), strings.Join(names, ", "))
}

// findPolicy returns the policy name, or a 404 naming it.
func (a *keyAdmin) findPolicy(r *http.Request, name string) (*policy.ContentKeyPolicy, error) {
	p, err := a.store.GetContentKeyPolicy(r.Context(), name)
	if errors.Is(err, policy.ErrNotFound) {
		return nil, &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("content key policy %s not found", quote(name)), Err: err}
	}
	return p, err
}

// queryBool returns the boolean query parameter name: false when absent,
// 400 naming it when it does not parse.
func queryBool(r *http.Request, name string) (bool, error) {
	text := r.URL.Query().Get(name)
	if text == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(text)
	if err != nil {
		return false, errorf(http.StatusBadRequest, "query parameter %s=%s is invalid: want true or false", name, quote(text))
	}
	return v, nil
}
