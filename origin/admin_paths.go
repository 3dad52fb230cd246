package origin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/policy"
)

// pathProtocols lists, per protocol, the manifest formats ListPaths
// returns, in the hosted service's order. HLS version 3 is left out, as
// the hosted service did; its URL works all the same.
var pathProtocols = []struct {
	protocol Protocol
	name     string
	formats  []Format
}{
	{ProtocolHLS, adminapi.ProtocolHLS, []Format{FormatHLSTS, FormatHLSCMAF}},
	{ProtocolDASH, adminapi.ProtocolDASH, []Format{FormatDASHCSF, FormatDASHCMAF}},
	{ProtocolSmooth, adminapi.ProtocolSmooth, []Format{FormatSmooth}},
}

// listPaths returns the manifest paths of a locator for every protocol and
// scheme its streaming policy allows.
func (s *Server) listPaths(w http.ResponseWriter, r *http.Request) error {
	loc, err := s.findLocator(r.Context(), chi.URLParam(r, "nameOrId"))
	if err != nil {
		return err
	}
	sp, err := policy.StreamingPolicyByName(loc.StreamingPolicy)
	if err != nil {
		return fmt.Errorf("locator %s: %w", loc.ID, errors.Join(err, errDamagedCatalog))
	}
	name, err := s.presentationName(r.Context(), loc.Asset)
	if err != nil {
		return fmt.Errorf("finding the presentation name of asset %q: %w", loc.Asset, err)
	}

	resp := adminapi.ListPathsResponse{StreamingPaths: []adminapi.StreamingPath{}, DownloadPaths: []string{}}
	for _, p := range pathProtocols {
		for _, available := range sp.Available(string(p.protocol)) {
			scheme, err := parseSchemeName(available)
			if err != nil {
				return err
			}
			paths := adminapi.StreamingPath{StreamingProtocol: p.name, EncryptionScheme: schemeName(scheme)}
			for _, f := range p.formats {
				paths.Paths = append(paths.Paths, ManifestPath(loc.ID, name, f, scheme))
			}
			resp.StreamingPaths = append(resp.StreamingPaths, paths)
		}
	}
	s.writeJSON(w, r, http.StatusOK, resp)
	return nil
}

// schemeName returns the hosted service's name of an encryption scheme.
func schemeName(s packager.Scheme) string {
	switch s {
	case packager.SchemeCBC:
		return adminapi.SchemeEnvelope
	case packager.SchemeCENC:
		return adminapi.SchemeCENC
	}
	return adminapi.SchemeNoEncryption
}
