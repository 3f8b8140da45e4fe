/// The call tree a flame graph draws: one node per distinct root-first frame prefix. A node's
/// value is the pages of every stack through it; for a differential graph it also keeps the
/// pages before and after, and its value (the width) is the larger of the two per stack.
struct FlameTree {
    struct Node {
        let name: String
        let depth: Int
        var value: Int64 = 0
        var before: Int64 = 0
        var after: Int64 = 0
        var children: [String: Int] = [:]
    }

    /// nodes[0] is the root ("all").
    private(set) var nodes: [Node]
    private(set) var maxDepth = 0

    init(rootName: String) {
        nodes = [Node(name: rootName, depth: 0)]
    }

    /// Adds one stack (root first) holding `value` pages (`before`/`after` for a diff).
    mutating func add(_ frames: [String], value: Int64, before: Int64 = 0, after: Int64 = 0) {
        guard value > 0 else { return }
        var at = 0
        bump(at, value, before, after)
        for frame in frames {
            if let child = nodes[at].children[frame] {
                at = child
            } else {
                let depth = nodes[at].depth + 1
                nodes.append(Node(name: frame, depth: depth))
                nodes[at].children[frame] = nodes.count - 1
                at = nodes.count - 1
                maxDepth = max(maxDepth, depth)
            }
            bump(at, value, before, after)
        }
    }

    private mutating func bump(_ i: Int, _ value: Int64, _ before: Int64, _ after: Int64) {
        nodes[i].value &+= value
        nodes[i].before &+= before
        nodes[i].after &+= after
    }

    /// Every node with its horizontal offset (in pages from the left edge), parents before
    /// children, children left to right in name order (flamegraph.pl's order).
    func laidOut() -> [(node: Node, offset: Int64)] {
        var out: [(node: Node, offset: Int64)] = []
        out.reserveCapacity(nodes.count)
        var stack: [(index: Int, offset: Int64)] = [(0, 0)]
        while let (index, offset) = stack.popLast() {
            let node = nodes[index]
            out.append((node, offset))
            var childOffset = offset
            var placed: [(Int, Int64)] = []
            for name in node.children.keys.sorted() {
                guard let child = node.children[name] else { continue }
                placed.append((child, childOffset))
                childOffset &+= nodes[child].value
            }
            stack.append(contentsOf: placed.reversed())
        }
        return out
    }
}
