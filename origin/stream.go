package origin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/policy"
)

// Producer builds the manifest or segment a streaming request addresses.
//
// The server has parsed req, checked that loc is active and that its
// streaming policy allows scheme, and set req.Scheme to scheme and
// req.BaseURL. Produce returns errors wrapping the packager's, storage's
// or policy's sentinels (packager.ErrNotFound for an unknown presentation
// name, track or segment number), which the server maps to statuses.
// Output bodies must depend only on the request's inputs, so two origins
// send byte-identical responses.
type Producer interface {
	Produce(ctx context.Context, req *StreamRequest, loc *policy.Locator, scheme packager.Scheme) (*Output, error)
}

// ETagger is an optional interface of a Producer: it returns the ETag that
// Produce would return, without building the body, so a conditional
// request is answered 304 cheaply. The server calls it only for requests
// with If-None-Match. It returns the same errors as Produce for a
// resource that does not exist, and "" when it cannot tell the tag
// without building, such as for a response that carries a key token.
type ETagger interface {
	ETag(ctx context.Context, req *StreamRequest, loc *policy.Locator, scheme packager.Scheme) (string, error)
}

// Output is a built manifest or segment.
type Output struct {
	Body []byte
	// Tail, when not nil, follows Body in the response. The producer
	// sends the sample data of fMP4 segments this way, from the buffer it
	// was read into, instead of copying it behind the boxes.
	Tail []byte
	// File, when not nil, follows Body in the response in place of Tail:
	// the sample data of a clear fMP4 segment or Smooth fragment, sent
	// from a descriptor of the local file with sendfile(2). Outputs built
	// in memory leave it nil, so only those may be cached and sent again.
	// Release gives the descriptor back.
	File *fileBody
	// ContentType overrides the default of the request kind; the producer
	// sets "audio/mp4" for audio fMP4, for example.
	ContentType string
	// ETag is a strong, quoted entity tag computed from the inputs (asset
	// file versions, track, segment number, scheme, key ID, base URL),
	// such as `"3f2a..."`. Empty means none.
	ETag string
	// Manifest selects the short cache lifetime of manifests and
	// playlists, which change when the locator or asset does; segments
	// are cached long. The request kind sets it too.
	Manifest bool
	// Private marks a body that carries a player's key token: it is sent
	// "Cache-Control: private, no-store", because a shared cache that
	// keys on the path would hand the token to other viewers.
	Private bool
	// Release, when not nil, is called after the response was written, to
	// return Body to a pool and File's descriptor to the file cache.
	Release func()
}

// serveStream serves every streaming URL; it is the router's catch-all.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	if err := s.stream(w, r); err != nil {
		s.writeError(w, r, err, errorText)
	}
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		return errorf(http.StatusMethodNotAllowed, "method %s is not allowed: use GET or HEAD", r.Method)
	}

	req, err := ParseStreamURL(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	setRoute(r, routeOf(req))

	loc, err := s.activeLocator(r.Context(), req.Locator)
	if err != nil {
		return err
	}

	scheme, err := chooseScheme(req, loc)
	if err != nil {
		return err
	}
	req.Scheme = scheme
	req.BaseURL = s.baseURL(r)
	req.BaseFromHost = s.cfg.PublicBaseURL == ""
	if r.URL.RawQuery != "" {
		req.Token = r.URL.Query().Get("token")
		if req.Token != "" {
			req.Client = s.clientIP(r)
		}
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ProduceTimeout)
	defer cancel()

	if done, err := s.answerNotModified(ctx, w, r, req, loc); done || err != nil {
		return err
	}

	out, err := s.producer.Produce(ctx, req, loc, scheme)
	if err != nil {
		return err
	}
	if out.Release != nil {
		defer out.Release()
	}

	s.writeOutput(w, r, req, loc, out)
	return nil
}

// errLocatorNotFound is the one answer for unknown, deleted, expired and
// not yet started locators, so the body does not tell which.
var errLocatorNotFound = errorf(http.StatusNotFound, "streaming locator not found")

// activeLocator returns the locator if it streams now. Catalog reads are
// cached for locatorTTL, so a deleted locator stops streaming within that
// time. Start and end times are checked against the clock on every call.
func (s *Server) activeLocator(ctx context.Context, id uuid.UUID) (*policy.Locator, error) {
	loc, err := s.locators.get(ctx, id)
	if errors.Is(err, policy.ErrNotFound) {
		return nil, &Error{Status: http.StatusNotFound, Message: errLocatorNotFound.Message, Err: err}
	}
	if err != nil {
		return nil, err
	}
	if !loc.Active(s.now()) {
		return nil, errLocatorNotFound
	}
	return loc, nil
}

// chooseScheme returns the request's explicit scheme, or the streaming
// policy's default for the protocol, and 403 when the policy does not
// allow it.
func chooseScheme(req *StreamRequest, loc *policy.Locator) (packager.Scheme, error) {
	sp, err := policy.StreamingPolicyByName(loc.StreamingPolicy)
	if err != nil {
		// The catalog accepts only known policies, so this is a damaged
		// catalog row, not a client error.
		return 0, fmt.Errorf("locator %s: %w", loc.ID, errors.Join(err, errDamagedCatalog))
	}

	proto := req.Protocol()
	available := sp.Available(string(proto))
	if len(available) == 0 {
		return 0, errorf(http.StatusForbidden, "%s is not enabled for this streaming locator", proto.Display())
	}

	if !req.SchemeSet {
		return parseSchemeName(sp.Default(string(proto)))
	}
	if !sp.Allows(string(proto), req.Scheme.String()) {
		return 0, errorf(http.StatusForbidden, "encryption %s is not available for %s on this streaming locator; available: %s",
			req.Scheme, proto.Display(), strings.Join(available, ", "))
	}
	return req.Scheme, nil
}

// errDamagedCatalog marks catalog contents that the catalog's own
// validation should have rejected; classify maps it to 500.
var errDamagedCatalog = errors.New("catalog entry is inconsistent")

// parseSchemeName converts a policy scheme name to a packager.Scheme.
func parseSchemeName(name string) (packager.Scheme, error) {
	for _, s := range []packager.Scheme{packager.SchemeClear, packager.SchemeCBC, packager.SchemeCENC} {
		if s.String() == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown encryption scheme %q in streaming policy: %w", name, errDamagedCatalog)
}

// baseURL returns the absolute URL prefix of this origin for the request:
// the configured public base URL, else scheme and Host of the request. A
// Host header with characters no host name has yields "", and the producer
// then writes relative URLs only.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicBaseURL != "" {
		return strings.TrimRight(s.cfg.PublicBaseURL, "/")
	}
	if !validHost(r.Host) {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}
