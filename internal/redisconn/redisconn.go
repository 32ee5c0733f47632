// Package redisconn connects to Redis from a URL — a single server, a
// Cluster or a Sentinel-managed primary — or, in development, starts an
// in-process Redis-protocol server so `make run` needs nothing installed.
package redisconn

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Conn is a connected Redis client and what it took to get there.
type Conn struct {
	Client redis.UniversalClient
	// Embedded is the in-process server when REDIS_URL was empty, else nil.
	Embedded *miniredis.Miniredis
	// Desc says which Redis this is, without credentials, for logs.
	Desc string
}

// Open connects to rawURL. Forms:
//
//	redis://[user:pass@]host:port[/db]      one server (rediss:// for TLS)
//	redis+cluster://host:port,host:port      Redis Cluster seed nodes
//	redis+sentinel://host:port,host:port/primary[/db]
//	""                                       an in-process server (development)
func Open(ctx context.Context, rawURL string) (*Conn, error) {
	c := &Conn{}
	switch {
	case rawURL == "":
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("redisconn: start in-process server: %w", err)
		}
		c.Embedded = m
		c.Client = redis.NewClient(&redis.Options{Addr: m.Addr()})
		c.Desc = "in-process server at " + m.Addr()
	case strings.HasPrefix(rawURL, "redis://"), strings.HasPrefix(rawURL, "rediss://"):
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisconn: %w", err)
		}
		c.Client = redis.NewClient(opts)
		c.Desc = "redis at " + opts.Addr
	case strings.HasPrefix(rawURL, "redis+cluster://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisconn: %w", err)
		}
		addrs := strings.Split(u.Host, ",")
		opts := &redis.ClusterOptions{Addrs: addrs}
		if u.User != nil {
			opts.Username = u.User.Username()
			opts.Password, _ = u.User.Password()
		}
		c.Client = redis.NewClusterClient(opts)
		c.Desc = "redis cluster " + strings.Join(addrs, ",")
	case strings.HasPrefix(rawURL, "redis+sentinel://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisconn: %w", err)
		}
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if parts[0] == "" {
			return nil, fmt.Errorf("redisconn: sentinel URL needs the primary's name as its path")
		}
		opts := &redis.FailoverOptions{MasterName: parts[0], SentinelAddrs: strings.Split(u.Host, ",")}
		if len(parts) > 1 {
			db, err := strconv.Atoi(parts[1])
			if err != nil {
				return nil, fmt.Errorf("redisconn: sentinel db %q is not a number", parts[1])
			}
			opts.DB = db
		}
		if u.User != nil {
			opts.Password, _ = u.User.Password()
		}
		c.Client = redis.NewFailoverClient(opts)
		c.Desc = "redis sentinel " + u.Host + " primary " + parts[0]
	default:
		return nil, fmt.Errorf("redisconn: unsupported REDIS_URL scheme")
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Client.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redisconn: ping %s: %w", c.Desc, err)
	}
	return c, nil
}

// Close closes the client and stops the in-process server, if any.
func (c *Conn) Close() error {
	err := c.Client.Close()
	if c.Embedded != nil {
		c.Embedded.Close()
	}
	return err
}
