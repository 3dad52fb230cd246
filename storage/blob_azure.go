package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
)

// openAzureBucket opens azblob://CONTAINER. The query takes
// gocloud.dev's azblob parameters (v0.49.0): storage_account, domain,
// protocol, localemu and cdn; unknown ones are an error. A domain other
// than the public Azure clouds' needs localemu=true and a loopback
// address, as for Azurite.
//
// Credentials are taken in gocloud.dev's order. First comes
// AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY (shared key), then
// AZURE_STORAGE_SAS_TOKEN (a SAS with read and list permissions), then
// AZURE_STORAGE_CONNECTION_STRING, whose BlobEndpoint or account name
// also sets the endpoint. Without any of them the Azure SDK's default
// credential chain (managed identity, workload identity, Azure CLI)
// needs the Storage Blob Data Reader role.
//
// The SDK's own retries are turned off: Blob.call retries with its own
// bound, and two layers would multiply the attempts.
func openAzureBucket(ctx context.Context, u *url.URL, getenv func(string) string) (*blob.Bucket, driverHooks, error) {
	if u.Host == "" {
		return nil, driverHooks{}, fmt.Errorf("azblob media location has no container name, want azblob://CONTAINER/PREFIX: %w", ErrInvalidLocation)
	}
	svc, err := azureServiceOptions(u.Query(), getenv)
	if err != nil {
		return nil, driverHooks{}, err
	}

	clientOpts := &container.ClientOptions{}
	clientOpts.Retry.MaxRetries = -1
	client, err := newAzureContainerClient(svc, u.Host, getenv, clientOpts)
	if err != nil {
		return nil, driverHooks{}, err
	}

	bucket, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		return nil, driverHooks{}, fmt.Errorf("opening azblob container %q: %w", u.Host, err)
	}
	return bucket, azureHooks, nil
}

// azureServiceOptions merges the environment's service settings with
// the URL's query.
func azureServiceOptions(q url.Values, getenv func(string) string) (*azureblob.ServiceURLOptions, error) {
	svc := &azureblob.ServiceURLOptions{
		AccountName:   getenv("AZURE_STORAGE_ACCOUNT"),
		SASToken:      getenv("AZURE_STORAGE_SAS_TOKEN"),
		StorageDomain: getenv("AZURE_STORAGE_DOMAIN"),
		Protocol:      getenv("AZURE_STORAGE_PROTOCOL"),
	}
	svc.IsCDN, _ = strconv.ParseBool(getenv("AZURE_STORAGE_IS_CDN"))
	svc.IsLocalEmulator, _ = strconv.ParseBool(getenv("AZURE_STORAGE_IS_LOCAL_EMULATOR"))

	for key, values := range q {
		v := values[0]
		var err error
		switch key {
		case "storage_account":
			svc.AccountName = v
		case "domain":
			svc.StorageDomain = v
		case "protocol":
			svc.Protocol = v
		case "cdn":
			svc.IsCDN, err = strconv.ParseBool(v)
		case "localemu":
			svc.IsLocalEmulator, err = strconv.ParseBool(v)
		default:
			return nil, fmt.Errorf("azblob media location has unknown parameter %q: %w", key, ErrInvalidLocation)
		}
		if err != nil {
			return nil, fmt.Errorf("azblob media location parameter %s=%q is not a boolean: %w", key, v, ErrInvalidLocation)
		}
	}
	return svc, nil
}

func newAzureContainerClient(svc *azureblob.ServiceURLOptions, containerName string, getenv func(string) string, opts *container.ClientOptions) (*container.Client, error) {
	key := getenv("AZURE_STORAGE_KEY")
	connStr := firstEnv(getenv, "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGEBLOB_CONNECTIONSTRING")
	if connStr != "" && (svc.AccountName == "" || key == "") && svc.SASToken == "" {
		client, err := container.NewClientFromConnectionString(connStr, containerName, opts)
		if err != nil {
			// The SDK's message may quote the connection string.
			return nil, fmt.Errorf("AZURE_STORAGE_CONNECTION_STRING is not a valid connection string: %w", ErrInvalidLocation)
		}
		return client, nil
	}

	if svc.AccountName == "" {
		return nil, fmt.Errorf("azblob media location has no storage account: set AZURE_STORAGE_ACCOUNT or add storage_account=... to the URL: %w", ErrInvalidLocation)
	}
	svcURL, err := azureblob.NewServiceURL(svc)
	if err != nil {
		return nil, fmt.Errorf("azblob media location: %w: %w", err, ErrInvalidLocation)
	}
	// url.JoinPath keeps the SAS query of the service URL.
	containerURL, err := url.JoinPath(string(svcURL), containerName)
	if err != nil {
		return nil, fmt.Errorf("azblob container name %q does not form a valid URL: %w", containerName, ErrInvalidLocation)
	}

	var client *container.Client
	switch {
	case key != "":
		cred, credErr := container.NewSharedKeyCredential(svc.AccountName, key)
		if credErr != nil {
			return nil, errors.New("AZURE_STORAGE_KEY is not a valid base64 account key")
		}
		client, err = container.NewClientWithSharedKeyCredential(containerURL, cred, opts)
	case svc.SASToken != "":
		client, err = container.NewClientWithNoCredential(containerURL, opts)
	default:
		cred, credErr := azidentity.NewDefaultAzureCredential(nil)
		if credErr != nil {
			return nil, fmt.Errorf("no Azure storage credentials in the environment and no default Azure credential: %w", credErr)
		}
		client, err = container.NewClient(containerURL, cred, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the client of azblob container %q: %s", containerName, redact(err.Error()))
	}
	return client, nil
}

var azureHooks = driverHooks{
	ifMatch: func(etag string) func(func(any) bool) error {
		return func(as func(any) bool) error {
			var opts *azblobblob.DownloadStreamOptions
			if as(&opts) {
				tag := azcore.ETag(etag)
				opts.AccessConditions = &azblobblob.AccessConditions{
					ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfMatch: &tag},
				}
			}
			return nil
		}
	},
	response: func(r *blob.Reader) responseMeta {
		var resp azblobblob.DownloadStreamResponse
		if !r.As(&resp) {
			return responseMeta{}
		}
		var meta responseMeta
		if resp.ETag != nil {
			meta.etag = string(*resp.ETag)
		}
		if resp.ContentRange != nil {
			meta.contentRange = *resp.ContentRange
		}
		return meta
	},
	listETag: func(obj *blob.ListObject) string {
		var item container.BlobItem
		if !obj.As(&item) || item.Properties == nil || item.Properties.ETag == nil {
			return ""
		}
		return string(*item.Properties.ETag)
	},
}
