package ir

import (
	"fmt"
	"sort"
	"strings"
)

// TopoOrder returns the nodes in an order where every node comes after the
// producers of its inputs. Among ready nodes the file order is kept, so a
// file that is already sorted comes back unchanged. A cycle is an error that
// lists the nodes on it.
func (g *Graph) TopoOrder() ([]*Node, error) {
	n := len(g.Nodes)
	local := func(x *Node) bool { return x != nil && x.Graph == g && x.Index < n && g.Nodes[x.Index] == x }
	for i, nd := range g.Nodes {
		if nd.Index != i {
			g.Reindex()
			break
		}
	}
	// Edges producer → consumer, one per pair, in consumer order. Flat
	// arrays rather than a set per node: graphs of hundreds of thousands
	// of nodes are sorted several times (validation, shape inference, lint
	// facts, the executor).
	indeg := make([]int32, n)
	last := make([]int32, n) // last[p] = i+1 once node i depends on p
	reads := 0
	for _, nd := range g.Nodes {
		reads += len(nd.Inputs)
	}
	edges := make([]int32, 0, 2*reads) // pairs (producer, consumer); sized once (subgraph reads may add more)
	for i, nd := range g.Nodes {
		for _, in := range nodeReads(nd) {
			var p int
			switch {
			case in == nil:
				continue
			case in.Producer == nd:
				p = i // self-loop
			case local(in.Producer):
				p = in.Producer.Index
			default:
				continue
			}
			if last[p] == int32(i+1) {
				continue
			}
			last[p] = int32(i + 1)
			edges = append(edges, int32(p), int32(i))
			indeg[i]++
		}
	}
	succ := newAdjacency(n, edges)
	// A min-heap on file index keeps the order stable.
	ready := &intHeap{}
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			ready.push(i)
		}
	}
	order := make([]*Node, 0, n)
	for ready.len() > 0 {
		i := ready.pop()
		order = append(order, g.Nodes[i])
		for _, s := range succ.of(i) {
			indeg[s]--
			if indeg[s] == 0 {
				ready.push(int(s))
			}
		}
	}
	if len(order) == n {
		return order, nil
	}
	var stuck []int
	for i := 0; i < n; i++ {
		if indeg[i] > 0 {
			stuck = append(stuck, i)
		}
	}
	cyc := findCycle(g, stuck, succ)
	names := make([]string, len(cyc))
	for i, c := range cyc {
		names[i] = fmt.Sprintf("%s (%s)", g.Nodes[c].Label(), g.Nodes[c].OpType)
	}
	return nil, fmt.Errorf("graph %q has a cycle: %s", g.Name, strings.Join(names, " -> "))
}

// nodeReads is every value the node reads, including those its subgraphs
// read from enclosing scopes.
func nodeReads(nd *Node) []*Value {
	reads := nd.Inputs
	if subs := nd.Subgraphs(); len(subs) > 0 {
		reads = append([]*Value(nil), reads...)
		for _, s := range subs {
			reads = append(reads, s.OuterReads()...)
		}
	}
	return reads
}

// adjacency lists each node's successors in one array (compressed rows).
type adjacency struct {
	start []int32 // successors of u are to[start[u]:start[u+1]]
	to    []int32
}

// newAdjacency builds the successor lists from (producer, consumer) pairs,
// keeping their order.
func newAdjacency(n int, edges []int32) adjacency {
	a := adjacency{start: make([]int32, n+1), to: make([]int32, len(edges)/2)}
	for k := 0; k < len(edges); k += 2 {
		a.start[edges[k]+1]++
	}
	for u := 0; u < n; u++ {
		a.start[u+1] += a.start[u]
	}
	next := make([]int32, n)
	copy(next, a.start[:n])
	for k := 0; k < len(edges); k += 2 {
		u := edges[k]
		a.to[next[u]] = edges[k+1]
		next[u]++
	}
	return a
}

func (a adjacency) of(u int) []int32 { return a.to[a.start[u]:a.start[u+1]] }

// findCycle returns one cycle among the stuck nodes (all of which have
// unresolved predecessors), closing back on its first node.
func findCycle(g *Graph, stuck []int, succ adjacency) []int {
	inStuck := map[int]bool{}
	for _, s := range stuck {
		inStuck[s] = true
	}
	sort.Ints(stuck)
	state := map[int]int{} // 0 new, 1 on stack, 2 done
	var stack []int
	var found []int
	var dfs func(int) bool
	dfs = func(u int) bool {
		state[u] = 1
		stack = append(stack, u)
		for _, v32 := range succ.of(u) {
			v := int(v32)
			if !inStuck[v] {
				continue
			}
			if state[v] == 1 {
				for k := len(stack) - 1; k >= 0; k-- {
					if stack[k] == v {
						found = append(append([]int{}, stack[k:]...), v)
						return true
					}
				}
			}
			if state[v] == 0 && dfs(v) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		state[u] = 2
		return false
	}
	for _, s := range stuck {
		if state[s] == 0 && dfs(s) {
			return found
		}
	}
	return stuck
}

type intHeap struct{ a []int }

func (h *intHeap) len() int { return len(h.a) }
func (h *intHeap) push(x int) {
	h.a = append(h.a, x)
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}
func (h *intHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.a[l] < h.a[m] {
			m = l
		}
		if r < last && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			break
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
	return top
}
