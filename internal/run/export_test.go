package run

// Waiting is how many runs wait for a flusher.
func (g *GroupCommit) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, t := range g.tenants {
		n += len(t.waiting)
	}
	return n
}
