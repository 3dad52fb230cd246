package origin

import (
	"fmt"
	"os"
	"syscall"
)

// checkFileVersion returns an error wrapping storage.ErrChanged when
// file's size or modification time differs from key's. It calls fstat
// directly because File.Stat allocates, and it runs once per response.
func checkFileVersion(file *os.File, key fileKey) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(file.Fd()), &st); err != nil {
		return fmt.Errorf("reading file info of %q in asset %q: %w", key.name, key.asset, err)
	}
	if st.Size != key.size || st.Mtim.Nano() != key.modTime {
		return fmt.Errorf("%q in asset %q is %d bytes, modified %d, but the listing saw %d bytes, modified %d: %w",
			key.name, key.asset, st.Size, st.Mtim.Nano(), key.size, key.modTime, errVersionChanged)
	}
	return nil
}
