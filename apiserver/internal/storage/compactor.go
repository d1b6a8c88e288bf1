package storage

import (
	"context"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// compactKey records the last compaction so several apiservers sharing one
// etcd compact once per interval, as kube-apiserver does.
const compactKey = "/skiff/~compact"

// RunCompactor compacts etcd's history every interval, to the revision seen
// one interval earlier, so watchers have at least one interval to resume.
func (s *Store) RunCompactor(ctx context.Context, lg *zap.Logger, interval time.Duration) {
	if interval <= 0 {
		return
	}
	var version, rev int64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Claim this interval's compaction: only the apiserver whose view of
		// the key is current writes it.
		resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(compactKey), "=", version)).
			Then(clientv3.OpPut(compactKey, strconv.FormatInt(rev, 10))).
			Else(clientv3.OpGet(compactKey)).Commit()
		if err != nil {
			lg.Warn("compaction claim failed", zap.Error(err))
			continue
		}
		cur := resp.Header.Revision
		if !resp.Succeeded {
			if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
				version = kvs[0].Version
			}
			rev = cur
			continue
		}
		version++
		if rev > 0 {
			if err := s.Compact(ctx, rev); err != nil {
				lg.Warn("compaction failed", zap.Int64("revision", rev), zap.Error(err))
			} else {
				lg.Info("compacted etcd history", zap.Int64("revision", rev))
			}
		}
		rev = cur
	}
}
