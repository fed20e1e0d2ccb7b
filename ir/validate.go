package ir

import "fmt"

// Validate checks what a reader must check before anything runs on the
// graph: every initializer's and tensor attribute's data agrees with its
// declared shape, the graph has no cycle, outputs are defined, and every
// attribute is well formed. Name resolution problems are found earlier, by
// Builder.Finish. All problems are returned together as an ErrorList.
func (g *Graph) Validate() error {
	var errs ErrorList
	for _, v := range g.Initializers {
		errs.Add(v.Init.Validate())
	}
	for _, n := range g.Nodes {
		if n.OpType == "" {
			errs.Add(fmt.Errorf("node %s: no op_type", n.Label()))
		}
		seen := map[string]bool{}
		for _, a := range n.Attrs {
			if seen[a.Name] {
				errs.Add(fmt.Errorf("node %s (%s): attribute %q appears twice", n.Label(), n.OpType, a.Name))
			}
			seen[a.Name] = true
			if a.T != nil {
				if err := a.T.Validate(); err != nil {
					errs.Add(fmt.Errorf("node %s (%s): attribute %q: %w", n.Label(), n.OpType, a.Name, err))
				}
			}
			for _, t := range a.Tensors {
				if err := t.Validate(); err != nil {
					errs.Add(fmt.Errorf("node %s (%s): attribute %q: %w", n.Label(), n.OpType, a.Name, err))
				}
			}
			if a.G != nil {
				errs.Add(a.G.Validate())
			}
			for _, sg := range a.Graphs {
				errs.Add(sg.Validate())
			}
		}
	}
	if _, err := g.TopoOrder(); err != nil {
		errs.Add(err)
	}
	if g.Parent == nil && len(g.Outputs) == 0 {
		errs.Add(fmt.Errorf("graph %q has no outputs", g.Name))
	}
	return errs.Err()
}
