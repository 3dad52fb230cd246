package ts

import (
	"testing"

	"github.com/lockstream/lockstream/packager"
)

func TestCRC32MPEG2(t *testing.T) {
	// The check value of CRC-32/MPEG-2 over the ASCII digits 1 to 9.
	if got := crc32MPEG2([]byte("123456789")); got != 0x0376E6E7 {
		t.Errorf("CRC %#08x, want 0x0376e6e7", got)
	}
}

func TestTo90kHz(t *testing.T) {
	tests := []struct {
		ticks     int64
		timescale uint32
		want      int64
	}{
		{0, 12288, 0},
		{512, 12288, 3750},
		{-1024, 12288, -7500},
		{1, 48000, 1},       // 1.875 rounds down
		{-1, 48000, -2},     // -1.875 rounds toward minus infinity
		{1024, 44100, 2089}, // 2089.795...
		{7200 * 1_000_000_000, 1_000_000_000, 7200 * 90000},
		{3<<40 + 1, 3, 1<<40*90000 + 30000}, // 2^40 s and a third
	}
	for _, tt := range tests {
		if got := to90kHz(tt.ticks, tt.timescale); got != tt.want {
			t.Errorf("to90kHz(%d, %d) = %d, want %d", tt.ticks, tt.timescale, got, tt.want)
		}
	}
}

func TestPESTimestampRoundTrip(t *testing.T) {
	for _, ts := range []int64{0, 1, PTSOffset, 1<<33 - 1, 0x1_2345_6789} {
		h := pesHeader{streamID: streamIDVideo, pts: ts, dts: ts - 1}
		b := h.appendTo(nil)
		if len(b) != h.size() {
			t.Fatalf("header of %d bytes, size says %d", len(b), h.size())
		}
		pts, err := parseTimestamp(b[9:14], 0x3)
		if err != nil {
			t.Fatal(err)
		}
		dts, err := parseTimestamp(b[14:19], 0x1)
		if err != nil {
			t.Fatal(err)
		}
		if pts != ts&timestampMask || dts != (ts-1)&timestampMask {
			t.Errorf("PTS %d DTS %d read back as %d and %d", ts, ts-1, pts, dts)
		}
	}
}

// ADTS has no way to signal SBR, so HE-AAC goes out as its AAC-LC core at
// the core sample rate, and decoders find SBR in the bitstream (ISO/IEC
// 14496-3 section 1.6.5.2, implicit signalling).
func TestADTSHeaderFromAudioSpecificConfig(t *testing.T) {
	tests := []struct {
		name                 string
		asc                  []byte
		profile, sfi, config byte
	}{
		{"AAC-LC 48 kHz stereo", []byte{0x11, 0x90}, 1, 3, 2},
		{"HE-AAC 48 kHz stereo", []byte{0x2B, 0x11, 0x88, 0x00}, 1, 6, 2}, // core 24 kHz
		{"HE-AACv2 44.1 kHz", []byte{0xEB, 0x8A, 0x08, 0x00}, 1, 7, 1},    // core 22.05 kHz mono
		{"AAC-LC 44.1 kHz 5.1", []byte{0x12, 0x30}, 1, 4, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newAACProfile(&packager.Track{Name: "a", Timescale: 48000, AudioSpecificConfig: tt.asc})
			if err != nil {
				t.Fatal(err)
			}
			h := p.adts
			setADTSFrameLength(&h, 7+300)
			profile, sfi := h[2]>>6, h[2]>>2&0x0F
			config := h[2]&1<<2 | h[3]>>6
			length := int(h[3]&3)<<11 | int(h[4])<<3 | int(h[5]>>5)
			if h[0] != 0xFF || h[1] != 0xF1 {
				t.Errorf("sync and flags % x, want ff f1", h[:2])
			}
			if profile != tt.profile || sfi != tt.sfi || config != tt.config || length != 307 {
				t.Errorf("profile %d, frequency index %d, channels %d, length %d; want %d, %d, %d, 307",
					profile, sfi, config, length, tt.profile, tt.sfi, tt.config)
			}
		})
	}
}
