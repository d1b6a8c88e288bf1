package controller

import (
	"errors"
	"sync"
)

// SlowStartInitialBatchSize is the first batch of SlowStartBatch, as
// Kubernetes' controllers.
const SlowStartInitialBatchSize = 1

// SlowStartBatch calls fn count times in batches of growing size (1, 2, 4,
// ... as initial is 1), each batch in parallel, and stops after the first
// batch with an error, so a create that cannot succeed (quota, a bad
// template) fails a few times rather than count times. It returns how many
// calls succeeded and the errors of the batch that failed.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for i := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = fn()
			}()
		}
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
			}
		}
		successes += batch - failed
		if failed > 0 {
			return successes, errors.Join(errs...)
		}
		remaining -= batch
	}
	return successes, nil
}
