package main

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// hostPolicy limits where a run sends requests: to the host and port of
// the URL the user gave, and to loopback addresses. A manifest is input
// from the server under test, so a URL inside it must not turn the load
// generator against a third party.
type hostPolicy struct {
	target string // canonical host:port of the user's URL
}

func newHostPolicy(target *url.URL) hostPolicy {
	return hostPolicy{target: canonicalHost(target)}
}

// check returns an error unless u is an http or https URL on the target
// host or on a loopback address.
func (p hostPolicy) check(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("rejecting %s: only http and https URLs are fetched", redactURL(u))
	}
	if canonicalHost(u) == p.target || isLoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("rejecting %s: host %q is neither the host of the given URL (%s) nor a loopback address",
		redactURL(u), u.Host, p.target)
}

// canonicalHost returns u's lower-case host name and port, with the
// scheme's default port when u has none.
func canonicalHost(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

// redactURL returns u without its query and user information, for
// messages: a key URL may carry a token in its query.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	c.Fragment = ""
	return c.String()
}
