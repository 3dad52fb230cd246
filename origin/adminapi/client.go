package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseSize bounds how much of a response the client reads; a list of
// ten thousand locators is about 3 MB.
const maxResponseSize = 16 << 20

// defaultTimeout bounds each call when NewClient builds the HTTP client.
const defaultTimeout = 30 * time.Second

// Client calls the admin API of one origin server.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// Error is a failed admin API call: the HTTP status and the server's error
// code and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("admin API: %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("admin API: %d: %s", e.Status, e.Message)
}

// NewClient returns a client for the server at baseURL (such as
// "http://127.0.0.1:8080") that sends token as its bearer token. A nil
// httpClient means one with a 30 s timeout per call.
func NewClient(baseURL, token string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		// Every call reports the bad URL, so construction never fails.
		base = &url.URL{Opaque: baseURL}
	}
	return &Client{base: base, token: token, http: httpClient}
}

// CreateLocator creates a streaming locator, or returns the existing one
// when a locator with the same name and the same settings exists.
func (c *Client) CreateLocator(ctx context.Context, req CreateLocatorRequest) (*Locator, error) {
	var loc Locator
	if err := c.do(ctx, http.MethodPut, "streamingLocators", req, &loc); err != nil {
		return nil, err
	}
	return &loc, nil
}

// GetLocator returns the locator with the given name or ID.
func (c *Client) GetLocator(ctx context.Context, nameOrID string) (*Locator, error) {
	var loc Locator
	if err := c.do(ctx, http.MethodGet, "streamingLocators/"+url.PathEscape(nameOrID), nil, &loc); err != nil {
		return nil, err
	}
	return &loc, nil
}

// ListLocators returns every locator.
func (c *Client) ListLocators(ctx context.Context) ([]Locator, error) {
	var list LocatorList
	if err := c.do(ctx, http.MethodGet, "streamingLocators", nil, &list); err != nil {
		return nil, err
	}
	return list.StreamingLocators, nil
}

// DeleteLocator deletes the locator with the given name or ID.
func (c *Client) DeleteLocator(ctx context.Context, nameOrID string) error {
	return c.do(ctx, http.MethodDelete, "streamingLocators/"+url.PathEscape(nameOrID), nil, nil)
}

// ListPaths returns the streaming paths of a locator.
func (c *Client) ListPaths(ctx context.Context, nameOrID string) (*ListPathsResponse, error) {
	var paths ListPathsResponse
	if err := c.do(ctx, http.MethodPost, "streamingLocators/"+url.PathEscape(nameOrID)+"/listPaths", nil, &paths); err != nil {
		return nil, err
	}
	return &paths, nil
}

// do sends one request to /api/v1/{path} and decodes the response into out
// (when out is not nil). in, when not nil, is sent as the JSON body.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.send(ctx, method, path, "", nil, out)
	}
	// An invalid base URL is reported before an encoding error, as send
	// reports it before anything else.
	if err := c.checkBase(); err != nil {
		return err
	}
	data, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("admin API: encoding %s %s request: %w", method, path, err)
	}
	return c.send(ctx, method, path, "application/json", data, out)
}

// send sends one request to /api/v1/{path} with body encoded as
// contentType and decodes the response into out (when out is not nil).
// An empty contentType sends no body and no Content-Type header.
func (c *Client) send(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	if err := c.checkBase(); err != nil {
		return err
	}

	var reader io.Reader
	if contentType != "" {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+"/api/v1/"+path, reader)
	if err != nil {
		return fmt.Errorf("admin API: building %s %s request: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return fmt.Errorf("admin API: reading %s %s response: %w", method, path, err)
	}
	if len(data) > maxResponseSize {
		return fmt.Errorf("admin API: %s %s response is larger than %d bytes", method, path, maxResponseSize)
	}

	if resp.StatusCode >= 300 {
		return responseError(resp.StatusCode, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin API: decoding %s %s response: %w", method, path, err)
	}
	return nil
}

// checkBase returns an error unless the client's base URL has the form
// scheme://host[:port].
func (c *Client) checkBase() error {
	if c.base.Opaque != "" || c.base.Host == "" {
		return fmt.Errorf("admin API: invalid base URL %q: want scheme://host[:port]", c.base.String())
	}
	return nil
}

// responseError builds an *Error from an error response, using the
// server's JSON error when there is one and the start of the body when not.
func responseError(status int, body []byte) error {
	var parsed ErrorResponse
	if err := json.Unmarshal(body, &parsed); err == nil && parsed.Error.Message != "" {
		return &Error{Status: status, Code: parsed.Error.Code, Message: parsed.Error.Message}
	}

	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Status: status, Message: msg}
}

// IsNotFound reports whether err is an admin API 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
