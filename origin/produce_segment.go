package origin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/lockstream/lockstream/packager"
	"github.com/lockstream/lockstream/packager/cbc"
	"github.com/lockstream/lockstream/packager/fmp4"
	"github.com/lockstream/lockstream/packager/smooth"
	"github.com/lockstream/lockstream/packager/ts"
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

// segment builds one TS or fMP4 media segment of an HLS or DASH track.
func (p *producer) segment(ctx context.Context, j *job) (*Output, error) {
	t, err := j.track(j.req.Track)
	if err != nil {
		return nil, err
	}
	plan, err := j.pres.Plan(p.target(j.req.Format))
	if err != nil {
		return nil, err
	}
	index := j.req.Segment - 1
	if index < 0 || index >= plan.SegmentCount() {
		return nil, fmt.Errorf("segment %d of track %q (the track has %d): %w", j.req.Segment, t.Name, plan.SegmentCount(), packager.ErrNotFound)
	}
	r := plan.Ranges[t.Index][index]
	samples := t.Samples[r.Start:r.End]

	buf := p.getBuffer()
	data, err := p.readSamples(ctx, j, t, r, buf.data[:0])
	if err != nil {
		p.putBuffer(buf)
		return nil, err
	}
	buf.data = data

	out := p.getBuffer()
	container := packager.ContainerFMP4
	switch j.req.Format {
	case FormatHLSTS, FormatHLSTSv3:
		container = packager.ContainerTS
		out.data, err = ts.Segment(out.data[:0], t, samples, data)
	default:
		prot := j.prot
		if prot.Scheme == packager.SchemeCBC {
			prot = packager.Protection{}
		}
		out.data, err = fmp4.Segment(out.data[:0], t, uint32(j.req.Segment), r.Start, samples, data, prot)
	}
	p.putBuffer(buf)
	if err != nil {
		p.putBuffer(out)
		return nil, err
	}

	if j.prot.Scheme == packager.SchemeCBC {
		// RFC 8216 section 4.3.2.4: the whole segment is encrypted, with
		// the explicit IV the playlist's EXT-X-KEY carries.
		enc := p.getBuffer()
		iv := packager.SegmentIV(container, t, r, index)
		enc.data = cbc.Encrypt(enc.data[:0], out.data, j.prot.Key.Value, iv)
		p.putBuffer(out)
		out = enc
	}

	contentType := mp4ContentType(t)
	if container == packager.ContainerTS {
		contentType = "video/mp2t"
	}
	return &Output{Body: out.data, ContentType: contentType, ETag: j.etag, Release: func() { p.putBuffer(out) }}, nil
}

// fragment builds one Smooth Streaming fragment.
func (p *producer) fragment(ctx context.Context, j *job) (*Output, error) {
	m, err := p.smoothIndex(j)
	if err != nil {
		return nil, err
	}
	trackIndex, index, err := m.Lookup(j.req.Stream, j.req.Bitrate, int64(j.req.Time))
	if err != nil {
		return nil, err
	}
	plan, err := j.pres.Plan(p.smoothTarget)
	if err != nil {
		return nil, err
	}
	t := j.pres.Tracks[trackIndex]
	r := plan.Ranges[trackIndex][index]

	buf := p.getBuffer()
	data, err := p.readSamples(ctx, j, t, r, buf.data[:0])
	if err != nil {
		p.putBuffer(buf)
		return nil, err
	}
	buf.data = data

	out := p.getBuffer()
	out.data, err = fmp4.SmoothFragment(out.data[:0], t, uint32(index+1), r.Start, t.Samples[r.Start:r.End], data, smooth.TimeScale, j.prot)
	p.putBuffer(buf)
	if err != nil {
		p.putBuffer(out)
		return nil, err
	}
	return &Output{Body: out.data, ContentType: mp4ContentType(t), ETag: j.etag, Release: func() { p.putBuffer(out) }}, nil
}

// readSamples reads the sample data of one segment from the track's file.
func (p *producer) readSamples(ctx context.Context, j *job, t *packager.Track, r packager.SampleRange, dst []byte) ([]byte, error) {
	f, _, err := j.opener.Open(ctx, t.File)
	if err != nil {
		return nil, err
	}
	defer closeFile(f)
	return packager.ReadSamples(f, t, r, dst)
}

func closeFile(f packager.File) {
	if c, ok := f.(io.Closer); ok {
		c.Close()
	}
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

func (p *producer) putBuffer(b *segmentBuffer) {
	if cap(b.data) > maxPooledBuffer {
		return
	}
	b.data = b.data[:0]
	p.buffers.Put(b)
}
