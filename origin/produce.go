package origin

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/policy"
	"github.com/lockstream/lockstream/storage"
)

// KeySource returns the content key that encrypts a locator's streams.
type KeySource interface {
	LocatorContentKey(ctx context.Context, locatorID uuid.UUID, scheme packager.Scheme) (packager.ContentKey, error)
}

// producer is the packaging Producer: it loads the presentation of the
// locator's asset and builds the manifest, playlist, init segment, media
// segment or Smooth fragment the request addresses.
type producer struct {
	store    storage.Store
	loader   *packager.Loader
	listings *listingCache
	files    *fileCache
	// segments keeps built segments for repeat requests. It is nil when
	// the segment cache is off.
	segments *segmentCache
	// slots bounds the segment builds that run at once when the store
	// is local, where a build is CPU work on data in the page cache.
	// More builds than cores only interleave, so each holds its buffers
	// longer and memory grows with the number of clients while the
	// throughput does not. Builds from blob stores wait on the network,
	// so they are not bounded (slots is nil).
	// A build holds its slot while it reads, so reads that hang (a stuck
	// mount below the media root) could take every slot. A build that
	// waits longer than maxSlotWait therefore runs without one.
	slots chan struct{}
	keys  KeySource
	// deriver writes derived key tokens into HLS playlists; nil disables
	// them.
	deriver keyTokenDeriver

	hlsTarget    time.Duration
	dashTarget   time.Duration
	smoothTarget time.Duration

	// buffers recycles segment build buffers between requests, and heads
	// the smaller buffers of fMP4 headers.
	buffers sync.Pool
	heads   sync.Pool
}

var _ Producer = (*producer)(nil)

func newProducer(cfg Config, store storage.Store, keys KeySource) *producer {
	var slots chan struct{}
	if _, remote := store.(versionOpener); !remote {
		slots = make(chan struct{}, buildSlotsPerCore*runtime.GOMAXPROCS(0))
	}
	return &producer{
		slots:        slots,
		store:        store,
		loader:       packager.NewLoader(int64(cfg.IndexCacheMiB) << 20),
		listings:     newListingCache(time.Now),
		files:        newFileCache(time.Now),
		segments:     newSegmentCache(int64(cfg.SegmentCacheMiB) << 20),
		keys:         keys,
		hlsTarget:    cfg.HLSTargetDuration,
		dashTarget:   cfg.DASHTargetDuration,
		smoothTarget: cfg.SmoothTargetDuration,
	}
}

// buildSlotsPerCore is the number of local segment builds per core that
// run at once. Two keep a core busy while another build waits on a read
// that misses the page cache.
const buildSlotsPerCore = 2

// Close closes the asset files the producer keeps open. Requests still
// reading finish first: their files close when they are done.
func (p *producer) Close() error {
	p.files.close()
	return nil
}

// CacheStats reports the index cache counters for /metrics.
func (p *producer) CacheStats() CacheStats {
	s := p.loader.Stats()
	st := CacheStats{Hits: s.IndexHits, Misses: s.IndexMisses, Entries: s.IndexEntries, Bytes: s.IndexBytes}
	if p.segments != nil {
		st.Segments = p.segments.stats()
	}
	return st
}

// PresentationName returns the {name} of an asset's streaming URLs.
func (p *producer) PresentationName(ctx context.Context, asset string) (string, error) {
	pres, err := p.loader.Load(ctx, asset, p.opener(asset))
	if err != nil {
		return "", err
	}
	return pres.Name, nil
}

func (p *producer) opener(asset string) assetOpener {
	return assetOpener{store: p.store, asset: asset, listings: p.listings}
}

// Produce implements Producer.
func (p *producer) Produce(ctx context.Context, req *StreamRequest, loc *policy.Locator, scheme packager.Scheme) (*Output, error) {
	job, err := p.prepare(ctx, req, loc, scheme)
	if err != nil {
		return nil, err
	}

	var out *Output
	switch req.Kind {
	case ResourceManifest:
		p.addKeyToken(ctx, job)
		return p.manifest(job)
	case ResourcePlaylist:
		p.addKeyToken(ctx, job)
		return p.playlist(job)
	case ResourceInit:
		return p.init(job)
	case ResourceSegment:
		out, err = p.build(ctx, job, p.segment)
	case ResourceFragment:
		out, err = p.build(ctx, job, p.fragment)
	default:
		return nil, fmt.Errorf("resource kind %v: %w", req.Kind, packager.ErrNotFound)
	}
	if errors.Is(err, storage.ErrChanged) {
		// A file changed after the listing was taken: the next request
		// lists again, finds the new version and indexes it.
		p.listings.forget(loc.Asset)
	}
	return out, err
}

// build runs a segment or fragment build through the segment cache when
// it is on, and within the build slots.
func (p *producer) build(ctx context.Context, j *job, build func(context.Context, *job) (*Output, error)) (*Output, error) {
	limited := func() (*Output, error) {
		tookSlot, err := p.takeSlot(ctx)
		if err != nil {
			return nil, err
		}
		if tookSlot {
			defer func() { <-p.slots }()
		}
		return build(ctx, j)
	}
	if p.segments == nil {
		return limited()
	}
	key := segmentKey{etag: j.etag, key: j.prot.Key.Value}
	return p.segments.get(ctx, key, limited)
}

// maxSlotWait bounds how long a build waits for a slot. Under load a
// slot frees within milliseconds, because builds take about a
// millisecond of CPU; a longer wait means the slots are held by reads
// that do not return, and the build then runs beside them.
const maxSlotWait = 250 * time.Millisecond

// takeSlot waits for a build slot and reports whether it took one. It
// returns false without error when there are no slots, or when none
// freed within maxSlotWait.
func (p *producer) takeSlot(ctx context.Context) (bool, error) {
	if p.slots == nil {
		return false, nil
	}
	select {
	case p.slots <- struct{}{}:
		return true, nil
	default:
	}
	timer := time.NewTimer(maxSlotWait)
	defer timer.Stop()
	select {
	case p.slots <- struct{}{}:
		return true, nil
	case <-timer.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// ETag implements ETagger: the tag depends only on the request, the
// protection and the versions of the asset's files, so it is known
// before anything is built. The track, segment number or fragment time is
// looked up as Produce looks it up, so a resource that does not exist
// gets Produce's error, never a tag. A playlist that may carry a key
// token gets no tag here: the token is checked once, by Produce.
func (p *producer) ETag(ctx context.Context, req *StreamRequest, loc *policy.Locator, scheme packager.Scheme) (string, error) {
	job, err := p.prepare(ctx, req, loc, scheme)
	if err != nil {
		return "", err
	}
	if err := p.check(job); err != nil {
		return "", err
	}
	if p.mayCarryKeyToken(req, job.prot) {
		return "", nil
	}
	return job.etag, nil
}

// check returns the error Produce would return for a resource the
// presentation does not have, without building it.
func (p *producer) check(j *job) error {
	switch j.req.Kind {
	case ResourceManifest:
		_, err := j.pres.Plan(p.target(j.req.Format))
		return err
	case ResourcePlaylist:
		if _, err := j.track(j.req.Track); err != nil {
			return err
		}
		_, err := j.pres.Plan(p.hlsTarget)
		return err
	case ResourceInit:
		_, err := j.track(j.req.Track)
		return err
	case ResourceSegment:
		_, _, _, err := p.segmentRange(j)
		return err
	case ResourceFragment:
		_, _, _, err := p.fragmentRange(j)
		return err
	}
	return fmt.Errorf("resource kind %v: %w", j.req.Kind, packager.ErrNotFound)
}

// keyTokenDeriver checks a player's token for a key and returns the
// short-lived, key-scoped token written into playlist key URIs.
// keydelivery.Handler implements it.
type keyTokenDeriver interface {
	PlaylistKeyToken(ctx context.Context, kid uuid.UUID, token, client string, ttl time.Duration) string
}

// job is one request with everything resolved that every kind needs.
type job struct {
	req    *StreamRequest
	loc    *policy.Locator
	pres   *packager.Presentation
	prot   packager.Protection
	etag   string
	opener assetOpener
	// keyToken is the derived key token written into playlist and key
	// URIs for players that cannot set headers. It is empty when the request
	// carried no valid token.
	keyToken string
}

func (p *producer) prepare(ctx context.Context, req *StreamRequest, loc *policy.Locator, scheme packager.Scheme) (*job, error) {
	opener := p.opener(loc.Asset)
	pres, err := p.loader.LoadNamed(ctx, loc.Asset, req.Name, opener)
	if err != nil {
		return nil, err
	}

	prot := packager.Protection{Scheme: scheme}
	if scheme != packager.SchemeClear {
		if p.keys == nil {
			return nil, errors.New("encrypted output requested but no key source is configured")
		}
		key, err := p.keys.LocatorContentKey(ctx, loc.ID, scheme)
		if err != nil {
			return nil, fmt.Errorf("content key of locator %s: %w", loc.ID, err)
		}
		prot.Key = key
	}

	j := &job{
		req:    req,
		loc:    loc,
		pres:   pres,
		prot:   prot,
		opener: opener,
	}
	j.etag = entityTag(req, loc.Asset, pres, prot, "")
	return j, nil
}

// mayCarryKeyToken reports whether the response to req is an encrypted
// HLS manifest or playlist that carries a key token when req's token
// earns one. Segment URLs never carry it, so CDNs can cache segments for
// every viewer.
func (p *producer) mayCarryKeyToken(req *StreamRequest, prot packager.Protection) bool {
	return p.deriver != nil && req.Token != "" && prot.Scheme == packager.SchemeCBC &&
		(req.Kind == ResourceManifest || req.Kind == ResourcePlaylist)
}

// addKeyToken sets the job's key token, and the entity tag that depends
// on it, when the request's token earns one. A valid derived token of this
// key is written back unchanged. A token the content key policy grants
// earns a new derived token that expires no later than it does. The
// caller's own JWT is never copied into a playlist.
func (p *producer) addKeyToken(ctx context.Context, j *job) {
	if !p.mayCarryKeyToken(j.req, j.prot) {
		return
	}
	token := p.deriver.PlaylistKeyToken(ctx, uuid.UUID(j.prot.Key.ID), j.req.Token, j.req.Client, derivedKeyTokenTTL)
	if token == "" {
		return
	}
	j.keyToken = token
	j.etag = entityTag(j.req, j.loc.Asset, j.pres, j.prot, token)
}

// entityTag hashes everything an output depends on: the build, the
// request's resource, the asset folder, the protection's key ID (never
// the key), the base URL written into manifests and playlists, and the
// identity of every track's file. The asset is there because a locator
// ID may be deleted and created again on another asset whose files have
// the same names, sizes and times. Segments carry no URL, so their tag
// leaves the base URL out and is the same for every Host a request
// names. Strings go in with their length in front, numbers as 8
// big-endian bytes.
func entityTag(req *StreamRequest, asset string, pres *packager.Presentation, prot packager.Protection, keyToken string) string {
	// The fields fit the stack buffer for all but very long names and
	// URLs, so hashing one request allocates only the result.
	var stack [512]byte
	b := stack[:0]
	var locator [36]byte
	encodeUUID(locator[:], req.Locator)

	b = appendField(b, buildVersion)
	b = appendField(b, string(locator[:]))
	b = appendField(b, asset)
	b = appendField(b, req.Name)
	b = appendField(b, req.Kind.String())
	b = appendField(b, string(req.Format))
	b = appendField(b, req.Track)
	b = appendField(b, req.Stream)
	b = appendField(b, tagBaseURL(req))
	b = binary.BigEndian.AppendUint64(b, uint64(req.Segment))
	b = binary.BigEndian.AppendUint64(b, req.Time)
	b = binary.BigEndian.AppendUint64(b, uint64(req.Bitrate))
	b = appendField(b, prot.Scheme.String())
	b = append(b, prot.Key.ID[:]...)
	b = appendField(b, pres.Version)
	b = appendField(b, keyToken)

	sum := sha256.Sum256(b)
	var tag [2 + 2*16]byte
	tag[0], tag[len(tag)-1] = '"', '"'
	hex.Encode(tag[1:], sum[:16])
	return string(tag[:])
}

// tagBaseURL returns the base URL an output depends on: the request's for
// manifests and playlists, which write absolute URLs, and none for
// segments and fragments.
func tagBaseURL(req *StreamRequest) string {
	if req.Kind == ResourceManifest || req.Kind == ResourcePlaylist {
		return req.BaseURL
	}
	return ""
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// encodeUUID writes the canonical text form of id, as uuid.UUID.String
// returns it, into dst without allocating.
func encodeUUID(dst []byte, id uuid.UUID) {
	hex.Encode(dst[0:8], id[0:4])
	dst[8] = '-'
	hex.Encode(dst[9:13], id[4:6])
	dst[13] = '-'
	hex.Encode(dst[14:18], id[6:8])
	dst[18] = '-'
	hex.Encode(dst[19:23], id[8:10])
	dst[23] = '-'
	hex.Encode(dst[24:], id[10:])
}

// buildVersion is part of every ETag, so a new build that changes output
// bytes never shares a tag with an old one. The command sets it.
var buildVersion = "dev"

// SetBuildVersion records the binary's version for entity tags.
func SetBuildVersion(v string) {
	if v != "" {
		buildVersion = v
	}
}

// track returns the presentation's track of the given name.
func (j *job) track(name string) (*packager.Track, error) {
	for _, t := range j.pres.Tracks {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("track %q of presentation %q: %w", name, j.pres.Name, packager.ErrNotFound)
}
