package workqueue

import (
	"container/heap"
	"time"
)

// waitFor is a key that becomes ready at readyAt.
type waitFor struct {
	key     string
	readyAt time.Time
	index   int // in the heap
}

// AddAfter implements DelayingInterface.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if q.ShuttingDown() {
		return
	}
	q.metrics.retry()
	if d <= 0 {
		q.Add(key)
		return
	}
	select {
	case <-q.stopCh:
	case q.waitingForAdd <- waitFor{key: key, readyAt: q.clock.Now().Add(d)}:
	}
}

// stopWaitingLoop ends the delayed-add goroutine and waits for it, dropping
// the keys still waiting.
func (q *Queue) stopWaitingLoop() {
	q.stopOnce.Do(func() { close(q.stopCh) })
	<-q.loopDone
}

// waitingLoop owns the delay heap: it takes new entries from AddAfter and
// adds each key to the queue once its time comes.
func (q *Queue) waitingLoop() {
	defer close(q.loopDone)

	waiting := &waitHeap{}
	byKey := map[string]*waitFor{}

	// add puts entry in the heap, or moves an already waiting key earlier.
	add := func(entry waitFor) {
		if old, ok := byKey[entry.key]; ok {
			if entry.readyAt.Before(old.readyAt) {
				old.readyAt = entry.readyAt
				heap.Fix(waiting, old.index)
			}
			return
		}
		e := &entry
		heap.Push(waiting, e)
		byKey[e.key] = e
	}

	for {
		// Hand out everything that is due.
		now := q.clock.Now()
		for waiting.Len() > 0 {
			next := (*waiting)[0]
			if next.readyAt.After(now) {
				break
			}
			heap.Pop(waiting)
			delete(byKey, next.key)
			q.Add(next.key)
		}

		// Sleep until the next one is due, or a new one arrives.
		var timer Timer
		var timerC <-chan time.Time
		if waiting.Len() > 0 {
			timer = q.clock.NewTimer((*waiting)[0].readyAt.Sub(now))
			timerC = timer.C()
		}

		select {
		case <-q.stopCh:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-timerC:
		case entry := <-q.waitingForAdd:
			add(entry)
			// Take whatever else is pending before computing the next wait.
		drain:
			for {
				select {
				case entry := <-q.waitingForAdd:
					add(entry)
				default:
					break drain
				}
			}
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// waitHeap is a min-heap of entries by readyAt.
type waitHeap []*waitFor

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].readyAt.Before(h[j].readyAt) }
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *waitHeap) Push(x any) {
	e := x.(*waitFor)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *waitHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}
