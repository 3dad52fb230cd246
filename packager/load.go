package packager

import (
	"cmp"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultTarget is the segment duration the loader plans with to set
// Track.MaxBitrate. Outputs plan with their own targets.
const DefaultTarget = 6 * time.Second

// maxPresentations bounds the number of entries of the presentation
// cache. Its memory is bounded separately, by presBytes.
const maxPresentations = 1024

// maxTrackName is the longest track name. The origin's URL parser accepts
// track names of at most 64 characters, so a longer name would give
// playlist URIs that no request can reach.
const maxTrackName = 64

// mediaExtensions are the file name extensions of MP4 files that a
// synthesized server manifest includes.
var mediaExtensions = []string{".mp4", ".ismv", ".isma", ".m4a", ".m4v", ".cmfv", ".cmfa"}

// Loader builds presentations from asset files, caching file indexes and
// built presentations. It is safe for concurrent use.
//
// Memory: the index cache holds at most maxIndexBytes of estimated index
// memory. The presentation cache holds at most max(maxIndexBytes, 64 MiB)
// of the tracks' estimated memory, counting a presentation's tracks even
// where it shares their sample tables with cached indexes. A presentation
// larger than that bound is rejected. The sample tables both caches keep
// alive are therefore bounded by their sum.
type Loader struct {
	index *indexCache
	// maxPresBytes bounds the estimated memory of cached presentations.
	maxPresBytes int64

	mu        sync.Mutex
	pres      map[presentationKey]*list.Element
	order     *list.List // of *presentationEntry, most recent at the front
	presBytes int64
}

type presentationKey struct{ asset, manifest string }

type presentationEntry struct {
	key   presentationKey
	files []FileInfo // the asset listing the presentation was built from
	p     *Presentation
	bytes int64
}

// LoaderStats are the loader's cache counters, for metrics.
type LoaderStats struct {
	// IndexHits counts index requests served from the cache or by joining
	// a parse already in progress; IndexMisses counts parses.
	IndexHits, IndexMisses uint64
	IndexEntries           int
	// IndexBytes is the estimated memory of the cached indexes.
	IndexBytes    int64
	Presentations int
	// PresentationBytes is the estimated memory of the cached
	// presentations' tracks.
	PresentationBytes int64
}

// NewLoader returns a loader whose index cache holds at most
// maxIndexBytes of estimated index memory and whose presentation cache
// holds at most max(maxIndexBytes, 64 MiB).
func NewLoader(maxIndexBytes int64) *Loader {
	return &Loader{
		index:        newIndexCache(maxIndexBytes),
		maxPresBytes: max(maxIndexBytes, minPresentationCacheBytes),
		pres:         map[presentationKey]*list.Element{},
		order:        list.New(),
	}
}

// Stats returns the cache counters.
func (l *Loader) Stats() LoaderStats {
	hits, misses, entries, bytes := l.index.stats()
	l.mu.Lock()
	n, presBytes := len(l.pres), l.presBytes
	l.mu.Unlock()
	return LoaderStats{IndexHits: hits, IndexMisses: misses, IndexEntries: entries, IndexBytes: bytes,
		Presentations: n, PresentationBytes: presBytes}
}

// Load returns the default presentation of an asset. It uses the .ism file
// named like the asset, else the asset's only .ism file. Otherwise, also
// when several .ism files exist and none is named like the asset, it
// synthesizes one from every video and audio track of the MP4 files.
func (l *Loader) Load(ctx context.Context, asset string, o Opener) (*Presentation, error) {
	return l.LoadNamed(ctx, asset, "", o)
}

// LoadNamed returns the presentation of the server manifest name.ism. The
// name "" or the asset name selects the default presentation as Load
// does. An unknown name returns an error wrapping ErrNotFound.
func (l *Loader) LoadNamed(ctx context.Context, asset, name string, o Opener) (*Presentation, error) {
	files, err := o.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing asset %q: %w", asset, err)
	}
	manifest, err := selectManifest(files, asset, name)
	if err != nil {
		return nil, err
	}

	key := presentationKey{asset: asset, manifest: manifest}
	if p := l.cached(key, files); p != nil {
		return p, nil
	}
	p, err := l.build(ctx, asset, manifest, files, o)
	if err != nil {
		return nil, err
	}
	size := estimatePresentationBytes(p)
	if size > l.maxPresBytes {
		return nil, fmt.Errorf("presentation %q of asset %q needs about %d MiB of sample tables, more than the loader's bound of %d MiB; raise the index cache size: %w",
			p.Name, asset, size>>20, l.maxPresBytes>>20, ErrInvalidMedia)
	}
	p.Version = listingVersion(files)
	l.store(key, files, p, size)
	return p, nil
}

// selectManifest returns the .ism file to load, or "" to synthesize one.
func selectManifest(files []FileInfo, asset, name string) (string, error) {
	var manifests []string
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".ism") {
			manifests = append(manifests, f.Name)
		}
	}

	if name != "" && name != asset {
		if slices.Contains(manifests, name+".ism") {
			return name + ".ism", nil
		}
		return "", fmt.Errorf("server manifest %q in asset %q: %w", name+".ism", asset, ErrNotFound)
	}
	switch {
	case slices.Contains(manifests, asset+".ism"):
		return asset + ".ism", nil
	case len(manifests) == 1:
		return manifests[0], nil
	}
	return "", nil
}

func (l *Loader) cached(key presentationKey, files []FileInfo) *Presentation {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.pres[key]
	if !ok {
		return nil
	}
	e := el.Value.(*presentationEntry)
	if !sameListing(e.files, files) {
		l.remove(el)
		return nil
	}
	l.order.MoveToFront(el)
	return e.p
}

// store caches p, whose estimated size is at most l.maxPresBytes, and
// evicts the least recently used presentations past the bounds.
func (l *Loader) store(key presentationKey, files []FileInfo, p *Presentation, size int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.pres[key]; ok {
		l.remove(el)
	}
	l.pres[key] = l.order.PushFront(&presentationEntry{key: key, files: files, p: p, bytes: size})
	l.presBytes += size
	for len(l.pres) > maxPresentations || l.presBytes > l.maxPresBytes {
		l.remove(l.order.Back())
	}
}

// remove drops one presentation from the cache; l.mu is held.
func (l *Loader) remove(el *list.Element) {
	e := el.Value.(*presentationEntry)
	l.order.Remove(el)
	delete(l.pres, e.key)
	l.presBytes -= e.bytes
}

// estimatePresentationBytes estimates the memory of a presentation's
// tracks, sample tables included.
func estimatePresentationBytes(p *Presentation) int64 {
	n := int64(512)
	for _, t := range p.Tracks {
		n += estimateTrackBytes(t)
	}
	return n
}

// listingVersion hashes an asset listing into Presentation.Version.
func listingVersion(files []FileInfo) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%q %d %d %q\n", f.Name, f.Size, f.ModTime.UnixNano(), f.ETag)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// sameListing reports whether two asset listings name the same versions
// of the same files.
func sameListing(a, b []FileInfo) bool {
	return slices.EqualFunc(a, b, func(x, y FileInfo) bool {
		return x.Name == y.Name && x.Size == y.Size && x.ETag == y.ETag && x.ModTime.Equal(y.ModTime)
	})
}

// build indexes the files a presentation needs and assembles it.
func (l *Loader) build(ctx context.Context, asset, manifest string, files []FileInfo, o Opener) (*Presentation, error) {
	var m *ServerManifest
	var err error
	if manifest != "" {
		m, err = readServerManifest(ctx, o, manifest)
	} else {
		m, err = synthesizeManifest(ctx, l, asset, files, o)
	}
	if err != nil {
		return nil, err
	}

	indexes := map[string]*FileIndex{}
	for _, e := range m.Entries {
		if e.Kind == KindText || indexes[e.Src] != nil {
			continue
		}
		fi, ok := findFile(files, e.Src)
		if !ok {
			return nil, fmt.Errorf("server manifest %q names %q, which asset %q does not have: %w", manifest, e.Src, asset, ErrInvalidMedia)
		}
		idx, err := l.indexFile(ctx, asset, fi, o)
		if err != nil {
			return nil, err
		}
		indexes[e.Src] = idx
	}

	if err := l.checkIVIdentities(ctx, asset, files, o, indexes); err != nil {
		return nil, err
	}

	name := m.Name
	if manifest == "" {
		name = asset
	}
	return buildPresentation(asset, name, m, indexes)
}

func findFile(files []FileInfo, name string) (FileInfo, bool) {
	i := slices.IndexFunc(files, func(f FileInfo) bool { return f.Name == name })
	if i < 0 {
		return FileInfo{}, false
	}
	return files[i], true
}

// indexFile returns the cached index of one file, parsing it on a miss.
func (l *Loader) indexFile(ctx context.Context, asset string, fi FileInfo, o Opener) (*FileIndex, error) {
	return l.index.get(ctx, keyOf(asset, fi), func() (*FileIndex, error) {
		f, _, err := o.Open(ctx, fi.Name)
		if err != nil {
			return nil, fmt.Errorf("opening %q of asset %q: %w", fi.Name, asset, err)
		}
		if c, ok := f.(io.Closer); ok {
			defer c.Close()
		}
		idx, err := IndexFile(f, fi.Name)
		if err != nil {
			return nil, err
		}
		for _, t := range idx.Tracks {
			t.IVIdentity = ivIdentity(asset, fi, t.TrackID)
		}
		return idx, nil
	})
}

func readServerManifest(ctx context.Context, o Opener, name string) (*ServerManifest, error) {
	f, _, err := o.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("opening server manifest %q: %w", name, err)
	}
	if c, ok := f.(io.Closer); ok {
		defer c.Close()
	}
	if f.Size() > maxServerManifest {
		return nil, fmt.Errorf("server manifest %q is %d bytes, larger than %d: %w", name, f.Size(), maxServerManifest, ErrInvalidMedia)
	}
	return ParseServerManifest(io.NewSectionReader(f, 0, f.Size()), name)
}

// synthesizeManifest lists every video and audio track of every MP4 file
// of the asset, in file name order.
func synthesizeManifest(ctx context.Context, l *Loader, asset string, files []FileInfo, o Opener) (*ServerManifest, error) {
	m := &ServerManifest{Name: asset}
	for _, fi := range files {
		if !slices.Contains(mediaExtensions, strings.ToLower(path.Ext(fi.Name))) {
			continue
		}
		idx, err := l.indexFile(ctx, asset, fi, o)
		if err != nil {
			return nil, err
		}
		for _, t := range idx.Tracks {
			m.Entries = append(m.Entries, ManifestEntry{Kind: t.Kind, Src: fi.Name, TrackID: t.TrackID})
		}
	}
	if len(m.Entries) == 0 {
		return nil, fmt.Errorf("asset %q has no MP4 file with video or audio tracks: %w", asset, ErrNotFound)
	}
	return m, nil
}

// buildPresentation picks the manifest's tracks from the file indexes,
// orders them (video by ascending bitrate, then audio, each group stable
// in manifest order) and names them.
func buildPresentation(asset, name string, m *ServerManifest, indexes map[string]*FileIndex) (*Presentation, error) {
	type candidate struct {
		t       *Track
		bitrate uint32
		entry   ManifestEntry
	}
	var cands []candidate
	for _, e := range m.Entries {
		if e.Kind == KindText {
			// TODO: serve textstream entries once the packager reads WebVTT; until then they are skipped.
			continue
		}
		src, err := pickTrack(indexes[e.Src], e)
		if err != nil {
			return nil, fmt.Errorf("server manifest %q: %w", m.Name+".ism", err)
		}
		t := *src // shallow copy: Index and Name belong to this presentation
		if e.SystemLanguage != "" {
			t.Language = e.SystemLanguage
		}
		cands = append(cands, candidate{t: &t, bitrate: cmp.Or(e.SystemBitrate, t.Bitrate), entry: e})
	}

	slices.SortStableFunc(cands, func(a, b candidate) int {
		if a.t.Kind != b.t.Kind {
			return cmp.Compare(a.t.Kind, b.t.Kind)
		}
		if a.t.Kind == KindVideo {
			return cmp.Compare(a.bitrate, b.bitrate)
		}
		return 0
	})

	p := &Presentation{Asset: asset, Name: name}
	used := map[string]bool{}
	for i, c := range cands {
		c.t.Index = i
		c.t.Name = uniqueName(trackName(c.t, c.entry.TrackName, c.bitrate), used)
		p.Tracks = append(p.Tracks, c.t)
		if d := time.Duration(float64(c.t.Duration) / float64(c.t.Timescale) * float64(time.Second)); d > p.Duration {
			p.Duration = d
		}
	}
	setMaxBitrates(p)
	return p, nil
}

// pickTrack returns the track of a file that a manifest entry selects.
func pickTrack(idx *FileIndex, e ManifestEntry) (*Track, error) {
	for _, t := range idx.Tracks {
		if e.TrackID != 0 && t.TrackID == e.TrackID || e.TrackID == 0 && t.Kind == e.Kind {
			if t.Kind != e.Kind {
				return nil, fmt.Errorf("%s entry names track %d of %q, which is %s: %w", e.Kind, e.TrackID, e.Src, t.Kind, ErrInvalidMedia)
			}
			return t, nil
		}
	}
	return nil, fmt.Errorf("%s entry names track %d of %q, which has no such %s track: %w", e.Kind, e.TrackID, e.Src, e.Kind, ErrInvalidMedia)
}

// trackName returns the manifest's trackName, sanitized, or a name built
// from the kind, language and bitrate.
// from the kind, language and bitrate, cut to maxTrackName characters.
func trackName(t *Track, manifestName string, bitrate uint32) string {
	if n := sanitizeTrackName(manifestName); n != "" {
		return truncateName(n, maxTrackName)
	}
	kbps := (bitrate + 500) / 1000
	if t.Kind == KindAudio {
		return truncateName(sanitizeTrackName(fmt.Sprintf("audio_%s_%dk", t.Language, kbps)), maxTrackName)
	}
	return fmt.Sprintf("%s_%dk", t.Kind, kbps)
}

// uniqueName appends _2, _3, ... to a name already used, cutting the name
// so that the result stays within maxTrackName characters.
func uniqueName(name string, used map[string]bool) string {
	candidate := name
	for n := 2; used[candidate]; n++ {
		suffix := fmt.Sprintf("_%d", n)
		candidate = truncateName(name, maxTrackName-len(suffix)) + suffix
	}
	used[candidate] = true
	return candidate
}

// truncateName cuts a sanitized name, which is ASCII, to n bytes.
func truncateName(name string, n int) string {
	if len(name) > n {
		return name[:n]
	}
	return name
}

// setMaxBitrates sets Track.MaxBitrate from the plan at DefaultTarget.
// When video renditions do not align, no plan exists and MaxBitrate is the
// average; outputs report the planning error themselves.
func setMaxBitrates(p *Presentation) {
	plan, err := p.Plan(DefaultTarget)
	for _, t := range p.Tracks {
		t.MaxBitrate = t.Bitrate
		if err == nil {
			t.MaxBitrate = max(plan.PeakBitrate(t), t.Bitrate)
		}
	}
}
