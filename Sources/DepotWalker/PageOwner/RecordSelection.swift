#if canImport(Glibc)
import Glibc
#endif

/// Which page_owner records to print, and how to print their stack.
///
/// The first part is the per-open-file filter of the newest kernels (mm tree, 7.x), written to
/// an open /sys/kernel/debug/page_owner: `mode=stack|handle|stack_handle`, `nid=LIST`,
/// `pid=LIST`, `tgid=LIST`. A record passes when its node (from page->flags; pages whose flags
/// are the poison pattern are left out) is in the nid list, and when its pid is in the pid list
/// or its tgid in the tgid list. vmowner applies it to the dump of any kernel version.
///
/// The rest goes beyond the kernel: task name (glob), gfp flag, order, pfn range, a symbol or
/// module in the stack, allocation time window, memory cgroup name. Every condition given must
/// hold.
public struct RecordSelection: Sendable {
    public enum StackMode: String, Sendable, CaseIterable {
        case stack, handle
        case stackHandle = "stack_handle"
    }

    public var mode: StackMode = .stack
    public var nids: Set<UInt64>?
    public var pids: Set<Int64>?
    public var tgids: Set<Int64>?
    public var commGlob: String?
    /// gfp bits that must all be set (a flag name's mask from gfpflag_names).
    public var gfpMask: UInt64?
    public var orders: Set<UInt64>?
    public var pfns: ClosedRange<UInt64>?
    public var stackSymbol: String?
    public var stackModule: String?
    public var since: UInt64?
    public var until: UInt64?
    public var memcg: String?

    public init() {}

    /// Whether only the stack part changes (every record printed).
    var selectsAll: Bool {
        nids == nil && pids == nil && tgids == nil && commGlob == nil && gfpMask == nil && orders == nil && pfns == nil
            && stackSymbol == nil && stackModule == nil && since == nil && until == nil && memcg == nil
    }

    /// The kernel's check (nid, then pid-or-tgid), then vmowner's own.
    func keeps(pfn: UInt64, page: UnsafeRawPointer, record r: UnsafeRawPointer, handle: UInt32,
               text: PageOwnerText, cache: inout PageOwnerText.RecordTextCache) -> Bool {
        let c = text.context
        let o = c.owner
        if let nids {
            let flags = c.page.flags.unsigned(page)
            if flags == ~UInt64(0) { return false }
            guard nids.contains(text.pageFlags.node(of: flags)) else { return false }
        }
        if pids != nil || tgids != nil {
            let inPids = pids.map { set in o.pid.map { set.contains($0.signed(r)) } ?? false } ?? false
            let inTgids = tgids.map { set in o.tgid.map { set.contains($0.signed(r)) } ?? false } ?? false
            guard inPids || inTgids else { return false }
        }
        if let pfns, !pfns.contains(pfn) { return false }
        if let orders, !orders.contains(o.order.unsigned(r)) { return false }
        if let gfpMask, o.gfpMask.unsigned(r) & gfpMask != gfpMask { return false }
        if since != nil || until != nil {
            guard let ts = o.tsNsec?.unsigned(r) else { return false }
            if let since, ts < since { return false }
            if let until, ts > until { return false }
        }
        if let commGlob {
            guard let comm = o.comm else { return false }
            let name = OwnerRecord.comm(r + comm.offset, max: comm.size)
            guard Self.glob(commGlob, matches: Array(name)) else { return false }
        }
        if stackSymbol != nil || stackModule != nil {
            let lines = text.stackLines(handle, cache: &cache)
            if let stackSymbol, !Self.stack(lines, hasSymbol: stackSymbol) { return false }
            if let stackModule, !Self.stack(lines, hasModule: stackModule) { return false }
        }
        if let memcg {
            guard let lines = text.memcgLines(page: page, cache: &cache),
                  Self.memcgLines(lines, name: memcg) else { return false }
        }
        return true
    }

    /// fnmatch(3) without flags: `*`, `?`, `[...]`.
    static func glob(_ pattern: String, matches name: [UInt8]) -> Bool {
        var bytes = name
        bytes.append(0)
        return fnmatch(pattern, bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, 0) == 0
    }

    /// A frame line ` SYMBOL+0x…` (the function name exactly).
    static func stack(_ lines: [UInt8], hasSymbol symbol: String) -> Bool {
        let needle = Array((" " + symbol + "+").utf8)
        return lines.split(separator: 0x0a).contains { $0.starts(with: needle) }
    }

    /// A frame line ending ` [MODULE]`.
    static func stack(_ lines: [UInt8], hasModule module: String) -> Bool {
        let needle = Array((" [" + module + "]").utf8)
        return lines.split(separator: 0x0a).contains { $0.reversed().starts(with: needle.reversed()) }
    }

    /// A `Charged … memcg NAME` line naming this cgroup (the kernel prints the last part of
    /// the path, cgroup_name(); a path given is matched by its last part).
    static func memcgLines(_ lines: [UInt8], name: String) -> Bool {
        let last = name.split(separator: "/").last.map(String.init) ?? name
        let needle = Array(("memcg " + last).utf8)
        return lines.split(separator: 0x0a).contains { $0.starts(with: Array("Charged ".utf8)) && $0.reversed().starts(with: needle.reversed()) }
    }
}

extension PageFlagsFormat {
    /// page_to_nid: the node field of page->flags (0 when the kernel keeps no node there).
    func node(of flags: UInt64) -> UInt64 {
        guard let f = layout.first(where: { $0.name == "node" }) else { return 0 }
        return (flags >> f.shift) & ((UInt64(1) << f.width) - 1)
    }
}

extension PageOwnerContext {
    /// The nodes of `nodes` without memory (node_states[N_MEMORY], or else no zone with
    /// present pages): the kernel refuses a nid list naming one (EINVAL).
    public func nodesWithoutMemory(_ nodes: Set<UInt64>) -> [UInt64] {
        let states = NodeStates(dump: dump)
        let zones = try? NodeZones(dump: dump)
        return nodes.sorted().filter { node in
            guard node < 1 << 16 else { return true }
            if let has = states.has(node: Int(node)) { return !has }
            guard let zones else { return false }
            return !zones.nodes.contains { $0.id == Int(node) && $0.zones.contains(where: \.isPopulated) }
        }
    }
}
