package ir

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Symbolic sizes.
//
// Shape inference works with sizes that are monomials: an integer
// coefficient times a product of symbols, such as 10, batch, 4*batch or
// batch*seq. A monomial is stored in Dim.Param in canonical form: the
// coefficient first (left out when it is 1), then the symbols in
// lexicographic order, all joined by "*" (a repeated symbol is repeated:
// "batch*batch"). A plain number is stored in Dim.Value, never in Param.
//
// A Param that does not read as a product ("sequence length", "n+1") is one
// opaque symbol. Symbols stand for sizes, so they are taken to be at least 1;
// inference uses this only to decide comparisons such as "batch is never
// -1" or "min(1, 4*batch) = 1".

// sdim is a size during inference: k times the symbol product m ("" for a
// plain number k), or nothing known (unk).
type sdim struct {
	k   int64
	m   string
	unk bool
}

var unknownSize = sdim{unk: true}

func cst(k int64) sdim { return sdim{k: k} }

func (a sdim) isConst() bool { return !a.unk && a.m == "" }

// isConstVal reports whether a is the number v.
func (a sdim) isConstVal(v int64) bool { return !a.unk && a.m == "" && a.k == v }

// same reports whether a and b are provably the same size.
func (a sdim) same(b sdim) bool { return !a.unk && !b.unk && a.k == b.k && a.m == b.m }

// String formats the canonical form ("?" when unknown).
func (a sdim) String() string {
	switch {
	case a.unk:
		return "?"
	case a.m == "":
		return strconv.FormatInt(a.k, 10)
	case a.k == 1:
		return a.m
	}
	return strconv.FormatInt(a.k, 10) + "*" + a.m
}

// dim converts to a Dim. Negative sizes are not sizes: they become unknown.
func (a sdim) dim() Dim {
	switch {
	case a.unk:
		return UnknownDim()
	case a.m == "":
		if a.k < 0 {
			return UnknownDim()
		}
		return DimOf(a.k)
	case a.k <= 0:
		return UnknownDim()
	}
	return Dim{Value: -1, Param: a.String()}
}

// parseSize reads a Dim.Param. Every '*'-separated part is an integer factor
// or a symbol; a Param with an empty part is a single opaque symbol.
func parseSize(p string) sdim {
	if !strings.Contains(p, "*") {
		if v, err := strconv.ParseInt(p, 10, 64); err == nil {
			return cst(v)
		}
		return sdim{k: 1, m: p}
	}
	parts := strings.Split(p, "*")
	k := int64(1)
	syms := parts[:0:0]
	for _, s := range parts {
		if s == "" {
			return sdim{k: 1, m: p}
		}
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			var ok bool
			if k, ok = mulInt(k, v); !ok {
				return unknownSize
			}
			continue
		}
		syms = append(syms, s)
	}
	if k == 0 || len(syms) == 0 {
		return cst(k)
	}
	sort.Strings(syms)
	return sdim{k: k, m: strings.Join(syms, "*")}
}

// dimSize converts a Dim (a number, a Param or unknown).
func dimSize(d Dim) sdim {
	switch {
	case d.Param != "":
		return parseSize(d.Param)
	case d.Value >= 0:
		return cst(d.Value)
	}
	return unknownSize
}

func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	c := a * b
	if c/b != a {
		return 0, false
	}
	return c, true
}

func addInt(a, b int64) (int64, bool) {
	c := a + b
	if (c > a) != (b > 0) {
		return 0, false
	}
	return c, true
}

// mulSyms multiplies two canonical symbol products.
func mulSyms(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	x, y := strings.Split(a, "*"), strings.Split(b, "*")
	out := make([]string, 0, len(x)+len(y))
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		if x[i] <= y[j] {
			out = append(out, x[i])
			i++
		} else {
			out = append(out, y[j])
			j++
		}
	}
	out = append(append(out, x[i:]...), y[j:]...)
	return strings.Join(out, "*")
}

// divSyms divides symbol product a by b, if b's symbols are among a's.
func divSyms(a, b string) (string, bool) {
	switch {
	case b == "":
		return a, true
	case a == b:
		return "", true
	case a == "":
		return "", false
	}
	x, y := strings.Split(a, "*"), strings.Split(b, "*")
	out := make([]string, 0, len(x))
	j := 0
	for _, s := range x {
		if j < len(y) && s == y[j] {
			j++
			continue
		}
		out = append(out, s)
	}
	if j != len(y) {
		return "", false
	}
	return strings.Join(out, "*"), true
}

func norm(k int64, m string) sdim {
	if k == 0 {
		return cst(0)
	}
	return sdim{k: k, m: m}
}

func mulSize(a, b sdim) sdim {
	if a.isConstVal(0) || b.isConstVal(0) {
		return cst(0)
	}
	if a.unk || b.unk {
		return unknownSize
	}
	k, ok := mulInt(a.k, b.k)
	if !ok {
		return unknownSize
	}
	return norm(k, mulSyms(a.m, b.m))
}

// divSize is the exact quotient a/b, or unknown when it is not a monomial
// (b does not divide a) or b is zero.
func divSize(a, b sdim) sdim {
	if a.unk || b.unk || b.k == 0 {
		return unknownSize
	}
	if a.k%b.k != 0 {
		return unknownSize
	}
	m, ok := divSyms(a.m, b.m)
	if !ok {
		return unknownSize
	}
	return norm(a.k/b.k, m)
}

// truncDivSize is integer division rounding toward zero (ONNX Div on
// integers): exact for numbers, and for monomials when b divides a.
func truncDivSize(a, b sdim) sdim {
	if a.isConst() && b.isConst() && b.k != 0 {
		if a.k == math.MinInt64 && b.k == -1 {
			return unknownSize
		}
		return cst(a.k / b.k)
	}
	return divSize(a, b)
}

// floorDivConst is floor(a/d) for a positive number d.
func floorDivConst(a sdim, d int64) sdim {
	if a.unk || d <= 0 {
		return unknownSize
	}
	if a.m == "" {
		q := a.k / d
		if a.k%d != 0 && a.k < 0 {
			q--
		}
		return cst(q)
	}
	return divSize(a, cst(d))
}

// floorDivPlus is floor((a + c) / d) for a positive number d. For a
// monomial a divisible by d the result is a/d + floor(c/d), a monomial when
// floor(c/d) is 0; every other monomial case is unknown.
func floorDivPlus(a sdim, c, d int64) sdim {
	if a.unk || d <= 0 {
		return unknownSize
	}
	if a.m == "" {
		s, ok := addInt(a.k, c)
		if !ok {
			return unknownSize
		}
		return floorDivConst(cst(s), d)
	}
	if c >= 0 && c < d && a.k%d == 0 {
		return norm(a.k/d, a.m)
	}
	return unknownSize
}

func addSize(a, b sdim) sdim {
	switch {
	case a.unk || b.unk:
		return unknownSize
	case a.isConstVal(0):
		return b
	case b.isConstVal(0):
		return a
	case a.m != b.m:
		return unknownSize
	}
	k, ok := addInt(a.k, b.k)
	if !ok {
		return unknownSize
	}
	return norm(k, a.m)
}

func negSize(a sdim) sdim {
	if a.unk || a.k == math.MinInt64 {
		return unknownSize
	}
	return norm(-a.k, a.m)
}

func subSize(a, b sdim) sdim { return addSize(a, negSize(b)) }

// modSize is a mod b for numbers (ONNX Mod with fmod=0: the sign of b).
func modSize(a, b sdim) sdim {
	if !a.isConst() || !b.isConst() || b.k == 0 {
		if !a.unk && !b.unk && b.m == "" && b.k != 0 && a.k%b.k == 0 {
			return cst(0) // k*m mod b with b dividing k
		}
		return unknownSize
	}
	r := a.k % b.k
	if r != 0 && (r < 0) != (b.k < 0) {
		r += b.k
	}
	return cst(r)
}

// lowerBound is the least value a can take (symbols are at least 1), and
// whether it has one.
func (a sdim) lowerBound() (int64, bool) {
	switch {
	case a.unk:
		return 0, false
	case a.m == "":
		return a.k, true
	case a.k > 0:
		return a.k, true
	}
	return 0, false
}

// sizeLE reports whether a ≤ b is certain.
func sizeLE(a, b sdim) bool {
	switch {
	case a.unk || b.unk:
		return false
	case a.m == b.m:
		return a.k <= b.k
	case a.m == "":
		lb, ok := b.lowerBound()
		return ok && a.k <= lb
	}
	return false
}

// sizeEqual compares two sizes: 1 certainly equal, 0 certainly different,
// -1 undecided.
func sizeEqual(a, b sdim) int {
	switch {
	case a.unk || b.unk:
		return -1
	case a.same(b):
		return 1
	case a.m == b.m:
		return 0 // same symbols (≥ 1), different coefficients
	case a.m == "" || b.m == "":
		c, s := a, b
		if s.m == "" {
			c, s = b, a
		}
		if s.k > 0 && (c.k < s.k || c.k%s.k != 0) {
			return 0
		}
	}
	return -1
}

// prodSizes is the product of sizes (1 for none).
func prodSizes(ds []sdim) sdim {
	p := cst(1)
	for _, d := range ds {
		p = mulSize(p, d)
	}
	return p
}

func (a sdim) eval(env map[string]int64) (int64, bool) {
	if a.unk {
		return 0, false
	}
	v := a.k
	if a.m == "" {
		return v, true
	}
	for _, s := range strings.Split(a.m, "*") {
		x, ok := env[s]
		if !ok {
			return 0, false
		}
		if v, ok = mulInt(v, x); !ok {
			return 0, false
		}
	}
	return v, true
}

// Eval returns the size of d when every symbol it mentions has a value in
// env (for example {"batch": 8}); false for an unknown dim or a symbol not
// in env.
func (d Dim) Eval(env map[string]int64) (int64, bool) {
	return dimSize(d).eval(env)
}

// Eval returns the sizes of every dim under env (see Dim.Eval); false if the
// rank or any size is unknown.
func (s Shape) Eval(env map[string]int64) ([]int64, bool) {
	if s == nil {
		return nil, false
	}
	out := make([]int64, len(s))
	for i, d := range s {
		v, ok := d.Eval(env)
		if !ok {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// NumElements is the product of the dims as a Dim: a number, a symbolic
// monomial such as "784*batch", or unknown. A scalar has one element; an
// unknown rank gives an unknown Dim.
func (s Shape) NumElements() Dim {
	if s == nil {
		return UnknownDim()
	}
	p := cst(1)
	for _, d := range s {
		p = mulSize(p, dimSize(d))
	}
	return p.dim()
}

// Symbols lists the distinct symbols the dims mention, sorted.
func (s Shape) Symbols() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range s {
		a := dimSize(d)
		if a.unk || a.m == "" {
			continue
		}
		for _, x := range strings.Split(a.m, "*") {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	sort.Strings(out)
	return out
}

// MulDims multiplies sizes symbolically: MulDims(SymDim("batch"), DimOf(4))
// is "4*batch". Any unknown factor makes the product unknown.
func MulDims(ds ...Dim) Dim {
	p := cst(1)
	for _, d := range ds {
		p = mulSize(p, dimSize(d))
	}
	return p.dim()
}

// DivDim divides a by b when the quotient is a number or a monomial (for
// example "64*batch" / "batch" = 64); false otherwise.
func DivDim(a, b Dim) (Dim, bool) {
	q := divSize(dimSize(a), dimSize(b))
	if q.unk {
		return UnknownDim(), false
	}
	d := q.dim()
	return d, d.Param != "" || d.Value >= 0
}

// CanonicalDim rewrites a symbolic Dim in canonical form ("batch*4" becomes
// "4*batch", "2*3" becomes the number 6); other dims are returned unchanged.
func CanonicalDim(d Dim) Dim {
	if d.Param == "" {
		return d
	}
	c := dimSize(d).dim()
	c.Denotation = d.Denotation
	return c
}
