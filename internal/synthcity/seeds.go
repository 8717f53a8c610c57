package synthcity

import "sync"

// ForSeeds runs fn for seeds 0 … n−1, at most workers at a time, and
// returns when all are done: the loop of the planted-truth tests, which
// build one city per seed (workers is the machine's cores there).
func ForSeeds(n, workers int, fn func(seed int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, workers))
	for s := 0; s < n; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fn(s)
		}()
	}
	wg.Wait()
}
