import ELFCore
import Foundation
import Testing

/// Kernel pointers of the dump's memory bent into holes, onto themselves and into cycles:
/// stack_list, mem_section roots and sections, page_ext, the module list, the code-tag module
/// idr and the swap_page_owner xarray, the memcg → cgroup → kernfs chain, the depot's pools.
@Suite struct PointerMatrixTests {
    /// Where a pointer lives and what "itself" and a cycle mean for it.
    struct Target {
        /// Virtual address of the pointer.
        let field: UInt64
        /// The object holding it: pointing there makes the object its own successor.
        let container: UInt64
        /// Extra pointer writes that close a cycle of two, when the structure has a next one.
        let cycle: [(UInt64, UInt64)]
        let commands: [[String]]
    }

    static let targets = ["stack_list.next", "mem_section.root", "mem_section.page_ext", "mem_section.section_mem_map",
                          "modules.next", "alloc_tag mod_idr.xa_head", "swap_page_owner_xa.xa_head", "page.memcg_data",
                          "mem_cgroup.css.cgroup", "cgroup.kn", "kernfs_node.name", "kernfs_node.parent", "stack_pools[0]"]
    static let variants = ["hole", "itself", "cycle", "unmapped vmalloc", "non-canonical", "top of memory", "unaligned"]

    struct Case: CustomTestStringConvertible, Sendable {
        let target: String
        let variant: String
        var testDescription: String { "\(target) → \(variant)" }
    }

    /// Single objects: nothing to close a cycle with.
    static let noCycle: Set = ["mem_section.root", "page.memcg_data", "mem_cgroup.css.cgroup", "cgroup.kn", "kernfs_node.name"]

    static let cases = targets.flatMap { t in
        variants.filter { $0 != "cycle" || !noCycle.contains(t) }.map { Case(target: t, variant: $0) }
    }

    static func dumpDir(_ target: String) throws -> URL {
        try SimulatedDumps.dump(seed: 1, memory: "64M", target.hasPrefix("swap") ? ["--kernel", "6.19-swap"] : [])
    }

    @Test(arguments: cases)
    func bentPointer(_ c: Case) throws {
        let dir = try Self.dumpDir(c.target)
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore"))
        let target = try Self.locate(c.target, in: dump)
        let pageOffsetBase = try dump.memory.u64(try dump.requireAddress(of: "page_offset_base"))
        var writes: [(UInt64, UInt64)]
        switch c.variant {
        case "hole": writes = [(target.field, pageOffsetBase &+ (60 << 30))]
        case "itself": writes = [(target.field, target.container)]
        case "cycle":
            try #require(!target.cycle.isEmpty, "\(c.target) has no second element to close a cycle with")
            writes = target.cycle
        case "unmapped vmalloc": writes = [(target.field, 0xffff_c900_dead_0000)]
        case "non-canonical": writes = [(target.field, 0x8000_0000_0000_0000)]
        case "top of memory": writes = [(target.field, 0xffff_ffff_ffff_fff8)]
        default: writes = [(target.field, (try dump.memory.u64(target.field)) | 1)]
        }
        let patches = try writes.map { (Int(try BadInputTests.fileOffset(dump, virtual: $0.0)), HostileFiles.le($0.1, 8)) }
        let path = try HostileFiles.image(dir.file("vmcore")).variant("vmcore", patches: patches)
        HostileCase(label: "pointer \(c.target) → \(c.variant)", vmlinux: dir.file("vmlinux"), vmcore: path,
                    commands: target.commands, crafted: [path]).expectContract()
    }

    static func locate(_ name: String, in dump: KernelDump) throws -> Target {
        let types = dump.types
        let memory = dump.memory
        func offset(_ type: String, _ member: String) throws -> UInt64 { UInt64(try types.structType(type).member(member).offset) }
        let roots = try #require(dump.info.symbol("mem_section"))
        let section0 = try memory.u64(roots)
        switch name {
        case "stack_list.next":
            let first = try memory.u64(try dump.requireAddress(of: "stack_list"))
            let next = UInt64(try types.structType("stack", near: "stack_list").member("next").offset)
            let second = try memory.u64(first &+ next)
            return Target(field: first &+ next, container: first, cycle: [(second &+ next, first)], commands: [["stacks"]])
        case "mem_section.root":
            return Target(field: roots, container: roots, cycle: [], commands: [["page-owner"], ["fragmentation"], ["pfn", "0x1000"], ["info"]])
        case "mem_section.page_ext", "mem_section.section_mem_map":
            let member = String(name.split(separator: ".")[1])
            let at = section0 &+ UInt64(try types.structType("mem_section", near: "mem_section").member(member).offset)
            let size = UInt64(try types.structType("mem_section", near: "mem_section").size)
            let cycle = [(at, section0 &+ size), (at &+ size, section0)]
            return Target(field: at, container: section0, cycle: cycle,
                          commands: [["page-owner"], ["stacks", "--from-pages"], ["fragmentation"], ["pfn", "0x1000"]])
        case "modules.next":
            let head = try dump.requireAddress(of: "modules")
            let first = try memory.u64(head)
            return Target(field: first, container: first, cycle: [(first, head), (head, first), (head &+ 8, first)],
                          commands: [["stacks"], ["allocinfo"]])
        case "alloc_tag mod_idr.xa_head", "swap_page_owner_xa.xa_head":
            let at: UInt64
            if name.hasPrefix("swap") {
                at = try dump.requireAddress(of: "swap_page_owner_xa") &+ (try offset("xarray", "xa_head"))
            } else {
                let cttype = try memory.u64(try dump.requireAddress(of: "alloc_tag_cttype"))
                at = cttype &+ (try offset("codetag_type", "mod_idr")) &+ (try offset("idr", "idr_rt.xa_head"))
            }
            let head = try memory.u64(at)
            // An internal entry (low bits 10) names an xa_node: its first slot back to the head.
            let cycle = head & 3 == 2 ? [(head & ~3 &+ (try offset("xa_node", "slots")), head)] : [(at, at | 2)]
            return Target(field: at, container: at | 2, cycle: cycle, commands: name.hasPrefix("swap") ? [["swap"]] : [["allocinfo"]])
        case "page.memcg_data", "mem_cgroup.css.cgroup", "cgroup.kn", "kernfs_node.name", "kernfs_node.parent":
            let (page, pfn, memcg) = try chargedPage(dump)
            let commands = [["page-owner"], ["pfn", "0x" + String(pfn, radix: 16)]]
            let cgroup = try memory.u64(memcg &+ (try offset("mem_cgroup", "css")) &+ (try offset("cgroup_subsys_state", "cgroup")))
            let kn = try memory.u64(cgroup &+ (try offset("cgroup", "kn")))
            let knType = try types.structType("kernfs_node")
            let parent = UInt64((try knType.memberIfPresent("parent") ?? knType.memberIfPresent("__parent"))?.offset ?? 0)
            switch name {
            case "page.memcg_data":
                let at = page &+ (try offset("page", "memcg_data"))
                return Target(field: at, container: page, cycle: [], commands: commands)
            case "mem_cgroup.css.cgroup":
                let at = memcg &+ (try offset("mem_cgroup", "css")) &+ (try offset("cgroup_subsys_state", "cgroup"))
                return Target(field: at, container: memcg, cycle: [], commands: commands)
            case "cgroup.kn":
                return Target(field: cgroup &+ (try offset("cgroup", "kn")), container: cgroup, cycle: [], commands: commands)
            case "kernfs_node.name":
                return Target(field: kn &+ (try offset("kernfs_node", "name")), container: kn, cycle: [], commands: commands)
            default:
                let up = try memory.u64(kn &+ parent)
                return Target(field: kn &+ parent, container: kn, cycle: up == 0 ? [] : [(up &+ parent, kn)], commands: commands)
            }
        default:   // stack_pools[0]
            let pools = try dump.requireAddress(of: "stack_pools")
            return Target(field: pools, container: pools, cycle: [(pools, pools &+ 8), (pools &+ 8, pools)], commands: [["stacks"], ["page-owner"]])
        }
    }

    /// A page charged to a memcg that is not the root: its struct page, pfn and mem_cgroup.
    static func chargedPage(_ dump: KernelDump) throws -> (UInt64, UInt64, UInt64) {
        let types = dump.types
        let vmemmap = try #require(dump.info.symbol("vmemmap"))
        let size = UInt64(try types.structType("page").size)
        let memcgData = UInt64(try types.structType("page").member("memcg_data").offset)
        let parent = try types.structType("kernfs_node").memberIfPresent("parent")?.offset ?? 0
        for pfn in UInt64(0x1000)..<UInt64(16384) {
            guard let data = try? dump.memory.u64(vmemmap &+ pfn &* size &+ memcgData), data != 0, data & 3 == 0 else { continue }
            let memcg = data & ~7
            guard let cgroup = try? dump.memory.u64(memcg &+ UInt64(try types.structType("mem_cgroup").member("css").offset)
                                                    &+ UInt64(try types.structType("cgroup_subsys_state").member("cgroup").offset)),
                  let kn = try? dump.memory.u64(cgroup &+ UInt64(try types.structType("cgroup").member("kn").offset)),
                  let up = try? dump.memory.u64(kn &+ UInt64(parent)), up != 0 else { continue }
            return (vmemmap &+ pfn &* size, pfn, memcg)
        }
        throw NoChargedPage()
    }

    struct NoChargedPage: Error {}
}
