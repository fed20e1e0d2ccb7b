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
	indeg := make([]int, n)
	succ := make([][]int, n)
	local := func(x *Node) bool { return x != nil && x.Graph == g && x.Index < n && g.Nodes[x.Index] == x }
	for i, nd := range g.Nodes {
		if nd.Index != i {
			g.Reindex()
			break
		}
	}
	for _, nd := range g.Nodes {
		deps := map[int]bool{}
		for _, in := range nodeReads(nd) {
			if in != nil && local(in.Producer) && in.Producer != nd {
				deps[in.Producer.Index] = true
			} else if in != nil && in.Producer == nd {
				deps[nd.Index] = true // self-loop
			}
		}
		for d := range deps {
			succ[d] = append(succ[d], nd.Index)
			indeg[nd.Index]++
		}
	}
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
		for _, s := range succ[i] {
			indeg[s]--
			if indeg[s] == 0 {
				ready.push(s)
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

// findCycle returns one cycle among the stuck nodes (all of which have
// unresolved predecessors), closing back on its first node.
func findCycle(g *Graph, stuck []int, succ [][]int) []int {
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
		for _, v := range succ[u] {
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
