import Foundation

/// What the live kernel would have printed, from the simulator's own model: page_owner (the
/// profile's formats), show_stacks (6.9+ kernels, from stack_list and refcounts), show_handles
/// and show_stacks_handles (6.19 formats on every profile; counted from the pages before 6.9,
/// as the reader must), the swap files of 6.19-swap, /proc/pagetypeinfo's pageblock tables,
/// /proc/allocinfo (6.10+) and truth.json.
struct ExpectedOutput {
    let sim: Simulator

    /// Buffered file output (the 64 GiB page_owner text is about a gigabyte).
    final class TextFile {
        private let handle: FileHandle
        private var buf: [UInt8] = []
        init(_ url: URL) throws {
            FileManager.default.createFile(atPath: url.path, contents: nil)
            handle = try FileHandle(forWritingTo: url)
            buf.reserveCapacity(1 << 23)
        }
        func add(_ s: String) {
            buf.append(contentsOf: s.utf8)
            if buf.count >= 1 << 23 { flush() }
        }
        func flush() {
            handle.write(Data(buf))
            buf.removeAll(keepingCapacity: true)
        }
        func close() {
            flush()
            try? handle.close()
        }
    }

    /// %pS of a stack entry.
    func symbolize(_ a: UInt64) -> String {
        if let m = sim.module.symbolize(a) { return m }
        if let k = sim.kallsyms.symbolize(linkAddress: a &- sim.layout.kernelOffset) { return k }
        return "0x" + String(a, radix: 16)
    }

    func write(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let w = sim.workload!
        let depot = w.depot
        var stackText: [UInt32: String] = [:]
        var frames: [UInt32: [String]] = [:]
        for r in depot.records {
            let f = r.entries.map(symbolize)
            frames[r.handle] = f
            stackText[r.handle] = f.map { " " + $0 + "\n" }.joined()
        }
        if sim.pageOwner {
            try writePageOwner(dir.appendingPathComponent("page_owner.txt"), stackText: stackText)
            try writeStacks(dir, stackText: stackText)
            if sim.profile.swapPageOwner { try SwapPageOwnerWriter(sim: sim).writeExpected(dir, stackText: stackText) }
        }
        try ExpectedPageblocks(sim: sim).text()
            .write(to: dir.appendingPathComponent("pagetypeinfo_pageblocks.txt"), atomically: true, encoding: .utf8)
        if let tags = sim.allocTags {
            try tags.allocinfoText(version: sim.profile.allocInfoVersion, printsInaccurate: sim.profile.printsInaccurateTags)
                .write(to: dir.appendingPathComponent("allocinfo.txt"), atomically: true, encoding: .utf8)
        }
        try writeTruth(dir.appendingPathComponent("truth.json"), frames: frames)
    }

    /// read_page_owner's walk over pfns, with the model standing in for memory.
    private func writePageOwner(_ url: URL, stackText: [UInt32: String]) throws {
        let out = try TextFile(url)
        let map = sim.pfnMap!, blocks = sim.workload.blocks, tasks = sim.workload.tasks
        let p = sim.profile, flagLayout = PageFlagLayout.current
        let maxPfn = sim.layout.maxPfn
        var pfn: UInt64 = 0
        while pfn < maxPfn {
            if pfn & 1023 == 0 && !sim.isValidPfn(pfn) { pfn += 1024; continue }   // sections are ≥ 1024 pages
            let k = map.kind[Int(pfn)]
            if k & 0x80 != 0 { pfn += UInt64(1) << UInt64(k & 0x7f); continue }
            let idx = map.owner[Int(pfn)]
            guard idx >= 0 else { pfn += 1; continue }
            let b = blocks[Int(idx)]
            guard b.allocated, pfn & ((1 << UInt64(b.order)) - 1) == 0, b.handle != 0 else { pfn += 1; continue }
            var s = firstLine(b, tasks[Int(b.task)])
            let pageFlags = pfn == b.pfn ? flagLayout.translate(b.pageFlags, slab: b.isSlab) : 0
            let flags = PageFlag.fields(ofPfn: pfn) | pageFlags
            let pbType = sim.pageblockType(pfn >> MachineLayout.pageblockOrder)
            s += "PFN \(p.hexPfn ? "0x" + String(pfn, radix: 16) : String(pfn)) type \(KernelFormat.migratetypeNames[GFP.migratetype(b.gfp)]) Block \(pfn >> MachineLayout.pageblockOrder) type \(KernelFormat.migratetypeNames[pbType]) Flags \(KernelFormat.pageFlags(flags))\n"
            s += stackText[b.handle] ?? ""
            if b.migrateReason >= 0 { s += "Page has been migrated, last migrate reason: \(KernelFormat.migrateReasonNames[Int(b.migrateReason)])\n" }
            switch p.printsMemcg ? b.memcg : .none {
            case .none: break
            case .slabObjExts: s += "Slab cache page\n"
            case .memcg(let i), .objcg(let i):
                let cg = sim.workload.cgroups[i]
                let via = { if case .objcg = b.memcg { return "(via objcg) " } else { return "" } }()
                let name = cg.parent == nil ? "/" : String(cg.name.prefix(79))
                s += "Charged \(via)to \(cg.online ? "" : "offline ")memcg \(name)\n"
            }
            s += "\n"
            out.add(s)
            pfn += 1
        }
        out.close()
    }

    /// Line 1 of a record by generation (kernel-facts §1.6), with the swap model's suffix.
    func firstLine(_ b: OwnerBlock, _ t: SimTask) -> String {
        let p = sim.profile
        var s = "Page allocated via order \(b.order), mask \(KernelFormat.hexSpecial(UInt64(b.gfp)))(\(KernelFormat.gfp(b.gfp)))"
        if p.hasCommTgid {
            s += ", pid \(t.pid), tgid \(t.tgid) (\(t.comm.prefix(15))), ts \(b.ts) ns"
        } else if p.hasTimestamps {
            s += ", pid \(t.pid), ts \(b.ts) ns"
        }
        if p.hasFreeTs && !p.hasFreePid { s += ", free_ts \(b.freeTs) ns" }
        if b.swappedIn { s += " (swapped)" }
        return s + "\n"
    }

    /// The stacks with their page counts: the kernel's stack_list (6.9+), newest first, then
    /// dummy and failure; before 6.9 counted from the pages as the reader's StackCounts.fromPages
    /// does (every allocated base page adds one to its handle, early_handle and handle 0
    /// excluded; most pages first, ties by handle ascending).
    func stackCounts() -> [(handle: UInt32, pages: Int32, listed: Bool)] {
        let w = sim.workload!
        let depot = w.depot
        if sim.profile.hasStackList {
            var list: [(UInt32, Int32, Bool)] = depot.stackList.map {
                (depot.records[$0].handle, Int32(bitPattern: depot.records[$0].count &- 1), true)
            }
            for h in [w.dummyHandle, w.failureHandle] {
                if let r = depot.record(h) { list.append((h, Int32(bitPattern: r.count &- 1), true)) }
            }
            return list
        }
        var pages: [UInt32: Int] = [:]
        for b in w.blocks where b.allocated && b.handle != w.earlyHandle && b.handle != 0 {
            pages[b.handle, default: 0] += 1 << Int(b.order)
        }
        return pages.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, Int32($0.value), true) }
    }

    private func writeStacks(_ dir: URL, stackText: [UInt32: String]) throws {
        var stacks = "", handles = "", both = ""
        for (h, pages, _) in stackCounts() {
            if pages >= 1 {
                stacks += (stackText[h] ?? "") + "nr_base_pages: \(pages)\n\n"
                handles += "handle: \(Int32(bitPattern: h))\nnr_base_pages: \(pages)\n\n"
            }
            both += (stackText[h] ?? "") + "handle: \(Int32(bitPattern: h))\n\n"
        }
        if sim.profile.hasStackList {
            try stacks.write(to: dir.appendingPathComponent("show_stacks.txt"), atomically: true, encoding: .utf8)
        }
        try handles.write(to: dir.appendingPathComponent("show_handles.txt"), atomically: true, encoding: .utf8)
        try both.write(to: dir.appendingPathComponent("show_stacks_handles.txt"), atomically: true, encoding: .utf8)
    }

    private func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// truth.json: every block with owner information (allocated or freed) in pfn order, and
    /// every depot stack with its frames and the base pages currently allocated with it.
    private func writeTruth(_ url: URL, frames: [UInt32: [String]]) throws {
        let out = try TextFile(url)
        let w = sim.workload!
        var pages: [UInt32: Int] = [:]
        out.add("{\"blocks\": [")
        if sim.pageOwner {
            var first = true
            for b in w.blocks.sorted(by: { $0.pfn < $1.pfn }) {
                let t = w.tasks[Int(b.task)]
                if b.allocated { pages[b.handle, default: 0] += 1 << Int(b.order) }
                out.add((first ? "\n" : ",\n") + "{\"pfn\": \(b.pfn), \"order\": \(b.order), \"gfp\": \(b.gfp), \"pid\": \(t.pid), \"tgid\": \(t.tgid), \"comm\": \(jsonString(t.comm)), \"ts\": \(b.ts), \"free_ts\": \(b.freeTs), \"handle\": \(b.handle), \"allocated\": \(b.allocated)}")
                first = false
            }
        }
        out.add("\n], \"stacks\": {")
        if sim.pageOwner {
            var first = true
            for r in w.depot.records.sorted(by: { $0.handle < $1.handle }) {
                let f = (frames[r.handle] ?? []).map(jsonString).joined(separator: ", ")
                out.add((first ? "\n" : ",\n") + "\"\(r.handle)\": {\"frames\": [\(f)], \"pages\": \(pages[r.handle] ?? 0)}")
                first = false
            }
        }
        out.add("\n}}\n")
        out.close()
    }
}
