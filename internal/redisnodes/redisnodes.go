// Package redisnodes reaches every node a Redis client stands for. Most
// commands go to the node that holds their key, but some are per node:
// CONFIG GET reads one node's settings, SCAN walks one node's keys, PING
// answers for one node. On a Redis Cluster those must be sent to every
// primary; on a single server (or the primary Sentinel names) once.
package redisnodes

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Each calls fn with rdb itself, or with each primary of a Redis Cluster
// (concurrently, so fn must be safe for that). addr names the node for
// messages: "" for a single server.
func Each(ctx context.Context, rdb redis.UniversalClient, fn func(ctx context.Context, node redis.UniversalClient, addr string) error) error {
	cluster, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return fn(ctx, rdb, "")
	}
	return cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		return fn(ctx, node, node.Options().Addr)
	})
}
