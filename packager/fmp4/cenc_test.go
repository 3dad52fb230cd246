package fmp4

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/lockstream/lockstream/packager"
)

// decodeSegments decodes init and segments written one after the other.
func decodeSegments(t *testing.T, file []byte) *mp4.File {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("decoding output: %v", err)
	}
	if f.Init == nil || len(f.Segments) == 0 {
		t.Fatalf("output has init %v and %d segments", f.Init != nil, len(f.Segments))
	}
	return f
}

// sencOf returns the parsed senc of the single traf of a fragment.
func sencOf(t *testing.T, frag *mp4.Fragment) *mp4.SencBox {
	t.Helper()
	traf := frag.Moof.Traf
	if _, parsed := traf.ContainsSencBox(); !parsed {
		if err := traf.ParseReadSenc(ivSize, frag.Moof.StartPos); err != nil {
			t.Fatalf("parsing senc: %v", err)
		}
	}
	if traf.Senc == nil {
		t.Fatal("traf has no senc")
	}
	return traf.Senc
}

func TestCENCDecryptsToClear(t *testing.T) {
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			clear := decodeSegments(t, packageTrack(t, src, packager.Protection{}).file())
			enc := decodeSegments(t, packageTrack(t, src, cenc).file())

			di, err := mp4.DecryptInit(enc.Init)
			if err != nil {
				t.Fatalf("DecryptInit: %v", err)
			}
			for i, seg := range enc.Segments {
				want := clear.Segments[i].Fragments[0].Mdat.Data
				if bytes.Equal(seg.Fragments[0].Mdat.Data, want) {
					t.Errorf("segment %d: encrypted mdat equals clear mdat", i+1)
				}
				if err := mp4.DecryptSegment(seg, di, testKey.Value[:]); err != nil {
					t.Fatalf("segment %d: DecryptSegment: %v", i+1, err)
				}
				if !bytes.Equal(seg.Fragments[0].Mdat.Data, want) {
					t.Errorf("segment %d: decrypted mdat differs from clear mdat", i+1)
				}
			}
		})
	}
}

func TestCENCSampleAuxInfo(t *testing.T) {
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			out := packageTrack(t, src, cenc)
			for i, r := range out.ranges {
				checkAuxInfo(t, src, out.segments[i], r)
			}
		})
	}
}

func checkAuxInfo(t *testing.T, src *sourceTrack, seg []byte, r packager.SampleRange) {
	t.Helper()
	f := decodeSegments(t, append(packageInitForParse(t, src), seg...))
	frag := f.Segments[0].Fragments[0]
	traf := frag.Moof.Traf
	senc := sencOf(t, frag)
	n := r.End - r.Start
	if int(senc.SampleCount) != n || len(senc.IVs) != n {
		t.Fatalf("senc lists %d samples and %d IVs, want %d", senc.SampleCount, len(senc.IVs), n)
	}
	video := src.Kind == packager.KindVideo
	if got := senc.Flags&sencFlagSubsamples != 0; got != video {
		t.Errorf("senc subsample flag %v for %s", got, src.Kind)
	}

	for i := range n {
		iv := packager.SampleIV(src.IVIdentity, r.Start+i)
		if !bytes.Equal(senc.IVs[i], iv[:]) {
			t.Errorf("sample %d: senc IV %x, want %x", r.Start+i, []byte(senc.IVs[i]), iv)
		}
		wantInfo := ivSize
		if video {
			total := 0
			for _, ss := range senc.SubSamples[i] {
				total += int(ss.BytesOfClearData) + int(ss.BytesOfProtectedData)
				if ss.BytesOfProtectedData%16 != 0 {
					t.Errorf("sample %d: %d protected bytes, not whole blocks", r.Start+i, ss.BytesOfProtectedData)
				}
			}
			if total != int(src.Samples[r.Start+i].Size) {
				t.Errorf("sample %d: subsamples cover %d bytes, sample has %d", r.Start+i, total, src.Samples[r.Start+i].Size)
			}
			wantInfo += 2 + 6*len(senc.SubSamples[i])
		}
		got := int(traf.Saiz.DefaultSampleInfoSize)
		if got == 0 {
			got = int(traf.Saiz.SampleInfo[i])
		}
		if got != wantInfo {
			t.Errorf("sample %d: saiz size %d, want %d", r.Start+i, got, wantInfo)
		}
	}

	if len(traf.Saio.Offset) != 1 {
		t.Fatalf("saio has %d offsets, want 1", len(traf.Saio.Offset))
	}
	pos := int(frag.Moof.StartPos) + int(traf.Saio.Offset[0])
	whole := append(packageInitForParse(t, src), seg...)
	iv := packager.SampleIV(src.IVIdentity, r.Start)
	if pos+ivSize > len(whole) || !bytes.Equal(whole[pos:pos+ivSize], iv[:]) {
		t.Errorf("saio offset %d does not point at the first IV", traf.Saio.Offset[0])
	}
}

// packageInitForParse returns the encrypted init segment, which mp4ff
// needs to know the IV size when it parses senc.
func packageInitForParse(t *testing.T, src *sourceTrack) []byte {
	t.Helper()
	init, err := Init(nil, src.Track, cenc)
	if err != nil {
		t.Fatal(err)
	}
	return init
}

// TestCENCCounterBlocksUnique guards the rule of ISO/IEC 23001-7 section
// 9.3 that no counter block is used twice under one key, over every
// sample of every track in the test set.
func TestCENCCounterBlocksUnique(t *testing.T) {
	seen := make(map[[16]byte]string)
	for _, m := range allMedia {
		src := m.load(t)
		out := packageTrack(t, src, cenc)
		f := decodeSegments(t, out.file())
		for s, seg := range f.Segments {
			senc := sencOf(t, seg.Fragments[0])
			for i, iv := range senc.IVs {
				sample := src.Samples[out.ranges[s].Start+i]
				protected := int(sample.Size)
				if src.Kind == packager.KindVideo {
					protected = 0
					for _, ss := range senc.SubSamples[i] {
						protected += int(ss.BytesOfProtectedData)
					}
				}
				var counter [16]byte
				copy(counter[:], iv)
				for block := range (protected + 15) / 16 {
					binary.BigEndian.PutUint64(counter[8:], uint64(block))
					where := fmt.Sprintf("%s sample %d block %d", m.name, out.ranges[s].Start+i, block)
					if prev, dup := seen[counter]; dup {
						t.Fatalf("counter block %x of %s was already used by %s", counter, where, prev)
					}
					seen[counter] = where
				}
			}
		}
	}
	if len(seen) < 10000 {
		t.Errorf("checked only %d counter blocks", len(seen))
	}
}

func TestCENCFFmpegDecrypts(t *testing.T) {
	requireFFmpeg(t)
	for _, m := range allMedia {
		t.Run(m.name, func(t *testing.T) {
			src := m.load(t)
			want := framemd5(t, packageTrack(t, src, packager.Protection{}).file())
			got := framemd5(t, packageTrack(t, src, cenc).file(), "-decryption_key", keyHex(testKey))
			if got != want {
				t.Errorf("framemd5 of decrypted output differs from clear output\ngot:\n%s\nwant:\n%s", head(got, 12), head(want, 12))
			}
		})
	}
}

// TestCENCKeepsHeadersClear guards ISO/IEC 23001-7 section 10.2: NAL
// length fields, NAL unit headers and slice headers stay clear, and
// non-VCL NAL units are not encrypted at all.
func TestCENCKeepsHeadersClear(t *testing.T) {
	for _, m := range allMedia {
		src := m.load(t)
		if src.Kind != packager.KindVideo {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			sliceHeaderSize := sliceHeaderParser(t, src.Track)
			clear := decodeSegments(t, packageTrack(t, src, packager.Protection{}).file())
			enc := decodeSegments(t, packageTrack(t, src, cenc).file())
			encrypted := 0
			for s := range clear.Segments {
				plain := clear.Segments[s].Fragments[0].Mdat.Data
				cipher := enc.Segments[s].Fragments[0].Mdat.Data
				for pos := 0; pos < len(plain); {
					n := int(binary.BigEndian.Uint32(plain[pos:]))
					nalu := plain[pos+4 : pos+4+n]
					clearLen := 4 + n
					if vcl, size := sliceHeaderSize(nalu); vcl {
						clearLen = 4 + size
						if !bytes.Equal(plain[pos+4:pos+4+n], cipher[pos+4:pos+4+n]) {
							encrypted++
						}
					}
					if !bytes.Equal(plain[pos:pos+clearLen], cipher[pos:pos+clearLen]) {
						t.Fatalf("segment %d: NAL unit at mdat byte %d: first %d bytes were encrypted", s+1, pos, clearLen)
					}
					pos += 4 + n
				}
			}
			if encrypted == 0 {
				t.Error("no VCL NAL unit was encrypted")
			}
		})
	}
}

// sliceHeaderParser returns a function that reports whether a NAL unit is
// a VCL NAL unit and, if so, the size of its NAL header and slice header.
func sliceHeaderParser(t *testing.T, tr *packager.Track) func([]byte) (bool, int) {
	t.Helper()
	if tr.Codec == packager.CodecAVC1 || tr.Codec == packager.CodecAVC3 {
		spsMap, ppsMap := map[uint32]*avc.SPS{}, map[uint32]*avc.PPS{}
		for _, ps := range tr.ParameterSets {
			if avc.GetNaluType(ps[0]) == avc.NALU_SPS {
				sps, err := avc.ParseSPSNALUnit(ps, false)
				if err != nil {
					t.Fatal(err)
				}
				spsMap[sps.ParameterID] = sps
			}
		}
		for _, ps := range tr.ParameterSets {
			if avc.GetNaluType(ps[0]) == avc.NALU_PPS {
				pps, err := avc.ParsePPSNALUnit(ps, spsMap)
				if err != nil {
					t.Fatal(err)
				}
				ppsMap[pps.PicParameterSetID] = pps
			}
		}
		return func(nalu []byte) (bool, int) {
			if !avc.IsVideoNaluType(avc.GetNaluType(nalu[0])) {
				return false, 0
			}
			sh, err := avc.ParseSliceHeader(nalu, spsMap, ppsMap)
			if err != nil {
				t.Fatalf("parsing slice header: %v", err)
			}
			return true, int(sh.Size)
		}
	}

	spsMap, ppsMap := map[uint32]*hevc.SPS{}, map[uint32]*hevc.PPS{}
	for _, ps := range tr.ParameterSets {
		if hevc.GetNaluType(ps[0]) == hevc.NALU_SPS {
			sps, err := hevc.ParseSPSNALUnit(ps)
			if err != nil {
				t.Fatal(err)
			}
			spsMap[uint32(sps.SpsID)] = sps
		}
	}
	for _, ps := range tr.ParameterSets {
		if hevc.GetNaluType(ps[0]) == hevc.NALU_PPS {
			pps, err := hevc.ParsePPSNALUnit(ps, spsMap)
			if err != nil {
				t.Fatal(err)
			}
			ppsMap[pps.PicParameterSetID] = pps
		}
	}
	return func(nalu []byte) (bool, int) {
		if !hevc.IsVideoNaluType(hevc.GetNaluType(nalu[0])) {
			return false, 0
		}
		sh, err := hevc.ParseSliceHeader(nalu, spsMap, ppsMap)
		if err != nil {
			t.Fatalf("parsing slice header: %v", err)
		}
		return true, int(sh.Size)
	}
}
