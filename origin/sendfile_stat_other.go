//go:build !linux

package origin

import (
	"fmt"
	"os"
)

// checkFileVersion returns an error wrapping storage.ErrChanged when
// file's size or modification time differs from key's.
func checkFileVersion(file *os.File, key fileKey) error {
	st, err := file.Stat()
	if err != nil {
		return fmt.Errorf("reading file info of %q in asset %q: %w", key.name, key.asset, err)
	}
	if st.Size() != key.size || st.ModTime().UnixNano() != key.modTime {
		return fmt.Errorf("%q in asset %q is %d bytes, modified %d, but the listing saw %d bytes, modified %d: %w",
			key.name, key.asset, st.Size(), st.ModTime().UnixNano(), key.size, key.modTime, errVersionChanged)
	}
	return nil
}
