package packager

import (
	"encoding/binary"
	"fmt"
	"io"
)

// maxBoxRead bounds how much of one box (moov, moof) the indexer reads into
// memory. A two-hour progressive movie has a moov of a few tens of MiB, so
// 256 MiB leaves room while keeping a corrupt size field from exhausting
// memory.
const maxBoxRead = 256 << 20

// errBoxTruncated reports a box whose header or payload runs past its
// parent or the end of the file.
var errBoxTruncated = invalidf("box runs past the end of its container")

// boxHeader is the position of one box: Start is the offset of its first
// header byte, HeaderLen the size of the header (8 or 16), Size the whole box.
type boxHeader struct {
	Type      string
	Start     int64
	HeaderLen int64
	Size      int64
}

func (h boxHeader) payloadStart() int64 { return h.Start + h.HeaderLen }
func (h boxHeader) end() int64          { return h.Start + h.Size }

// readBoxHeader reads the header of the box at off in a file of the given
// size. A size of 0 means the box runs to the end of the file (ISO/IEC
// 14496-12 section 4.2).
func readBoxHeader(r io.ReaderAt, off, fileSize int64) (boxHeader, error) {
	var buf [16]byte
	if fileSize-off < 8 {
		return boxHeader{}, fmt.Errorf("box header at offset %d: %w", off, errBoxTruncated)
	}
	if err := readFull(r, buf[:8], off); err != nil {
		return boxHeader{}, err
	}

	h := boxHeader{Type: string(buf[4:8]), Start: off, HeaderLen: 8, Size: int64(binary.BigEndian.Uint32(buf[:4]))}
	switch h.Size {
	case 0:
		h.Size = fileSize - off
	case 1:
		if fileSize-off < 16 {
			return boxHeader{}, fmt.Errorf("large box header at offset %d: %w", off, errBoxTruncated)
		}
		if err := readFull(r, buf[8:16], off+8); err != nil {
			return boxHeader{}, err
		}
		size := binary.BigEndian.Uint64(buf[8:16])
		if size > uint64(fileSize) {
			return boxHeader{}, fmt.Errorf("%q box at offset %d has size %d, file has %d bytes: %w", h.Type, off, size, fileSize, errBoxTruncated)
		}
		h.Size = int64(size)
		h.HeaderLen = 16
	}

	if h.Size < h.HeaderLen || h.Size > fileSize-off {
		return boxHeader{}, fmt.Errorf("%q box at offset %d has size %d, %d bytes remain in the file: %w", h.Type, off, h.Size, fileSize-off, errBoxTruncated)
	}
	return h, nil
}

// box is one box decoded from an in-memory buffer: Data is the payload
// without the header; Start is the box's offset in the file.
type box struct {
	Type  string
	Start int64
	Data  []byte
}

// children splits a container payload into its child boxes. The
// payload starts at file offset base.
func children(payload []byte, base int64) ([]box, error) {
	var out []box
	for off := 0; off < len(payload); {
		rest := payload[off:]
		if len(rest) < 8 {
			return nil, fmt.Errorf("%d stray bytes at offset %d: %w", len(rest), base+int64(off), errBoxTruncated)
		}

		size := uint64(binary.BigEndian.Uint32(rest))
		typ := string(rest[4:8])
		hdr := uint64(8)
		switch size {
		case 0:
			size = uint64(len(rest))
		case 1:
			if len(rest) < 16 {
				return nil, fmt.Errorf("%q box at offset %d: %w", typ, base+int64(off), errBoxTruncated)
			}
			size = binary.BigEndian.Uint64(rest[8:])
			hdr = 16
		}
		if size < hdr || size > uint64(len(rest)) {
			return nil, fmt.Errorf("%q box at offset %d has size %d, %d bytes remain in its container: %w", typ, base+int64(off), size, len(rest), errBoxTruncated)
		}

		out = append(out, box{Type: typ, Start: base + int64(off), Data: rest[hdr:size]})
		off += int(size)
	}
	return out, nil
}

// child returns the first child of the given type, or nil.
func child(boxes []box, typ string) *box {
	for i := range boxes {
		if boxes[i].Type == typ {
			return &boxes[i]
		}
	}
	return nil
}

// fullBox splits a FullBox payload into version, flags and body.
func fullBox(b *box) (version byte, flags uint32, body []byte, err error) {
	if len(b.Data) < 4 {
		return 0, 0, nil, fmt.Errorf("%q box at offset %d is %d bytes, shorter than a full box header: %w", b.Type, b.Start, len(b.Data), errBoxTruncated)
	}
	v := binary.BigEndian.Uint32(b.Data)
	return byte(v >> 24), v & 0xffffff, b.Data[4:], nil
}

// tableBody checks that a full box holding entryCount entries of entrySize
// bytes after its 4-byte count is long enough, before anything is
// allocated for the entries. It returns the count and the entry bytes.
func tableBody(b *box, body []byte, entrySize int) (int, []byte, error) {
	if len(body) < 4 {
		return 0, nil, fmt.Errorf("%q box at offset %d has no entry count: %w", b.Type, b.Start, errBoxTruncated)
	}
	count := uint64(binary.BigEndian.Uint32(body))
	entries := body[4:]
	if count*uint64(entrySize) > uint64(len(entries)) {
		return 0, nil, fmt.Errorf("%q box at offset %d declares %d entries but holds %d bytes: %w", b.Type, b.Start, count, len(entries), errBoxTruncated)
	}
	return int(count), entries, nil
}

// readBox reads the payload of a top-level box into memory, refusing boxes
// larger than maxBoxRead.
func readBox(r io.ReaderAt, h boxHeader) ([]byte, error) {
	n := h.Size - h.HeaderLen
	if n > maxBoxRead {
		return nil, invalidf("%q box at offset %d is %d bytes, more than the limit of %d", h.Type, h.Start, n, maxBoxRead)
	}
	buf := make([]byte, n)
	if err := readFull(r, buf, h.payloadStart()); err != nil {
		return nil, fmt.Errorf("reading %q box at offset %d: %w", h.Type, h.Start, err)
	}
	return buf, nil
}
