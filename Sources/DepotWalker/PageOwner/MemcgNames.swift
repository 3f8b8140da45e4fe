import ELFCore

/// The memcg lines of a page_owner record: `page->memcg_data` → mem_cgroup (through the
/// obj_cgroup for kernel memory) → css.cgroup → kernfs node name.
final class MemcgNames: @unchecked Sendable {
    let memory: KernelMemory
    let objextsBit: UInt64
    let kmemBit: UInt64
    let flagMask: UInt64
    let objcgMemcg: UInt64
    let cssFlags: Field
    let cssCgroup: UInt64
    let cgroupKn: UInt64
    let knName: UInt64
    let knParent: UInt64
    let cssOnline: UInt64

    init(dump: KernelDump) throws {
        let t = dump.types
        memory = dump.memory
        // These enumerators are masks (1UL << n), not bit numbers: any value of a 64-bit word
        // but zero.
        let mask = UInt64(1)...(UInt64(1) << 63)
        // page_owner.c tests memcg_data against them: its unit has the enum (renamed at 6.10).
        objextsBit = try t.enumerator(anyOf: ["MEMCG_DATA_OBJEXTS", "MEMCG_DATA_OBJCGS"], in: mask, near: "page_owner_ops") ?? 1
        kmemBit = try t.enumerator(anyOf: ["MEMCG_DATA_KMEM"], in: mask, near: "page_owner_ops") ?? 2
        // page_memcg's MEMCG_DATA_FLAGS_MASK (memcg pointers are aligned beyond it).
        let flagsEnd = try t.enumerator(anyOf: ["__NR_MEMCG_DATA_FLAGS", "__NR_OBJEXTS_FLAGS"], in: mask, near: "page_owner_ops") ?? 4
        flagMask = flagsEnd &- 1
        let memcg = try t.structType("mem_cgroup")
        let css = try memcg.member("css")
        objcgMemcg = UInt64(try t.structType("obj_cgroup").member("memcg").offset)
        let cssType = try t.structType("cgroup_subsys_state")
        cssFlags = try Field(try cssType.member("flags"), of: cssType, at: css.offset, in: memcg.size)
        cssCgroup = UInt64(css.offset + (try cssType.member("cgroup").offset))
        cgroupKn = UInt64(try t.structType("cgroup").member("kn").offset)
        let kn = try t.structType("kernfs_node")
        knName = UInt64(try kn.member("name").offset)
        knParent = UInt64((try kn.memberIfPresent("parent") ?? kn.memberIfPresent("__parent"))?.offset ?? 0)
        cssOnline = try t.enumerator(anyOf: ["CSS_ONLINE"], in: mask, near: "page_owner_ops") ?? 2
    }

    /// The lines page_owner prints for this memcg_data, each ending in a newline.
    func lines(memcgData: UInt64) throws -> [UInt8] {
        var out: [UInt8] = []
        guard memcgData != 0 else { return out }
        if memcgData & objextsBit != 0 {
            out.append("Slab cache page\n")
            return out                 // page_memcg_check returns no memcg for slab pages
        }
        let kmem = memcgData & kmemBit != 0
        var memcg = memcgData & ~flagMask
        if kmem { memcg = try memory.u64(memcg &+ objcgMemcg) }
        guard memcg != 0 else { return out }
        let online = try cssFlags.read(memory, at: memcg) & cssOnline != 0
        let name = try cgroupName(try memory.u64(memcg &+ cssCgroup))
        out.append("Charged ")
        if kmem { out.append("(via objcg) ") }
        out.append("to ")
        if !online { out.append("offline ") }
        out.append("memcg ")
        out.append(contentsOf: name)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// `cgroup_name`: the kernfs node's name, "/" for the root, cut to 79 bytes.
    func cgroupName(_ cgroup: UInt64) throws -> [UInt8] {
        let kn = try memory.u64(cgroup &+ cgroupKn)
        if kn == 0 { return Array("(null)".utf8) }
        if try memory.u64(kn &+ knParent) == 0 { return [UInt8(ascii: "/")] }
        let name = try memory.cString(try memory.u64(kn &+ knName), max: 79)
        return Array(name.utf8.prefix(79))
    }
}
