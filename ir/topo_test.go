package ir

import (
	"strings"
	"testing"
)

func chain(t *testing.T, order []string, edges map[string][]string) *Graph {
	t.Helper()
	b := NewBuilder("g", nil)
	b.Input("x", nil, nil)
	for _, name := range order {
		ins := edges[name]
		b.Node(&Node{Name: name, OpType: "Relu"}, ins, []string{name + ".out"})
	}
	b.Output(order[len(order)-1]+".out", nil, nil)
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func names(ns []*Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Name)
	}
	return strings.Join(s, ",")
}

func TestTopoOrderSortsAndIsStable(t *testing.T) {
	// File order c, a, b with a→b→c dependencies: sorted to a, b, c.
	g := chain(t, []string{"c", "a", "b"}, map[string][]string{"a": {"x"}, "b": {"a.out"}, "c": {"b.out"}})
	order, err := g.TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(order); got != "a,b,c" {
		t.Fatalf("order %s", got)
	}
	// Independent nodes keep file order.
	g = chain(t, []string{"p", "q", "r", "s"}, map[string][]string{"p": {"x"}, "q": {"x"}, "r": {"x"}, "s": {"x"}})
	order, _ = g.TopoOrder()
	if got := names(order); got != "p,q,r,s" {
		t.Fatalf("order %s", got)
	}
}

func TestTopoOrderCycle(t *testing.T) {
	b := NewBuilder("g", nil)
	b.Input("x", nil, nil)
	b.Node(&Node{Name: "head", OpType: "Relu"}, []string{"x"}, []string{"h"})
	b.Node(&Node{Name: "a", OpType: "Add"}, []string{"h", "c.out"}, []string{"a.out"})
	b.Node(&Node{Name: "b", OpType: "Relu"}, []string{"a.out"}, []string{"b.out"})
	b.Node(&Node{Name: "c", OpType: "Relu"}, []string{"b.out"}, []string{"c.out"})
	b.Output("b.out", nil, nil)
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.TopoOrder()
	if err == nil {
		t.Fatal("cycle not found")
	}
	msg := err.Error()
	for _, want := range []string{"cycle", "a (Add)", "b (Relu)", "c (Relu)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "head") {
		t.Errorf("error lists a node not on the cycle: %q", msg)
	}
}

func TestBuilderSubgraphOuterScope(t *testing.T) {
	b := NewBuilder("main", nil)
	b.Input("x", nil, nil)
	b.Input("cond", nil, nil)
	then := NewBuilder("then", b)
	then.Node(&Node{Name: "inner", OpType: "Relu"}, []string{"w.out"}, []string{"t.out"})
	then.Output("t.out", nil, nil)
	ifNode := &Node{Name: "if", OpType: "If", Attrs: []*Attribute{{Name: "then_branch", Type: AttrGraph, G: then.Graph()}}}
	b.Node(ifNode, []string{"cond"}, []string{"y"})
	b.Node(&Node{Name: "w", OpType: "Relu"}, []string{"x"}, []string{"w.out"}) // defined after its use
	b.Output("y", nil, nil)
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	order, err := g.TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(order); got != "w,if" {
		t.Fatalf("order %s: the If must follow the producer of the value its branch reads", got)
	}
	inner := then.Graph().Nodes[0]
	if inner.Inputs[0] != g.Value("w.out") {
		t.Fatal("subgraph input not resolved to the outer value")
	}
}
