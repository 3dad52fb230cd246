package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lockstream/lockstream/packager"
)

func runInspect(ctx context.Context, e *env, args []string) error {
	var target time.Duration
	fs := newFlagSet(e, "inspect", "FILE.mp4|ASSET_DIR [flags]",
		"Reads an MP4 file, or every MP4 file and the .ism server manifest of an asset\n"+
			"folder, and prints the tracks and the segment plan the packager would use.")
	fs.DurationVar(&target, "target", 6*time.Second, "segment `duration` the plan aims at, such as 2s or 6s")

	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) == 0:
		return usagef("inspect: missing FILE.mp4 or ASSET_DIR")
	case len(rest) > 1:
		return usagef("inspect: unexpected argument %q: give one file or folder", rest[1])
	case target < time.Second || target > time.Minute:
		return usagef("inspect: invalid --target %v: want a duration between 1s and 1m", target)
	}

	opener, name, err := newOSOpener(rest[0])
	if err != nil {
		return err
	}
	defer opener.Close()
	report, err := packager.Inspect(ctx, opener, name, target)
	if err != nil {
		return fmt.Errorf("inspecting %q: %w", rest[0], err)
	}
	return report.WriteText(e.stdout)
}

// osOpener is a packager.Opener over a local folder, limited to one file
// when inspect was given a file. The user names the path on their own
// machine, so it needs none of the storage package's name checks.
type osOpener struct {
	dir  string
	only string // the one visible file, or "" for all files of dir

	mu    sync.Mutex
	files []*os.File // opened files, closed by Close
}

var _ packager.Opener = (*osOpener)(nil)

// newOSOpener returns an opener for path and the presentation name to
// inspect: the folder name for a folder, the file name without its
// extension for a file.
func newOSOpener(path string) (*osOpener, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if st.IsDir() {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, "", err
		}
		return &osOpener{dir: abs}, filepath.Base(abs), nil
	}
	if !st.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%q is neither a regular file nor a folder", path)
	}
	base := filepath.Base(path)
	return &osOpener{dir: filepath.Dir(path), only: base}, strings.TrimSuffix(base, filepath.Ext(base)), nil
}

func (o *osOpener) Open(_ context.Context, name string) (packager.File, packager.FileInfo, error) {
	if (o.only != "" && name != o.only) || name != filepath.Base(name) {
		return nil, packager.FileInfo{}, fmt.Errorf("opening %q: %w", name, os.ErrNotExist)
	}
	f, err := os.Open(filepath.Join(o.dir, name))
	if err != nil {
		return nil, packager.FileInfo{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, packager.FileInfo{}, err
	}
	o.mu.Lock()
	o.files = append(o.files, f)
	o.mu.Unlock()
	return osFile{File: f, size: st.Size()}, fileInfo(st), nil
}

// Close closes every file Open returned.
func (o *osOpener) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, f := range o.files {
		f.Close()
	}
	o.files = nil
	return nil
}

func (o *osOpener) List(context.Context) ([]packager.FileInfo, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, err
	}
	var infos []packager.FileInfo
	for _, entry := range entries {
		if o.only != "" && entry.Name() != o.only {
			continue
		}
		st, err := os.Stat(filepath.Join(o.dir, entry.Name()))
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		infos = append(infos, fileInfo(st))
	}
	slices.SortFunc(infos, func(a, b packager.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

func fileInfo(st os.FileInfo) packager.FileInfo {
	return packager.FileInfo{Name: st.Name(), Size: st.Size(), ModTime: st.ModTime()}
}

// osFile adds the Size method that packager.File needs.
type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }
