package origin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/cbc"
	"github.com/lockstream/lockstream/packager/fmp4"
	"github.com/lockstream/lockstream/packager/smooth"
	"github.com/lockstream/lockstream/packager/ts"
	"github.com/lockstream/lockstream/storage"
)

// target returns the segment duration the request's format plans with.
func (p *producer) target(f Format) time.Duration {
	switch f.Protocol() {
	case ProtocolHLS:
		return p.hlsTarget
	case ProtocolDASH:
		return p.dashTarget
	}
	return p.smoothTarget
}

func (p *producer) init(j *job) (*Output, error) {
	t, err := j.track(j.req.Track)
	if err != nil {
		return nil, err
	}

	// HLS init segments stay clear: AES-128 encrypts media segments only,
	// and the playlist puts EXT-X-MAP before EXT-X-KEY to say so.
	prot := j.prot
	if prot.Scheme == packager.SchemeCBC {
		prot = packager.Protection{}
	}
	body, err := fmp4.Init(nil, t, prot)
	if err != nil {
		return nil, err
	}
	return &Output{Body: body, ContentType: mp4ContentType(t), ETag: j.etag}, nil
}

// segmentRange looks up the track, the segment plan and the 0-based
// segment index of a media segment request.
func (p *producer) segmentRange(j *job) (*packager.Track, *packager.SegmentPlan, int, error) {
	t, err := j.track(j.req.Track)
	if err != nil {
		return nil, nil, 0, err
	}
	plan, err := j.pres.Plan(p.target(j.req.Format))
	if err != nil {
		return nil, nil, 0, err
	}
	index := j.req.Segment - 1
	if index < 0 || index >= plan.SegmentCount() {
		return nil, nil, 0, fmt.Errorf("segment %d of track %q (the track has %d): %w", j.req.Segment, t.Name, plan.SegmentCount(), packager.ErrNotFound)
	}
	return t, plan, index, nil
}

// segment builds one TS or fMP4 media segment of an HLS or DASH track.
func (p *producer) segment(ctx context.Context, j *job) (*Output, error) {
	t, plan, index, err := p.segmentRange(j)
	if err != nil {
		return nil, err
	}
	r := plan.Ranges[t.Index][index]
	samples := t.Samples[r.Start:r.End]
	isTS := j.req.Format == FormatHLSTS || j.req.Format == FormatHLSTSv3

	// Clear fMP4 sample data goes out unchanged, so it can be sent from
	// the file. CENC encrypts it and HLS AES-128 the whole segment, in
	// memory.
	if !isTS && j.prot.Scheme == packager.SchemeClear {
		out, err := p.fileOutput(ctx, j, t, r, mp4ContentType(t), func(dst []byte) ([]byte, error) {
			return fmp4.ClearSegmentHeader(dst, t, uint32(j.req.Segment), r.Start, samples)
		})
		if out != nil || err != nil {
			return out, err
		}
	}

	data := p.getBuffer()
	if data.data, err = p.readSamples(ctx, j, t, r, data.data[:0]); err != nil {
		p.putBuffer(data)
		return nil, err
	}

	b := &segmentBuild{}
	if isTS {
		err = p.buildTS(b, t, samples, data)
	} else {
		// HLS AES-128 encrypts the clear fMP4 segment as a whole below.
		prot := j.prot
		if prot.Scheme == packager.SchemeCBC {
			prot = packager.Protection{}
		}
		err = p.buildFMP4(b, data, func(dst []byte) ([]byte, error) {
			return fmp4.SegmentHeader(dst, t, uint32(j.req.Segment), r.Start, samples, data.data, prot)
		})
	}
	if err != nil {
		return nil, err
	}

	if j.prot.Scheme == packager.SchemeCBC {
		container := packager.ContainerFMP4
		if b.ts {
			container = packager.ContainerTS
		}
		p.encryptCBC(b, j.prot.Key.Value, packager.SegmentIV(container, t, r, index))
	}

	contentType := mp4ContentType(t)
	if b.ts {
		contentType = "video/mp2t"
	}
	return p.output(b, contentType, j.etag), nil
}

// fragmentRange looks up the track index, the segment plan and the
// 0-based segment index of a Smooth fragment request.
func (p *producer) fragmentRange(j *job) (int, *packager.SegmentPlan, int, error) {
	m, err := p.smoothLookup(j)
	if err != nil {
		return 0, nil, 0, err
	}
	trackIndex, index, err := m.Lookup(j.req.Stream, j.req.Bitrate, int64(j.req.Time))
	if err != nil {
		return 0, nil, 0, err
	}
	plan, err := j.pres.Plan(p.smoothTarget)
	if err != nil {
		return 0, nil, 0, err
	}
	return trackIndex, plan, index, nil
}

// fragment builds one Smooth Streaming fragment.
func (p *producer) fragment(ctx context.Context, j *job) (*Output, error) {
	trackIndex, plan, index, err := p.fragmentRange(j)
	if err != nil {
		return nil, err
	}
	t := j.pres.Tracks[trackIndex]
	r := plan.Ranges[trackIndex][index]

	if j.prot.Scheme == packager.SchemeClear {
		out, err := p.fileOutput(ctx, j, t, r, mp4ContentType(t), func(dst []byte) ([]byte, error) {
			return fmp4.ClearSmoothFragmentHeader(dst, t, uint32(index+1), r.Start, t.Samples[r.Start:r.End], smooth.TimeScale)
		})
		if out != nil || err != nil {
			return out, err
		}
	}

	data := p.getBuffer()
	if data.data, err = p.readSamples(ctx, j, t, r, data.data[:0]); err != nil {
		p.putBuffer(data)
		return nil, err
	}

	b := &segmentBuild{}
	err = p.buildFMP4(b, data, func(dst []byte) ([]byte, error) {
		return fmp4.SmoothFragmentHeader(dst, t, uint32(index+1), r.Start, t.Samples[r.Start:r.End], data.data, smooth.TimeScale, j.prot)
	})
	if err != nil {
		return nil, err
	}
	return p.output(b, mp4ContentType(t), j.etag), nil
}

// segmentBuild is a built segment in pooled buffers: head, followed by
// tail when tail is not nil.
type segmentBuild struct {
	head, tail *segmentBuffer
	ts         bool
}

// buildTS muxes the sample data into an MPEG-TS segment and returns the
// data buffer to the pool: TS interleaves packet headers with the data,
// so it is copied.
func (p *producer) buildTS(b *segmentBuild, t *packager.Track, samples []packager.Sample, data *segmentBuffer) error {
	out := p.getBuffer()
	var err error
	out.data, err = ts.Segment(out.data[:0], t, samples, data.data)
	p.putBuffer(data)
	if err != nil {
		p.putBuffer(out)
		return err
	}
	b.head, b.ts = out, true
	return nil
}

// buildFMP4 writes the boxes before the sample data with writeHeader and
// keeps data as the segment's tail, so the sample data is sent from the
// buffer it was read into. With CENC, writeHeader encrypts data in place.
func (p *producer) buildFMP4(b *segmentBuild, data *segmentBuffer, writeHeader func(dst []byte) ([]byte, error)) error {
	head := p.getHeadBuffer()
	var err error
	head.data, err = writeHeader(head.data[:0])
	if err != nil {
		p.putBuffer(head)
		p.putBuffer(data)
		return err
	}
	b.head, b.tail = head, data
	return nil
}

// encryptCBC replaces the built segment by its AES-128-CBC encryption,
// the whole-segment encryption of RFC 8216 section 4.3.2.4 with the
// explicit IV that the playlist's EXT-X-KEY carries.
func (p *producer) encryptCBC(b *segmentBuild, key, iv [16]byte) {
	if b.tail == nil {
		b.head.data = cbc.EncryptInPlace(b.head.data, key, iv)
		return
	}
	enc := p.getBuffer()
	var tail []byte
	if b.tail != nil {
		tail = b.tail.data
	}
	enc.data = cbc.EncryptParts(enc.data[:0], key, iv, b.head.data, tail)
	p.release(b)
	b.head, b.tail = enc, nil
}

// output wraps a built segment in an Output that returns its buffers to
// the pool when the response is written.
func (p *producer) output(b *segmentBuild, contentType, etag string) *Output {
	out := &Output{Body: b.head.data, ContentType: contentType, ETag: etag, Release: func() { p.release(b) }}
	if b.tail != nil {
		out.Tail = b.tail.data
	}
	return out
}

func (p *producer) release(b *segmentBuild) {
	p.putBuffer(b.head)
	if b.tail != nil {
		p.putBuffer(b.tail)
	}
}

// readSamples reads the sample data of one segment from the track's file.
func (p *producer) readSamples(ctx context.Context, j *job, t *packager.Track, r packager.SampleRange, dst []byte) ([]byte, error) {
	f, err := p.openTrackFile(ctx, j, t)
	if err != nil {
		return nil, err
	}
	defer p.files.release(f)

	data, err := packager.ReadSamples(f.obj, t, r, dst)
	if errors.Is(err, storage.ErrChanged) {
		p.files.forget(f.key)
	}
	return data, err
}

// openTrackFile returns the open file of a track. Local files come from
// the file cache when the asset listing names them. Blob objects are not
// cached: opening a listed version costs no request (versionOpener), and
// their reads run under the context of the request that opened them.
func (p *producer) openTrackFile(ctx context.Context, j *job, t *packager.Track) (*openFile, error) {
	if _, ok := p.store.(versionOpener); !ok {
		infos, err := p.listings.list(ctx, p.store, j.loc.Asset)
		if err != nil {
			return nil, err
		}
		for _, info := range infos {
			if info.Name == t.File {
				return p.acquireListed(ctx, j, fileKeyOf(j.loc.Asset, info))
			}
		}
	}

	// Opened for this request only; release closes it.
	obj, err := j.opener.open(ctx, t.File)
	if err != nil {
		return nil, err
	}
	return &openFile{obj: obj, refs: 1, evicted: true}, nil
}

// acquireListed returns the open file of a listed version. A file that
// opens as another version changed after the listing, and the index may
// not describe it, so its bytes are not used: the error wraps
// storage.ErrChanged, which makes the next request list the asset again.
func (p *producer) acquireListed(ctx context.Context, j *job, key fileKey) (*openFile, error) {
	f, err := p.files.acquire(ctx, key, &j.opener)
	if err != nil {
		return nil, err
	}
	// The cache keeps only files that opened as the listed version, so
	// this compares the object's own immutable info and never reads
	// f.evicted, which other requests change under the cache's lock.
	if fileKeyOf(key.asset, f.obj.Info()) != key {
		p.files.release(f)
		return nil, fmt.Errorf("opening %q of asset %q: %w", key.name, key.asset, errVersionChanged)
	}
	return f, nil
}

func mp4ContentType(t *packager.Track) string {
	if t.Kind == packager.KindAudio {
		return "audio/mp4"
	}
	return "video/mp4"
}

// segmentBuffer is a pooled byte slice; the pointer keeps sync.Pool from
// allocating on Put.
type segmentBuffer struct{ data []byte }

// maxPooledBuffer keeps buffers of unusually large segments out of the
// pool, so one outlier does not pin its memory for good.
const maxPooledBuffer = 16 << 20

func (p *producer) getBuffer() *segmentBuffer {
	if b, ok := p.buffers.Get().(*segmentBuffer); ok {
		return b
	}
	return &segmentBuffer{}
}

// maxHeadBuffer is the capacity up to which putBuffer returns a buffer
// to the pool of fMP4 headers instead of the pool of segment buffers. A
// header takes about 16 bytes per sample in the clear and more with CENC,
// and a header held during a response must not pin a segment-sized array.
const maxHeadBuffer = 64 << 10

// getHeadBuffer returns a buffer for the boxes before an fMP4 segment's
// sample data.
func (p *producer) getHeadBuffer() *segmentBuffer {
	if b, ok := p.heads.Get().(*segmentBuffer); ok {
		return b
	}
	return &segmentBuffer{}
}

func (p *producer) putBuffer(b *segmentBuffer) {
	if cap(b.data) > maxPooledBuffer {
		return
	}
	b.data = b.data[:0]
	if cap(b.data) <= maxHeadBuffer {
		p.heads.Put(b)
		return
	}
	p.buffers.Put(b)
}
