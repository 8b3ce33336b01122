"""Remove back-to-back Transpose pairs that cancel.

Each NCHW op (Conv, pooling, Resize, ...) is emitted as Transpose(to NCHW) -> op ->
Transpose(to NHWC), so two image layers in a row meet as ... -> to NHWC -> to NCHW -> ...,
which is the identity. This pass lets the second op read the first one's NCHW output
directly, so a conv stack keeps one Transpose in and one out.
"""

from __future__ import annotations


def perms_cancel(first, second) -> bool:
    """True when Transpose(second) after Transpose(first) is the identity."""
    return len(first) == len(second) and all(first[axis] == i for i, axis in enumerate(second))


def remove_cancelling_transposes(nodes, keep=()) -> list:
    """The nodes, in order, with every cancelling Transpose pair bypassed and dropped.

    ``nodes``: onnx NodeProtos in an order that runs (edited in place: readers of a
    removed pair are rewired to the value before it). ``keep``: value names that must
    stay (the graph's outputs); a Transpose making one of them is never removed.
    A first Transpose that still has other readers stays.
    """
    keep = set(keep)
    made_by = {output: node for node in nodes for output in node.output}
    replaced: dict[str, str] = {}  # value name -> the value that now stands for it
    removed = set()
    for node in nodes:
        for position, name in enumerate(node.input):
            if name in replaced:
                node.input[position] = replaced[name]
        if node.op_type != "Transpose" or node.output[0] in keep:
            continue
        first = made_by.get(node.input[0])
        if first is None or first.op_type != "Transpose":
            continue
        if perms_cancel(_perm(first), _perm(node)):
            replaced[node.output[0]] = first.input[0]
            removed.add(id(node))
    survivors = [node for node in nodes if id(node) not in removed]
    while True:  # drop the first Transposes nobody reads any more
        read = {name for node in survivors for name in node.input} | keep
        unread = {id(n) for n in survivors if n.op_type == "Transpose" and n.output[0] not in read}
        if not unread:
            return survivors
        survivors = [node for node in survivors if id(node) not in unread]


def _perm(node) -> list[int]:
    for attribute in node.attribute:
        if attribute.name == "perm":
            return list(attribute.ints)
    raise ValueError(f"Transpose node {node.name!r} has no perm attribute")
