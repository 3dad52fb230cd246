package packager

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// ivIdentity returns Track.IVIdentity for track trackID of one version of
// one file of an asset: the first 32 bits of a SHA-256 over the asset,
// file name, size, modification time, ETag and track ID. A new version of
// a file gets new IVs, so changed content is never encrypted under the
// counter blocks of the old content.
func ivIdentity(asset string, fi FileInfo, trackID uint32) uint32 {
	h := sha256.New()
	fmt.Fprintf(h, "lockstream track iv\n%q\n%q\n%d\n%d\n%q\n%d\n", asset, fi.Name, fi.Size, fi.ModTime.UnixNano(), fi.ETag, trackID)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// checkIVIdentities rejects an asset in which two tracks that any of its
// presentations can serve share an IVIdentity, because one content key
// encrypts them all. Those are the tracks of the files a synthesized
// manifest would list and of the files any .ism of the asset names.
// indexes holds the files the presentation being built uses. A file that
// only other presentations use and that fails to index as invalid or
// unsupported media is skipped: no presentation can serve it.
func (l *Loader) checkIVIdentities(ctx context.Context, asset string, files []FileInfo, o Opener, indexes map[string]*FileIndex) error {
	names, err := assetSources(ctx, files, o)
	if err != nil {
		return err
	}

	type owner struct {
		file    string
		trackID uint32
	}
	seen := map[uint32]owner{}
	for _, fi := range files {
		idx := indexes[fi.Name]
		if idx == nil {
			if !slices.Contains(names, fi.Name) {
				continue
			}
			idx, err = l.indexFile(ctx, asset, fi, o)
			if errors.Is(err, ErrInvalidMedia) || errors.Is(err, ErrUnsupported) {
				continue
			}
			if err != nil {
				return err
			}
		}

		for _, t := range idx.Tracks {
			if prev, ok := seen[t.IVIdentity]; ok {
				return fmt.Errorf("asset %q: track %d of %q and track %d of %q have the same IV identity %08x, so their IVs would collide; change either file's version (rewrite or touch it): %w",
					asset, prev.trackID, prev.file, t.TrackID, fi.Name, t.IVIdentity, ErrInvalidMedia)
			}
			seen[t.IVIdentity] = owner{file: fi.Name, trackID: t.TrackID}
		}
	}
	return nil
}

// assetSources returns the names of the files that some presentation of
// the asset can read tracks from: MP4 files by extension and the video
// and audio sources of every .ism. A .ism that cannot be parsed serves
// nothing and is skipped.
func assetSources(ctx context.Context, files []FileInfo, o Opener) ([]string, error) {
	var names []string
	for _, fi := range files {
		if slices.Contains(mediaExtensions, strings.ToLower(path.Ext(fi.Name))) {
			names = append(names, fi.Name)
		}
	}
	for _, fi := range files {
		if !strings.HasSuffix(fi.Name, ".ism") {
			continue
		}
		m, err := readServerManifest(ctx, o, fi.Name)
		if errors.Is(err, ErrInvalidMedia) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range m.Entries {
			if e.Kind != KindText {
				names = append(names, e.Src)
			}
		}
	}
	return names, nil
}
