package storage

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// openS3Bucket opens s3://BUCKET. The query takes gocloud.dev's S3
// parameters (v0.49.0): region, endpoint (for S3-compatible servers),
// use_path_style, disable_https, profile, anonymous, role and the others
// that gocloud.dev/aws.V2ConfigFromURLParams lists. Unknown parameters
// are an error.
//
// Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN when set, else the AWS SDK's default chain (shared
// config files, web identity, instance roles). The region is the region
// parameter, else AWS_REGION or AWS_DEFAULT_REGION.
//
// The SDK's own retries are turned off: Blob.call retries with its own
// bound, and two layers would multiply the attempts.
func openS3Bucket(ctx context.Context, u *url.URL, getenv func(string) string) (*blob.Bucket, driverHooks, error) {
	if u.Host == "" {
		return nil, driverHooks{}, fmt.Errorf("s3 media location has no bucket name, want s3://BUCKET/PREFIX: %w", ErrInvalidLocation)
	}

	q := u.Query()
	var clientOpts []func(*s3.Options)
	for _, key := range []string{"use_path_style", "s3ForcePathStyle", "disable_https"} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		q.Del(key)
		on, err := strconv.ParseBool(v)
		if err != nil {
			return nil, driverHooks{}, fmt.Errorf("s3 media location parameter %s=%q is not a boolean: %w", key, v, ErrInvalidLocation)
		}
		if key == "disable_https" {
			clientOpts = append(clientOpts, func(o *s3.Options) { o.EndpointOptions.DisableHTTPS = on })
		} else {
			clientOpts = append(clientOpts, func(o *s3.Options) { o.UsePathStyle = on })
		}
	}
	if q.Get("response_checksum_validation") == "" {
		// Ranged GETs carry no whole-object checksum to validate.
		q.Set("response_checksum_validation", "when_required")
	}
	if q.Get("region") == "" {
		if region := firstEnv(getenv, "AWS_REGION", "AWS_DEFAULT_REGION"); region != "" {
			q.Set("region", region)
		}
	}

	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, driverHooks{}, fmt.Errorf("s3 media location: %w: %w", err, ErrInvalidLocation)
	}
	if cfg.Region == "" {
		return nil, driverHooks{}, fmt.Errorf("s3 media location has no region: set AWS_REGION or add region=... to the URL: %w", ErrInvalidLocation)
	}
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" && !q.Has("anonymous") && !q.Has("role") && !q.Has("profile") {
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")))
	}

	client := s3.NewFromConfig(cfg, clientOpts...)
	bucket, err := s3blob.OpenBucket(ctx, client, u.Host, nil)
	if err != nil {
		return nil, driverHooks{}, fmt.Errorf("opening s3 bucket %q: %w", u.Host, err)
	}
	return bucket, s3Hooks, nil
}

var s3Hooks = driverHooks{
	ifMatch: func(etag string) func(func(any) bool) error {
		return func(as func(any) bool) error {
			var in *s3.GetObjectInput
			if as(&in) {
				in.IfMatch = aws.String(etag)
			}
			return nil
		}
	},
	response: func(r *blob.Reader) responseMeta {
		var out s3.GetObjectOutput
		if !r.As(&out) {
			return responseMeta{}
		}
		return responseMeta{etag: aws.ToString(out.ETag), contentRange: aws.ToString(out.ContentRange)}
	},
	listETag: func(obj *blob.ListObject) string {
		var o types.Object
		if !obj.As(&o) {
			return ""
		}
		return aws.ToString(o.ETag)
	},
}

func firstEnv(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}
