import ELFCore

/// The code-tagging structures /proc/allocinfo walks, as this kernel lays them out
/// (include/linux/codetag.h, include/linux/alloc_tag.h, and lib/codetag.c's private ones).
struct AllocTagLayout {
    // struct codetag_type (private to lib/codetag.c)
    let modIDR: Int
    let tagSizeField: Field
    // struct idr
    let idrHead: Int
    let idrBase: Field
    // struct codetag_module (private to lib/codetag.c)
    let rangeStart: Int
    let rangeStop: Int
    // struct alloc_tag and its struct codetag
    let tagSize: Int
    let flags: Field
    let lineno: Field
    let modname: Int
    let function: Int
    let filename: Int
    let counters: Int
    // struct alloc_tag_counters
    let counterBytes: Int
    let counterCalls: Int

    init(types: any KernelTypes, vmlinuxPath: String) throws {
        // codetag_types is a static of lib/codetag.c: its unit holds the private types.
        let cttype = try types.structType("codetag_type", near: "codetag_types")
        modIDR = try cttype.member("mod_idr").offset
        tagSizeField = try cttype.field("desc.tag_size")
        let idr = try types.structType("idr")
        idrHead = try idr.member("idr_rt.xa_head").offset
        idrBase = try idr.field("idr_base")
        let cmod = try types.structType("codetag_module", near: "codetag_types")
        rangeStart = try cmod.member("range.start").offset
        rangeStop = try cmod.member("range.stop").offset

        let tag = try types.structType("alloc_tag")
        tagSize = tag.size
        let ct = try tag.member("ct").offset
        let codetag = try types.structType("codetag")
        func shifted(_ name: String) throws -> Field {
            try Field(try codetag.member(name), of: codetag, at: ct, in: tag.size)
        }
        flags = try shifted("flags")
        lineno = try shifted("lineno")
        modname = ct + (try codetag.member("modname").offset)
        function = ct + (try codetag.member("function").offset)
        filename = ct + (try codetag.member("filename").offset)
        counters = try tag.member("counters").offset
        let counter = try types.structType("alloc_tag_counters")
        counterBytes = try counter.member("bytes").offset
        counterCalls = try counter.member("calls").offset
        let ends = [flags.offset + flags.size, lineno.offset + lineno.size, modname + 8, function + 8, filename + 8, counters + 8]
        guard tagSize >= 32, tagSize <= 4096, ends.allSatisfy({ $0 <= tagSize }) else {
            throw InputError(file: vmlinuxPath, reason: "struct alloc_tag of \(tagSize) bytes does not hold its members")
        }
    }
}
