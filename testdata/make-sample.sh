#!/usr/bin/env bash
# Makes the sample asset in testdata/media/sample: three H.264 video renditions
# with B-frames and a fixed two-second GOP, one separate AAC-LC audio file, and
# the .ism server manifest that lists them. The picture and sound are synthetic
# (ffmpeg's testsrc2 and sine sources), so the files carry no licence terms.
# x264 output differs between runs, so rerunning changes the bytes; tests
# compare outputs within one run, never against hashes of these files.
set -euo pipefail

out=${1:-"$(dirname "$0")/media/sample"}
mkdir -p "$out"
duration=12
fps=24
gop=$((fps * 2))

encode_video() { # name width height kbps profile
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=$2x$3:rate=$fps:duration=$duration" \
    -c:v libx264 -profile:v "$5" -preset medium -pix_fmt yuv420p \
    -b:v "$4k" -maxrate "$(($4 * 3 / 2))k" -bufsize "$(($4 * 2))k" \
    -g "$gop" -keyint_min "$gop" -sc_threshold 0 -bf 2 \
    -x264-params "open-gop=0:scenecut=0" \
    -an -movflags +faststart "$out/$1.mp4"
}

encode_video video_416x234_200k 416 234 200 main
encode_video video_640x360_400k 640 360 400 main
encode_video video_854x480_700k 854 480 700 high

# The audio is a tone that changes pitch every second, so a shift of audio
# against video is audible and measurable.
ffmpeg -v error -y -f lavfi \
  -i "aevalsrc='0.4*sin(2*PI*(440+110*floor(t))*t)|0.4*sin(2*PI*(440+110*floor(t))*t)':s=48000:d=$duration" \
  -c:a aac -b:a 96k -ac 2 -ar 48000 -movflags +faststart "$out/audio_eng_96k.mp4"

cat >"$out/sample.ism" <<'ISM'
<?xml version="1.0" encoding="utf-8"?>
<smil xmlns="http://www.w3.org/2001/SMIL20/Language">
  <head>
    <meta name="formats" content="mp4" />
  </head>
  <body>
    <switch>
      <video src="video_416x234_200k.mp4" systemBitrate="200000">
        <param name="trackID" value="1" valuetype="data" />
      </video>
      <video src="video_640x360_400k.mp4" systemBitrate="400000">
        <param name="trackID" value="1" valuetype="data" />
      </video>
      <video src="video_854x480_700k.mp4" systemBitrate="700000">
        <param name="trackID" value="1" valuetype="data" />
      </video>
      <audio src="audio_eng_96k.mp4" systemBitrate="96000" systemLanguage="eng">
        <param name="trackID" value="1" valuetype="data" />
        <param name="trackName" value="audio_eng" valuetype="data" />
      </audio>
    </switch>
  </body>
</smil>
ISM
