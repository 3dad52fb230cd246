package keydelivery

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// failureLimiter counts failed requests per client in fixed windows and
// blocks a client that reaches the limit until its window ends.
type failureLimiter struct {
	limit      int
	window     time.Duration
	maxClients int

	mu      sync.Mutex
	clients map[string]failureWindow
}

type failureWindow struct {
	start    time.Time
	failures int
}

func newFailureLimiter(limit int, window time.Duration, maxClients int) *failureLimiter {
	return &failureLimiter{limit: limit, window: window, maxClients: maxClients, clients: make(map[string]failureWindow)}
}

// blocked reports whether client is blocked at now, and for how long.
func (l *failureLimiter) blocked(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()

	w, ok := l.clients[client]
	if !ok || now.Sub(w.start) >= l.window || w.failures < l.limit {
		return false, 0
	}
	return true, w.start.Add(l.window).Sub(now)
}

// fail records a failure of client and reports whether it just reached the
// limit, so the block is logged once per window.
func (l *failureLimiter) fail(client string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()

	w, ok := l.clients[client]
	if !ok || now.Sub(w.start) >= l.window {
		if !ok && len(l.clients) >= l.maxClients {
			l.evict(now)
		}
		w = failureWindow{start: now}
	}
	w.failures++
	l.clients[client] = w
	return w.failures == l.limit
}

// evict drops expired windows, and when none has expired, one arbitrary
// client, so the map never exceeds maxClients.
func (l *failureLimiter) evict(now time.Time) {
	for client, w := range l.clients {
		if now.Sub(w.start) >= l.window {
			delete(l.clients, client)
		}
	}
	if len(l.clients) < l.maxClients {
		return
	}
	for client := range l.clients {
		delete(l.clients, client)
		break
	}
}

// RemoteIP returns the host of r.RemoteAddr, an IPv6 address reduced to
// its /64 prefix. It is the default Config.ClientIP.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return clientOf(host)
}

// HeaderIP returns a Config.ClientIP that reads the client address from
// the request header name, set by a reverse proxy. For X-Forwarded-For it
// takes the last address, the one the proxy in front of this server
// appended; for any other header (such as X-Real-IP) the whole value. A
// request without a valid address in the header falls back to RemoteIP.
// IPv6 addresses are reduced to their /64 prefix, as RemoteIP does.
//
// Use it only behind a proxy that sets or overwrites the header on every
// request. Without one, clients choose their own address and escape the
// failure limit, or put another client over it.
func HeaderIP(name string) func(*http.Request) string {
	name = http.CanonicalHeaderKey(name)
	forwardedFor := name == "X-Forwarded-For"
	return func(r *http.Request) string {
		values := r.Header[name]
		if len(values) == 0 {
			return RemoteIP(r)
		}
		value := values[len(values)-1]
		if forwardedFor {
			if i := strings.LastIndexByte(value, ','); i >= 0 {
				value = value[i+1:]
			}
		}
		value = strings.TrimSpace(value)
		if net.ParseIP(value) == nil {
			return RemoteIP(r)
		}
		return clientOf(value)
	}
}

// clientOf returns host, or the /64 prefix of an IPv6 address.
func clientOf(host string) string {
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
