package origin

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/dash"
	"github.com/lockstream/lockstream/packager/hls"
	"github.com/lockstream/lockstream/packager/smooth"
)

// Key delivery paths, below the origin's base URL. The keydelivery
// package serves them.
const (
	hlsKeyPath      = "/keys/hls/"
	clearKeyLicense = "/keys/clearkey"
)

func (p *producer) manifest(j *job) (*Output, error) {
	switch j.req.Format.Protocol() {
	case ProtocolHLS:
		return p.multivariant(j)
	case ProtocolDASH:
		return p.mpd(j)
	}
	return p.smoothManifest(j)
}

// hlsOptions returns the playlist options of the request's format. Media
// playlist and segment URIs are relative: the multivariant playlist lives
// in /{locator}/{name}.ism/ and each media playlist in
// /{locator}/{name}.ism/{family}/{enc}/.
func (j *job) hlsOptions() *hls.Options {
	family := j.req.Format.family()
	enc := j.prot.Scheme.String()
	opts := &hls.Options{
		Container: packager.ContainerTS,
		PlaylistURI: func(t *packager.Track) string {
			return family + "/" + enc + "/" + t.Name + ".m3u8" + j.tokenQuery()
		},
		SegmentURI: func(t *packager.Track, n int) string {
			return fmt.Sprintf("%s/%d.ts", t.Name, n)
		},
	}

	switch j.req.Format {
	case FormatHLSTSv3:
		opts.Version = hls.VersionLegacy
	case FormatHLSCMAF:
		opts.Container = packager.ContainerFMP4
		opts.SegmentURI = func(t *packager.Track, n int) string {
			return fmt.Sprintf("%s/%d.m4s", t.Name, n)
		}
		opts.InitURI = func(t *packager.Track) string { return t.Name + "/init.mp4" }
	}

	if j.prot.Scheme == packager.SchemeCBC {
		// Without a configured public base URL, BaseURL comes from the
		// Host header, so a forged Host would point the key URI, and the
		// key token in it, at another server. A root-relative URI is
		// resolved against the playlist's URL (RFC 8216 section 4.1), as
		// hls.js, Safari and ffmpeg do.
		base := j.req.BaseURL
		if j.req.BaseFromHost {
			base = ""
		}
		keyURI := base + hlsKeyPath + uuid.UUID(j.prot.Key.ID).String() + j.tokenQuery()
		opts.KeyURI = func(*packager.Track) string { return keyURI }
	}
	return opts
}

// tokenQuery returns the query that carries a player's key token into
// playlist and key URIs, or "" when the request brought none.
func (j *job) tokenQuery() string {
	if j.keyToken == "" {
		return ""
	}
	return "?token=" + j.keyToken
}

func (p *producer) multivariant(j *job) (*Output, error) {
	plan, err := j.pres.Plan(p.hlsTarget)
	if err != nil {
		return nil, err
	}
	body, err := hls.WriteMultivariant(nil, j.pres, plan, j.hlsOptions())
	if err != nil {
		return nil, err
	}
	return &Output{Body: body, ETag: j.etag, Manifest: true, Private: j.keyToken != ""}, nil
}

func (p *producer) playlist(j *job) (*Output, error) {
	t, err := j.track(j.req.Track)
	if err != nil {
		return nil, err
	}
	plan, err := j.pres.Plan(p.hlsTarget)
	if err != nil {
		return nil, err
	}
	body, err := hls.WriteMedia(nil, t, plan, j.hlsOptions())
	if err != nil {
		return nil, err
	}
	return &Output{Body: body, ETag: j.etag, Manifest: true, Private: j.keyToken != ""}, nil
}

func (p *producer) mpd(j *job) (*Output, error) {
	plan, err := j.pres.Plan(p.dashTarget)
	if err != nil {
		return nil, err
	}

	enc := j.prot.Scheme.String()
	opts := &dash.Options{
		Profile:       dash.ProfileCSF,
		InitTemplate:  "dash/" + enc + "/$RepresentationID$/init.mp4",
		MediaTemplate: "dash/" + enc + "/$RepresentationID$/$Number$.m4s",
	}
	if j.req.Format == FormatDASHCMAF {
		opts.Profile = dash.ProfileCMAF
	}
	if j.prot.Scheme == packager.SchemeCENC {
		// The license URL stays absolute even when BaseURL comes from the
		// Host header: players call it directly, not relative to the MPD.
		//
		// No W3C common ContentProtection with cenc:pssh: dash.js 5.2.1
		// sends that pssh as "keyids" init data when the page sets
		// protection data, and Chromium rejects it. The init segments
		// still carry the pssh box for plain EME pages.
		opts.Protection = &dash.Protection{
			KeyID:      j.prot.Key.ID,
			LicenseURL: j.req.BaseURL + clearKeyLicense,
			PSSH:       false,
		}
	}

	body, err := dash.Write(nil, j.pres, plan, opts)
	if err != nil {
		return nil, err
	}
	return &Output{Body: body, ETag: j.etag, Manifest: true}, nil
}

// smoothManifest builds the Smooth client manifest. When the request named
// its encryption explicitly, fragment URLs carry it too, because the
// fragment requests otherwise get the locator's default.
func (p *producer) smoothManifest(j *job) (*Output, error) {
	m, err := p.smoothIndex(j)
	if err != nil {
		return nil, err
	}
	if j.req.SchemeSet {
		media := m.Media()
		for i := range media.Streams {
			url := &media.Streams[i].URL
			*url = strings.TrimSuffix(*url, ")") + ",encryption=" + j.prot.Scheme.String() + ")"
		}
	}
	body, err := m.Append(nil)
	if err != nil {
		return nil, err
	}
	return &Output{Body: body, ETag: j.etag, Manifest: true}, nil
}

// smoothIndex builds the Smooth manifest model of the request's
// presentation, which also maps fragment URLs back to segments.
func (p *producer) smoothIndex(j *job) (*smooth.Manifest, error) {
	plan, err := j.pres.Plan(p.smoothTarget)
	if err != nil {
		return nil, err
	}
	opts := &smooth.Options{}
	if j.prot.Scheme == packager.SchemeCENC {
		kid := j.prot.Key.ID
		opts.KeyID = &kid
	}
	return smooth.New(j.pres, plan, opts)
}

// smoothLookup returns the index that maps the request's Smooth fragment
// URL to a track and segment, which does not depend on the protection.
// smooth.IndexFor builds it once per plan and drops it with the plan, so
// it keeps no presentation alive after the loader evicted it.
func (p *producer) smoothLookup(j *job) (*smooth.Index, error) {
	plan, err := j.pres.Plan(p.smoothTarget)
	if err != nil {
		return nil, err
	}
	return smooth.IndexFor(j.pres, plan)
}
