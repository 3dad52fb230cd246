package origin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
	"github.com/lockstream/lockstream/storage"
)

// maxLocatorName bounds locator names.
const maxLocatorName = 128

// createLocator creates a streaming locator with the content keys of the
// body, or with a generated key when the body has none. Creating is
// idempotent by name.
func (s *Server) createLocator(w http.ResponseWriter, r *http.Request) error {
	var body adminapi.CreateLocatorWithKeysRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	keys, err := validateLocatorRequest(&body)
	if err != nil {
		return err
	}
	req := body.LocatorRequest()

	ctx := r.Context()
	if existing, err := s.catalog.GetLocatorByName(ctx, body.Name); err == nil {
		return s.answerExisting(w, r, existing, &req, keys)
	} else if !errors.Is(err, policy.ErrNotFound) {
		return err
	}

	if err := s.checkAsset(ctx, body.AssetName); err != nil {
		return err
	}

	loc := &policy.Locator{
		ID:               uuid.New(),
		Name:             body.Name,
		Asset:            body.AssetName,
		StreamingPolicy:  body.StreamingPolicyName,
		ContentKeyPolicy: body.DefaultContentKeyPolicyName,
		Start:            body.StartTime,
		End:              body.EndTime,
		Created:          s.now().UTC(),
	}
	if body.StreamingLocatorID != nil {
		loc.ID = *body.StreamingLocatorID
	}

	err = s.createLocatorWithKeys(ctx, loc, keys)
	if errors.Is(err, policy.ErrConflict) {
		// Another request created the same name meanwhile, or the ID or a
		// key ID is taken by another locator.
		if existing, getErr := s.catalog.GetLocatorByName(ctx, body.Name); getErr == nil {
			return s.answerExisting(w, r, existing, &req, keys)
		}
		return &Error{Status: http.StatusConflict, Message: s.conflictMessage(ctx, loc, keys), Err: err}
	}
	if err != nil {
		return err
	}

	s.requestLogger(r).Info("streaming locator created", "locator_id", loc.ID.String(), "asset", loc.Asset)
	w.Header().Set("Location", "/api/v1/streamingLocators/"+loc.ID.String())
	s.writeJSON(w, r, http.StatusCreated, locatorJSON(loc))
	return nil
}

// answerExisting sends the existing locator with 200 when body and keys
// request exactly it, and returns a 409 error otherwise.
func (s *Server) answerExisting(w http.ResponseWriter, r *http.Request, existing *policy.Locator, body *adminapi.CreateLocatorRequest, keys []policy.ContentKey) error {
	field := differingField(existing, body)
	if field == "" {
		differ, err := s.keysDiffer(r.Context(), existing, keys)
		if err != nil {
			return err
		}
		if differ {
			field = "contentKeys"
		}
	}
	if field != "" {
		return &Error{Status: http.StatusConflict, Code: "Conflict",
			Message: fmt.Sprintf("streaming locator %q already exists with a different %s", existing.Name, field)}
	}
	s.writeJSON(w, r, http.StatusOK, locatorJSON(existing))
	return nil
}

// differingField names the first field in which body differs from loc,
// or returns "" when it requests exactly loc.
func differingField(loc *policy.Locator, body *adminapi.CreateLocatorRequest) string {
	switch {
	case loc.Asset != body.AssetName:
		return "assetName"
	case loc.StreamingPolicy != body.StreamingPolicyName:
		return "streamingPolicyName"
	case loc.ContentKeyPolicy != body.DefaultContentKeyPolicyName:
		return "defaultContentKeyPolicyName"
	case !sameTime(loc.Start, body.StartTime):
		return "startTime"
	case !sameTime(loc.End, body.EndTime):
		return "endTime"
	case body.StreamingLocatorID != nil && *body.StreamingLocatorID != loc.ID:
		return "streamingLocatorId"
	}
	return ""
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// validateLocatorRequest checks every field and reports all invalid ones
// at once, each named. It returns the requested content keys in the
// catalog's form.
func validateLocatorRequest(body *adminapi.CreateLocatorWithKeysRequest) ([]policy.ContentKey, error) {
	var problems []string
	if err := checkLocatorName(body.Name); err != nil {
		problems = append(problems, err.Error())
	}
	if body.AssetName == "" {
		problems = append(problems, "assetName is missing")
	} else if err := storage.CheckName(body.AssetName); err != nil {
		problems = append(problems, fmt.Sprintf("assetName %s is not a plain folder name", quote(body.AssetName)))
	}
	if _, err := policy.StreamingPolicyByName(body.StreamingPolicyName); err != nil {
		problems = append(problems, fmt.Sprintf("streamingPolicyName %s is unknown: want %s or %s",
			quote(body.StreamingPolicyName), policy.PolicyClearStreamingOnly, policy.PolicyClearKey))
	}
	if body.StartTime != nil && body.EndTime != nil && !body.EndTime.After(*body.StartTime) {
		problems = append(problems, "endTime must be after startTime")
	}
	if body.StreamingLocatorID != nil && *body.StreamingLocatorID == uuid.Nil {
		problems = append(problems, "streamingLocatorId must not be the nil UUID")
	}
	keys, keyProblems := parseLocatorKeys(body.ContentKeys)
	problems = append(problems, keyProblems...)
	// The catalog checks that defaultContentKeyPolicyName exists and fits
	// the streaming policy, and that the keys suit the streaming policy,
	// and reports either as ErrInvalid (422).

	if len(problems) > 0 {
		return nil, &Error{Status: http.StatusUnprocessableEntity, Message: "invalid streaming locator: " + strings.Join(problems, "; ")}
	}
	return keys, nil
}

// checkLocatorName accepts 1 to 128 letters, digits, '-', '_' and '.',
// not starting with '.'; such a name is safe in a URL path element and
// never parses as anything but a name.
func checkLocatorName(name string) error {
	if name == "" {
		return errors.New("name is missing")
	}
	if len(name) > maxLocatorName || name[0] == '.' {
		return fmt.Errorf("name %s is invalid: want 1 to %d letters, digits, '-', '_' or '.', not starting with '.'", quote(name), maxLocatorName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("name %s is invalid: want 1 to %d letters, digits, '-', '_' or '.', not starting with '.'", quote(name), maxLocatorName)
		}
	}
	return nil
}

// checkAsset returns 404 naming the asset unless it exists and has files.
func (s *Server) checkAsset(ctx context.Context, asset string) error {
	files, err := s.store.List(ctx, asset)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && len(files) == 0) {
		return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("asset %q not found in the media root", asset), Err: err}
	}
	if errors.Is(err, storage.ErrInvalidName) {
		return &Error{Status: http.StatusUnprocessableEntity, Message: fmt.Sprintf("assetName %s is not a plain folder name", quote(asset)), Err: err}
	}
	return err
}

func (s *Server) listLocators(w http.ResponseWriter, r *http.Request) error {
	locs, err := s.catalog.ListLocators(r.Context())
	if err != nil {
		return err
	}

	list := adminapi.LocatorList{StreamingLocators: make([]adminapi.Locator, 0, len(locs))}
	for _, loc := range locs {
		list.StreamingLocators = append(list.StreamingLocators, locatorJSON(loc))
	}
	s.writeJSON(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) getLocator(w http.ResponseWriter, r *http.Request) error {
	loc, err := s.findLocator(r.Context(), chi.URLParam(r, "nameOrId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, locatorJSON(loc))
	return nil
}

func (s *Server) deleteLocator(w http.ResponseWriter, r *http.Request) error {
	loc, err := s.findLocator(r.Context(), chi.URLParam(r, "nameOrId"))
	if err != nil {
		return err
	}
	if err := s.catalog.DeleteLocator(r.Context(), loc.ID); err != nil {
		return err
	}

	s.requestLogger(r).Info("streaming locator deleted", "locator_id", loc.ID.String(), "asset", loc.Asset)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// findLocator looks a locator up by ID when the value is a UUID, and by
// name otherwise or when no locator has that ID.
func (s *Server) findLocator(ctx context.Context, nameOrID string) (*policy.Locator, error) {
	if id, err := uuid.Parse(nameOrID); err == nil {
		loc, err := s.catalog.GetLocator(ctx, id)
		if err == nil || !errors.Is(err, policy.ErrNotFound) {
			return loc, err
		}
	}

	loc, err := s.catalog.GetLocatorByName(ctx, nameOrID)
	if errors.Is(err, policy.ErrNotFound) {
		return nil, &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("streaming locator %s not found", quote(nameOrID)), Err: err}
	}
	return loc, err
}

func locatorJSON(loc *policy.Locator) adminapi.Locator {
	return adminapi.Locator{
		StreamingLocatorID:          loc.ID,
		Name:                        loc.Name,
		AssetName:                   loc.Asset,
		StreamingPolicyName:         loc.StreamingPolicy,
		DefaultContentKeyPolicyName: loc.ContentKeyPolicy,
		StartTime:                   loc.Start,
		EndTime:                     loc.End,
		Created:                     loc.Created,
	}
}
