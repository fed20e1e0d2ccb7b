#!/usr/bin/env python3
"""Builds a corpus of mutated ONNX models for nnkit's hostile-input campaign
(issue 9: "a fresh fuzzing campaign of the same size" as the attack that
found the crashes, about 3,300 mutants of real exports).

Usage: make_mutants.py OUT_DIR [COUNT] [SEED] [KIND]   (defaults: 3300, 1, all)

KIND "soft" keeps to the mutations after which most models still load
(small dims, attributes moved by one or two, hostile weights, shuffled or
duplicated nodes, contradicting value_info), to reach the executor, the
probe and training more often than refusals do.

Every model under testdata/models (the PyTorch exports, eval and training
graphs, gzip-compressed ones included) is a source. Each mutant applies one
to three mutations, chosen at random from two families:

- structural, through onnx's protobuf classes, the edits an attacker or a
  broken exporter makes: input and initializer dims (0, negative, 2^31,
  2^62), element types, truncated or missing tensor bytes, external data
  pointing outside the model's folder, at devices or past the file's end,
  op types and domains swapped, inputs and outputs added, dropped,
  duplicated or renamed (cycles, names nobody defines, outputs named like
  inputs), attributes with huge, negative, NaN or wrongly typed values,
  unknown attributes, garbage subgraphs, opsets and IR versions out of
  range, weights set to NaN, Inf or 3e38, small changes that still load
  (an input dim of 1 to 7, an integer attribute moved by one or two), graph outputs removed or aimed at initializers, value_info that
  contradicts the graph, nodes shuffled, duplicated or multiplied (a
  graph of up to 60,000 nodes);
- bytes: flipped bits, truncation, inserted and spliced byte runs.

It writes OUT_DIR/NNNN.onnx with OUT_DIR/NNNN.npy, an input of the source's
first input shape (symbolic dims 2) for `nntrain predict`, and
OUT_DIR/manifest.tsv (mutant, source, mutations). Standard library, numpy
and onnx only (Debian's python3-onnx); deterministic for a seed.
"""
import copy
import gzip
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'models')
HUGE = [0, 1, 2**31 - 1, 2**31, 2**32 + 3, 2**40, 2**62, -1, -7]
OPS = ['Relu', 'Conv', 'Gemm', 'MatMul', 'Add', 'Reshape', 'BatchNormalization', 'Softmax',
       'MaxPool', 'Concat', 'Gather', 'Transpose', 'LSTM', 'GRU', 'Loop', 'If', 'Scan', 'Foo',
       'Dropout', 'Slice', 'Expand', 'ConstantOfShape', 'Resize', 'TopK', 'Split', 'Where', '']
DOMAINS = ['ai.onnx.ml', 'com.microsoft', 'x.y', 'ai.onnx', 'ai.onnx.preview.training']
LOCATIONS = ['../../../etc/passwd', '/etc/passwd', '/dev/zero', '/proc/self/mem', 'missing.bin',
             'a/../../b.bin', '', '.', '/tmp', 'data.bin\x00x']


def load_sources():
    out = []
    for d in sorted(os.listdir(ROOT)):
        for f in sorted(os.listdir(os.path.join(ROOT, d))):
            if not (f.endswith('.onnx') or f.endswith('.onnx.gz')):
                continue
            p = os.path.join(ROOT, d, f)
            raw = open(p, 'rb').read()
            if f.endswith('.gz'):
                raw = gzip.decompress(raw)
            out.append((d + '/' + f, onnx.load_from_string(raw)))
    return out


def values(g):
    names = [i.name for i in g.input] + [t.name for t in g.initializer]
    for n in g.node:
        names += [o for o in n.output if o]
    return names


def m_input_dim(m, r):
    ins = [i for i in m.graph.input if i.type.HasField('tensor_type')]
    if not ins:
        return None
    i = r.choice(ins)
    dims = i.type.tensor_type.shape.dim
    if not dims:
        i.type.tensor_type.shape.dim.add().dim_value = r.choice(HUGE)
        return 'input rank+1'
    d = r.choice(dims)
    if r.random() < 0.8:
        d.dim_value = r.choice(HUGE)
        return 'input dim %d' % d.dim_value
    d.dim_param = r.choice(['', 'batch', 'x' * 300, 'N*M', '-1'])
    return 'input dim_param %r' % d.dim_param[:20]


def m_init_dims(m, r):
    if not m.graph.initializer:
        return None
    t = r.choice(m.graph.initializer)
    k = r.random()
    if k < 0.5 and t.dims:
        t.dims[r.randrange(len(t.dims))] = r.choice(HUGE + [2, 3])
    elif k < 0.75:
        t.dims.append(r.choice([1, 2, 2**31]))
    elif t.dims:
        del t.dims[-1]
    return 'initializer %s dims %s' % (t.name, list(t.dims)[:6])


def m_init_dtype(m, r):
    if not m.graph.initializer:
        return None
    t = r.choice(m.graph.initializer)
    t.data_type = r.choice(list(range(0, 26)) + [99, -1 & 0x7fffffff])
    return 'initializer %s type %d' % (t.name, t.data_type)


def m_init_bytes(m, r):
    if not m.graph.initializer:
        return None
    t = r.choice(m.graph.initializer)
    k = r.random()
    if t.raw_data and k < 0.5:
        t.raw_data = t.raw_data[:r.choice([0, 1, 3, len(t.raw_data) // 2, len(t.raw_data) - 1])]
        return 'initializer %s raw_data truncated' % t.name
    if k < 0.75:
        t.float_data.extend([float('nan'), 1.0, 2.0])
        return 'initializer %s raw_data plus float_data' % t.name
    t.ClearField('raw_data')
    t.ClearField('float_data')
    return 'initializer %s without data' % t.name


def m_init_external(m, r):
    if not m.graph.initializer:
        return None
    t = r.choice(m.graph.initializer)
    t.ClearField('raw_data')
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    for k, v in (('location', r.choice(LOCATIONS)), ('offset', str(r.choice(HUGE + [4, 4096]))),
                 ('length', str(r.choice(HUGE + [16])))):
        if r.random() < 0.85:
            e = t.external_data.add()
            e.key, e.value = k, v
    if r.random() < 0.2:
        e = t.external_data.add()
        e.key, e.value = 'checksum', 'x'
    return 'initializer %s external %s' % (t.name, [(e.key, e.value) for e in t.external_data])


def m_init_values(m, r):
    # Same size, hostile numbers: the probe and training meet NaN, Inf and
    # overflow.
    ts = [t for t in m.graph.initializer if t.data_type == TensorProto.FLOAT and t.raw_data]
    if not ts:
        return None
    t = r.choice(ts)
    a = np.frombuffer(t.raw_data, np.float32).copy()
    v = r.choice([float('nan'), float('inf'), -float('inf'), 1e30, 0.0, 3e38])
    if r.random() < 0.5:
        a[:] = v
    else:
        a[r.randrange(len(a))] = v
    t.raw_data = a.tobytes()
    return 'initializer %s values %s' % (t.name, v)


def m_input_small_dim(m, r):
    ins = [i for i in m.graph.input if i.type.HasField('tensor_type') and i.type.tensor_type.shape.dim]
    if not ins:
        return None
    i = r.choice(ins)
    d = r.choice(i.type.tensor_type.shape.dim)
    d.dim_value = r.randint(1, 7)
    return 'input %s dim %d' % (i.name, d.dim_value)


def m_attr_nudge(m, r):
    ns = [n for n in m.graph.node if any(a.type in (2, 7) for a in n.attribute)]
    if not ns:
        return None
    n = r.choice(ns)
    a = r.choice([a for a in n.attribute if a.type in (2, 7)])
    if a.type == 2:
        a.i += r.choice([-2, -1, 1, 2])
    elif a.ints:
        j = r.randrange(len(a.ints))
        a.ints[j] += r.choice([-2, -1, 1, 2])
    return 'node %s attribute %s nudged' % (n.name, a.name)


def pick_node(m, r):
    return r.choice(m.graph.node) if m.graph.node else None


def m_op_type(m, r):
    n = pick_node(m, r)
    if n is None:
        return None
    old, n.op_type = n.op_type, r.choice(OPS)
    return 'node %s %s -> %s' % (n.name, old, n.op_type)


def m_domain(m, r):
    n = pick_node(m, r)
    if n is None:
        return None
    n.domain = r.choice(DOMAINS)
    return 'node %s domain %s' % (n.name, n.domain)


def m_inputs(m, r):
    n = pick_node(m, r)
    if n is None:
        return None
    k = r.random()
    vs = values(m.graph)
    if k < 0.3 and n.input:
        del n.input[r.randrange(len(n.input))]
        return 'node %s input dropped' % n.name
    if k < 0.6:
        n.input.append(r.choice(vs + ['', 'nobody']))
        return 'node %s input added' % n.name
    if n.input:
        n.input[r.randrange(len(n.input))] = r.choice(vs + ['', 'nobody'])
        return 'node %s input renamed' % n.name
    return None


def m_outputs(m, r):
    n = pick_node(m, r)
    if n is None:
        return None
    k = r.random()
    if k < 0.35:
        for j in range(r.randint(1, 6)):
            n.output.append('%s_extra%d' % (n.name, j))
        return 'node %s %d outputs' % (n.name, len(n.output))
    vs = values(m.graph)
    if n.output and k < 0.7:
        n.output[r.randrange(len(n.output))] = r.choice(vs + [''])
        return 'node %s output renamed (duplicate, input or initializer name)' % n.name
    if n.output and n.input:
        n.input[0] = n.output[0]
        return 'node %s reads its own output' % n.name
    return None


def m_cycle(m, r):
    ns = m.graph.node
    if len(ns) < 3:
        return None
    i = r.randrange(len(ns) - 1)
    j = r.randrange(i + 1, len(ns))
    if not ns[i].input or not ns[j].output:
        return None
    ns[i].input[0] = ns[j].output[0]
    return 'cycle %s <- %s' % (ns[i].name, ns[j].name)


def rand_attr_value(a, r):
    k = r.random()
    if k < 0.2:
        return helper.make_attribute(a.name, r.choice(HUGE))
    if k < 0.4:
        return helper.make_attribute(a.name, [r.choice(HUGE) for _ in range(r.randint(0, 6))])
    if k < 0.55:
        return helper.make_attribute(a.name, r.choice([float('nan'), float('inf'), -1.0, 1e30]))
    if k < 0.7:
        return helper.make_attribute(a.name, r.choice(['', 'NOTSET', 'x' * 1000, 'nearest']))
    if k < 0.8:
        return helper.make_attribute(a.name, helper.make_tensor('t', TensorProto.FLOAT, [2], [1.0, 2.0]))
    if k < 0.9:
        g = helper.make_graph([], 'g', [], [])
        return helper.make_attribute(a.name, g)
    b = copy.deepcopy(a)
    b.type = r.choice(range(0, 15))
    return b


def m_attr(m, r):
    ns = [n for n in m.graph.node if n.attribute]
    if not ns:
        return None
    n = r.choice(ns)
    i = r.randrange(len(n.attribute))
    k = r.random()
    if k < 0.15:
        name = n.attribute[i].name
        del n.attribute[i]
        return 'node %s attribute %s dropped' % (n.name, name)
    if k < 0.3:
        a = copy.deepcopy(n.attribute[i])
        a.name = a.name + r.choice(['s', '_', 'X'])
        n.attribute.append(a)
        return 'node %s unknown attribute %s' % (n.name, a.name)
    if k < 0.4:
        n.attribute.append(copy.deepcopy(n.attribute[i]))
        return 'node %s attribute %s twice' % (n.name, n.attribute[i].name)
    new = rand_attr_value(n.attribute[i], r)
    n.attribute[i].CopyFrom(new)
    return 'node %s attribute %s = %s' % (n.name, new.name, helper.get_attribute_value(new) if new.type in (1, 2, 3, 6, 7) else 'type %d' % new.type)


def m_subgraph(m, r):
    n = pick_node(m, r)
    if n is None:
        return None
    body = helper.make_graph(
        [helper.make_node(r.choice(OPS) or 'Relu', ['outer_' + r.choice(values(m.graph) or ['x']), 'nobody'], ['y'])],
        'body', [helper.make_tensor_value_info('i', TensorProto.INT64, [])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)])
    n.attribute.append(helper.make_attribute(r.choice(['body', 'then_branch', 'else_branch', 'g']), body))
    return 'node %s garbage subgraph' % n.name


def m_opset(m, r):
    v = r.choice([-1, 0, 1, 6, 7, 22, 23, 999, 2**40])
    if m.opset_import and r.random() < 0.8:
        m.opset_import[0].version = v
    else:
        o = m.opset_import.add()
        o.domain, o.version = r.choice(DOMAINS + ['']), v
    return 'opset %d' % v


def m_ir_version(m, r):
    m.ir_version = r.choice([-1, 0, 1, 2, 11, 999, 2**40])
    return 'ir_version %d' % m.ir_version


def m_graph_output(m, r):
    g = m.graph
    k = r.random()
    if k < 0.25:
        del g.output[:]
        return 'no graph outputs'
    if k < 0.5 and g.initializer:
        g.output.append(helper.make_tensor_value_info(r.choice(g.initializer).name, TensorProto.FLOAT, None))
        return 'graph output is an initializer'
    if k < 0.75 and g.input:
        g.output.append(copy.deepcopy(g.input[0]))
        return 'graph output is the input'
    if g.output:
        g.output.append(copy.deepcopy(g.output[0]))
        return 'graph output twice'
    return None


def m_value_info(m, r):
    n = pick_node(m, r)
    if n is None or not n.output or not n.output[0]:
        return None
    shape = [r.choice(HUGE + [3, 'b']) for _ in range(r.randint(0, 5))]
    shape = [s if isinstance(s, str) or s >= 0 else 5 for s in shape]
    m.graph.value_info.append(helper.make_tensor_value_info(
        n.output[0], r.choice([TensorProto.FLOAT, TensorProto.INT64, TensorProto.STRING, TensorProto.FLOAT16]), shape))
    return 'value_info %s %s' % (n.output[0], shape)


def m_shuffle(m, r):
    ns = list(m.graph.node)
    r.shuffle(ns)
    del m.graph.node[:]
    m.graph.node.extend(ns)
    return 'nodes shuffled'


def m_duplicate(m, r):
    n = pick_node(m, r)
    if n is None:
        return None
    m.graph.node.append(copy.deepcopy(n))
    return 'node %s twice' % n.name


def m_multiply(m, r):
    # A long chain appended to the first graph output: a big graph from a
    # small file.
    g = m.graph
    if not g.output:
        return None
    x = g.output[0].name
    k = r.choice([1000, 20000, 60000])
    for i in range(k):
        y = 'chain_%d' % i
        g.node.append(helper.make_node(r.choice(['Relu', 'Neg', 'Sigmoid']), [x], [y], name='c%d' % i))
        x = y
    g.output[0].name = x
    g.output[0].type.tensor_type.ClearField('shape')
    return 'chain of %d nodes after the output' % k


STRUCT = [m_input_dim, m_init_dims, m_init_dtype, m_init_bytes, m_init_external, m_op_type, m_domain,
          m_inputs, m_outputs, m_cycle, m_attr, m_attr, m_subgraph, m_opset, m_ir_version,
          m_graph_output, m_value_info, m_shuffle, m_duplicate, m_multiply,
          m_init_values, m_init_values, m_input_small_dim, m_input_small_dim, m_attr_nudge, m_attr_nudge]


SOFT = [m_input_small_dim, m_attr_nudge, m_init_values, m_value_info, m_shuffle, m_duplicate,
        m_multiply, m_graph_output]


def byte_mutations(b, r):
    b = bytearray(b)
    what = []
    for _ in range(r.randint(1, 3)):
        k = r.random()
        if k < 0.4 and b:
            for _ in range(r.randint(1, 16)):
                b[r.randrange(len(b))] ^= 1 << r.randrange(8)
            what.append('bits flipped')
        elif k < 0.6 and b:
            b = b[:r.randrange(len(b))]
            what.append('truncated')
        elif k < 0.8:
            p = r.randrange(len(b) + 1)
            b[p:p] = bytes(r.choice([0, 0xff, r.randrange(256)]) for _ in range(r.randint(1, 64)))
            what.append('bytes inserted')
        elif b:
            i, j = sorted(r.randrange(len(b)) for _ in range(2))
            p = r.randrange(len(b))
            b[p:p] = b[i:j][:4096]
            what.append('bytes spliced')
    return bytes(b), what


def input_array(m, r):
    g = m.graph
    inits = {t.name for t in g.initializer}
    ins = [i for i in g.input if i.name not in inits]
    if not ins or not ins[0].type.HasField('tensor_type'):
        return np.zeros((2, 4), np.float32)
    dims = []
    for d in ins[0].type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField('dim_value') and 0 < d.dim_value <= 512 else 2)
    et = ins[0].type.tensor_type.elem_type
    if et == TensorProto.INT64:
        return np.zeros(dims, np.int64)
    return np.random.RandomState(r.randrange(2**31)).standard_normal(dims).astype(np.float32)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'mutants'
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3300
    r = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    soft = len(sys.argv) > 4 and sys.argv[4] == 'soft'
    muts = SOFT if soft else STRUCT
    os.makedirs(out, exist_ok=True)
    sources = load_sources()
    # Small models are mutated more often than the big ones (the big ones
    # take seconds per run).
    weights = [1.0 if len(m.SerializeToString()) < 5e6 else 0.15 for _, m in sources]
    with open(os.path.join(out, 'manifest.tsv'), 'w') as man:
        for i in range(count):
            name, src = r.choices(sources, weights)[0]
            m = copy.deepcopy(src)
            what = []
            for _ in range(r.choice([1, 1, 1, 2, 3])):
                try:
                    w = r.choice(muts)(m, r)
                except (ValueError, TypeError, IndexError) as e:
                    w = None
                if w:
                    what.append(w)
            data = m.SerializeToString()
            if not soft and (not what or r.random() < 0.2):
                data, bw = byte_mutations(data, r)
                what += bw
            base = os.path.join(out, '%04d' % i)
            with open(base + '.onnx', 'wb') as f:
                f.write(data)
            np.save(base + '.npy', input_array(src, r))
            man.write('%04d\t%s\t%s\n' % (i, name, '; '.join(what).replace('\t', ' ').replace('\n', ' ')))


if __name__ == '__main__':
    main()
