package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lockstream/lockstream/origin/adminapi"
	"github.com/lockstream/lockstream/policy"
)

// defaultServer is the origin's default listen address. The admin client
// subcommands connect to it unless --server or LOCKSTREAM_SERVER is set.
const defaultServer = "http://127.0.0.1:8080"

// adminTimeout bounds each admin API call: they are small JSON exchanges
// with a server on the same network.
const adminTimeout = 30 * time.Second

// serverFlags are the flags every admin client subcommand shares.
type serverFlags struct {
	server string
}

func (s *serverFlags) register(fs *flagSet, e *env) {
	fs.StringVar(&s.server, "server", defaultString(e.getenv("LOCKSTREAM_SERVER"), defaultServer),
		"base `URL` of the Lockstream server; environment LOCKSTREAM_SERVER")
}

// client returns an admin API client authenticated with
// LOCKSTREAM_ADMIN_TOKEN.
func (s *serverFlags) client(e *env, cmd string) (*adminapi.Client, string, error) {
	base, err := checkServerURL(s.server)
	if err != nil {
		return nil, "", usagef("%s: %v", cmd, err)
	}
	token := e.getenv("LOCKSTREAM_ADMIN_TOKEN")
	if token == "" {
		return nil, "", usagef("%s: LOCKSTREAM_ADMIN_TOKEN is not set: export the admin token the server was started with", cmd)
	}
	return adminapi.NewClient(base, token, &http.Client{Timeout: adminTimeout}), base, nil
}

func checkServerURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid --server %q: want http://host:port", s)
	}
	return strings.TrimRight(s, "/"), nil
}

type publishFlags struct {
	serverFlags
	asset            string
	name             string
	streamingPolicy  string
	contentKeyPolicy string
	json             bool
	player           bool
}

func runPublish(ctx context.Context, e *env, args []string) error {
	var f publishFlags
	fs := newFlagSet(e, "publish", "--asset NAME [flags]",
		"Creates a streaming locator for an asset, or returns the existing one when a\n"+
			"locator of that name has the same settings, and prints one URL per format.\n"+
			"The admin token comes from LOCKSTREAM_ADMIN_TOKEN.")
	f.register(fs, e)
	fs.StringVar(&f.asset, "asset", "", "asset `folder` name below the server's media root (required)")
	fs.StringVar(&f.name, "name", "", "locator `name`, unique on the server (default: the asset name)")
	fs.StringVar(&f.streamingPolicy, "streaming-policy", policy.PolicyClearStreamingOnly,
		"streaming policy `name`: "+policy.PolicyClearStreamingOnly+" or "+policy.PolicyClearKey)
	fs.StringVar(&f.contentKeyPolicy, "content-key-policy", "", "content key policy `name` that decides who gets the keys (encrypted policies only)")
	fs.BoolVar(&f.json, "json", false, "print {\"locatorId\", \"streamingPaths\"} as JSON with absolute URLs")
	fs.BoolVar(&f.player, "player", false, "also print a player page URL for each format")

	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("publish: unexpected argument %q", rest[0])
	}
	if err := requireFlag(fs, "asset", f.asset); err != nil {
		return err
	}
	if f.name == "" {
		f.name = f.asset
	}
	client, base, err := f.client(e, "publish")
	if err != nil {
		return err
	}

	loc, err := client.CreateLocator(ctx, adminapi.CreateLocatorRequest{
		Name:                        f.name,
		AssetName:                   f.asset,
		StreamingPolicyName:         f.streamingPolicy,
		DefaultContentKeyPolicyName: f.contentKeyPolicy,
	})
	if err != nil {
		return fmt.Errorf("creating locator %q for asset %q: %w", f.name, f.asset, err)
	}
	paths, err := client.ListPaths(ctx, loc.StreamingLocatorID.String())
	if err != nil {
		return fmt.Errorf("listing the paths of locator %s: %w", loc.StreamingLocatorID, err)
	}

	urls := absolutePaths(base, withHLSv3(paths.StreamingPaths))
	if f.json {
		return writePublishJSON(e, loc, urls)
	}
	writePublishText(e, base, loc, urls, f.player, "")
	return nil
}

// publishOutput is the output of publish --json: the ListPaths shape with
// absolute URLs.
type publishOutput struct {
	LocatorID      string                   `json:"locatorId"`
	StreamingPaths []adminapi.StreamingPath `json:"streamingPaths"`
}

func writePublishJSON(e *env, loc *adminapi.Locator, paths []adminapi.StreamingPath) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(publishOutput{LocatorID: loc.StreamingLocatorID.String(), StreamingPaths: paths})
}

// writePublishText prints the locator and one line per format; with
// player set, a player page URL follows each. A non-empty token is added
// to the player URLs.
func writePublishText(e *env, base string, loc *adminapi.Locator, paths []adminapi.StreamingPath, player bool, token string) {
	fmt.Fprintf(e.stdout, "locator %s  name %s  asset %s  policy %s\n",
		loc.StreamingLocatorID, loc.Name, loc.AssetName, loc.StreamingPolicyName)
	for _, sp := range paths {
		for _, u := range sp.Paths {
			fmt.Fprintf(e.stdout, "  %-10s %s\n", formatLabel(u), u)
			if player {
				fmt.Fprintf(e.stdout, "  %-10s %s\n", "  player", playerURL(base, u, token))
			}
		}
	}
}

// withHLSv3 adds an HLS version 3 URL (format=m3u8-aapl-v3) after each
// HLS MPEG-TS URL that has none, so every one of the six formats is
// listed. The server's listPaths, like the hosted service's, leaves v3 out.
func withHLSv3(paths []adminapi.StreamingPath) []adminapi.StreamingPath {
	out := make([]adminapi.StreamingPath, len(paths))
	for i, sp := range paths {
		out[i] = sp
		if sp.StreamingProtocol != adminapi.ProtocolHLS {
			continue
		}
		out[i].Paths = nil
		for _, p := range sp.Paths {
			out[i].Paths = append(out[i].Paths, p)
			if manifestFormat(p) != "m3u8-aapl" {
				continue
			}
			v3 := strings.Replace(p, "format=m3u8-aapl", "format=m3u8-aapl-v3", 1)
			if !slices.Contains(sp.Paths, v3) {
				out[i].Paths = append(out[i].Paths, v3)
			}
		}
	}
	return out
}

// absolutePaths returns paths with every manifest path turned into an
// absolute URL below base.
func absolutePaths(base string, paths []adminapi.StreamingPath) []adminapi.StreamingPath {
	out := make([]adminapi.StreamingPath, len(paths))
	for i, sp := range paths {
		out[i] = sp
		out[i].Paths = make([]string, len(sp.Paths))
		for j, p := range sp.Paths {
			out[i].Paths[j] = absoluteURL(base, p)
		}
	}
	return out
}

// absoluteURL joins a path from the admin API to base, keeping any path
// prefix of base. The manifest paths contain parentheses and commas,
// which stay as they are.
func absoluteURL(base, p string) string {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(p, "/")
}

// playerURL returns the server's player page URL for a manifest URL.
func playerURL(base, manifest, token string) string {
	q := url.Values{"url": {manifest}}
	if token != "" {
		q.Set("token", token)
	}
	return strings.TrimRight(base, "/") + "/player/?" + q.Encode()
}

// formatLabel names the streaming format of a manifest URL by its
// format= option: the six formats of the URL scheme.
func formatLabel(manifestURL string) string {
	switch manifestFormat(manifestURL) {
	case "":
		return "Smooth"
	case "m3u8-aapl":
		return "HLS TS"
	case "m3u8-aapl-v3":
		return "HLS v3"
	case "m3u8-cmaf":
		return "HLS CMAF"
	case "mpd-time-csf":
		return "DASH CSF"
	case "mpd-time-cmaf":
		return "DASH CMAF"
	}
	return "other"
}

// manifestFormat returns the format= option inside "manifest(...)", or ""
// when there is none.
func manifestFormat(manifestURL string) string {
	_, opts, ok := strings.Cut(manifestURL, "manifest(")
	if !ok {
		return ""
	}
	opts, _, _ = strings.Cut(opts, ")")
	for opt := range strings.SplitSeq(opts, ",") {
		if v, ok := strings.CutPrefix(opt, "format="); ok {
			return v
		}
	}
	return ""
}
