package ts

// crcTable is the byte-wise table of CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A):
// polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no bit reflection and no
// final XOR. hash/crc32 only implements the reflected form, so it cannot be
// used for PSI sections.
var crcTable = makeCRCTable()

func makeCRCTable() [256]uint32 {
	var table [256]uint32
	for i := range table {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		table[i] = c
	}
	return table
}

// crc32MPEG2 returns the CRC-32/MPEG-2 of b.
func crc32MPEG2(b []byte) uint32 {
	crc := uint32(0xFFFFFFFF)
	for _, v := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^v]
	}
	return crc
}
