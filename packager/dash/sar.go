package dash

import (
	"fmt"
	"strconv"

	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/hevc"

	"github.com/lockstream/lockstream/packager"
)

// sampleAspectRatio returns @sar of video track t from the VUI of its
// sequence parameter set, or "1:1" when the SPS does not signal one.
func sampleAspectRatio(t *packager.Track) (string, error) {
	w, h, err := spsAspectRatio(t)
	if err != nil {
		return "", fmt.Errorf("reading the sample aspect ratio of track %q: %w: %w", t.Name, packager.ErrInvalidMedia, err)
	}
	if w == 0 || h == 0 {
		return "1:1", nil
	}
	return strconv.FormatUint(uint64(w), 10) + ":" + strconv.FormatUint(uint64(h), 10), nil
}

func spsAspectRatio(t *packager.Track) (w, h uint, err error) {
	for _, ps := range t.ParameterSets {
		if len(ps) == 0 {
			continue
		}
		switch t.Codec {
		case packager.CodecAVC1, packager.CodecAVC3:
			if avc.GetNaluType(ps[0]) != avc.NALU_SPS {
				continue
			}
			sps, err := avc.ParseSPSNALUnit(ps, false)
			if err != nil || sps.VUI == nil {
				return 0, 0, err
			}
			return sps.VUI.SampleAspectRatioWidth, sps.VUI.SampleAspectRatioHeight, nil
		case packager.CodecHVC1, packager.CodecHEV1:
			if hevc.GetNaluType(ps[0]) != hevc.NALU_SPS {
				continue
			}
			sps, err := hevc.ParseSPSNALUnit(ps)
			if err != nil || sps.VUI == nil {
				return 0, 0, err
			}
			return sps.VUI.SampleAspectRatioWidth, sps.VUI.SampleAspectRatioHeight, nil
		}
	}
	return 0, 0, nil
}
