import Testing
@testable import ELFCore

/// DebugTypes against a gcc-built fixture, at the DWARF versions kernels ship (2 covers the
/// old DW_AT_bit_offset / location-expression forms), checked against what gcc's own
/// offsetof/sizeof say about the same declarations.
@Suite struct DWARFTypesTests {
    static let versions = [2, 4, 5]

    private func open(_ version: Int) throws -> (VMLinux, DWARFFixture.Facts) {
        let build = try DWARFFixture.build(dwarf: version)
        return (try VMLinux(path: build.binary), try DWARFFixture.facts())
    }

    /// Every printed offset of `type` ("page.lru.prev" style keys) must match member(path).
    private func expectOffsets(of layout: TypeLayout, named type: String, _ facts: DWARFFixture.Facts) throws {
        let prefix = type + "."
        let paths = facts.offsets.keys.filter { $0.hasPrefix(prefix) }
        #expect(!paths.isEmpty)
        for key in paths {
            let path = String(key.dropFirst(prefix.count))
            #expect(try layout.member(path).offset == facts.offsets[key], "\(key)")
        }
        #expect(layout.size == facts.sizes[type], "sizeof \(type)")
    }

    @Test(arguments: versions) func structPageThroughAnonymousUnions(version: Int) throws {
        let (vmlinux, facts) = try open(version)
        let page = try vmlinux.types.structType("page")
        #expect(page.name == "page" && !page.isUnion)
        try expectOffsets(of: page, named: "page", facts)
        #expect(try page.member("memcg_data").byteSize == 8)
        #expect(try page.member("_mapcount").type == .base(name: "int", size: 4, signed: true))
        // The anonymous members are there as members without a name.
        #expect(page.members.map(\.name) == ["flags", "", "", "_refcount", "memcg_data"])
    }

    @Test(arguments: versions) func privateStructFoundThroughItsSymbol(version: Int) throws {
        let (vmlinux, facts) = try open(version)
        let owner = try vmlinux.types.structType("page_owner", near: "page_owner_ops")
        try expectOffsets(of: owner, named: "page_owner", facts)
        #expect(try owner.member("comm").type.resolved == .array(.base(name: "char", size: 1, signed: true), count: 16))
        // The same tag in the other compile unit has another layout: the hint decides.
        let viaFunction = try vmlinux.types.structType("page_owner", near: "other_function")
        #expect(viaFunction.size == 16 && viaFunction.members.map(\.name) == ["only_field", "other_layout"])
        let viaGlobalData = try vmlinux.types.structType("page_owner", near: "other_owner")
        #expect(viaGlobalData.size == 16)
        let viaStatic = try vmlinux.types.structType("page_owner", near: "stack_pools")
        #expect(viaStatic.size == facts.sizes["page_owner"])
    }

    @Test(arguments: versions) func flexibleArrayAndNestedPaths(version: Int) throws {
        let (vmlinux, facts) = try open(version)
        let record = try vmlinux.types.structType("stack_record", near: "stack_pools")
        try expectOffsets(of: record, named: "stack_record", facts)
        let entries = try record.member("entries")
        #expect(entries.type == .array(.base(name: "long unsigned int", size: 8, signed: false), count: nil))
        #expect(entries.byteSize == 0)
        #expect(try record.member("handle").type == .union(name: "handle_parts", size: 4))

        let memcg = try vmlinux.types.structType("mem_cgroup")
        try expectOffsets(of: memcg, named: "mem_cgroup", facts)
        let grid = try memcg.member("nr_pages").type
        #expect(grid == .array(.array(.base(name: "long unsigned int", size: 8, signed: false), count: 5), count: 3))
        #expect(grid.size == 120)
    }

    @Test(arguments: versions) func bitfieldsInAnonymousStructOfUnion(version: Int) throws {
        let (vmlinux, facts) = try open(version)
        let parts = try vmlinux.types.unionType("handle_parts")
        #expect(parts.isUnion && parts.size == facts.sizes["handle_parts"])
        for field in ["pool_index_plus_1", "offset", "extra"] {
            let member = try parts.member(field)
            let expected = try #require(facts.bits["handle_parts.\(field)"])
            #expect(member.offset == 0, "\(field)")
            #expect(member.bitOffset == expected.first && member.bitSize == expected.width, "\(field)")
        }
        #expect(try parts.member("offset").bitOffset == 17 && parts.member("offset").bitSize == 10)
        #expect(try parts.member("handle").bitOffset == nil)
        #expect(throws: InputError.self) { try vmlinux.types.structType("handle_parts") }
    }

    @Test(arguments: versions) func packedBitfields(version: Int) throws {
        let (vmlinux, facts) = try open(version)
        let packed = try vmlinux.types.structType("packed_bits")
        #expect(packed.size == facts.sizes["packed_bits"])
        for field in ["wide", "narrow", "big"] {
            let member = try packed.member(field)
            let expected = try #require(facts.bits["packed_bits.\(field)"])
            #expect(member.offset * 8 + (member.bitOffset ?? -1000) == expected.first, "\(field)")
            #expect(member.bitSize == expected.width, "\(field)")
        }
    }

    @Test(arguments: versions) func enumerators(version: Int) throws {
        let (vmlinux, facts) = try open(version)
        #expect(facts.enums.count == 9)
        for (name, value) in facts.enums {
            #expect(vmlinux.types.enumerator(name) == value, "\(name)")
        }
        #expect(vmlinux.types.enumerator("PGTY_buddy", near: "page_owner_ops") == 0xf0)
        #expect(vmlinux.types.enumerator("NO_SUCH_ENUMERATOR") == nil)
    }

    @Test(arguments: versions) func typedefsAndVariables(version: Int) throws {
        let (vmlinux, facts) = try open(version)
        let types = vmlinux.types
        let unsignedInt = TypeRef.base(name: "unsigned int", size: 4, signed: false)
        #expect(try types.typedefTarget("depot_stack_handle_t") == .typedef(name: "u32", unsignedInt))
        #expect(try types.typedefTarget("depot_stack_handle_t").resolved == unsignedInt)

        #expect(try types.variableType("stack_pools") == .array(.pointer(.void), count: facts.constants["DEPOT_POOLS_CAP"]))
        let section = TypeRef.structure(name: "mem_section", size: facts.sizes["mem_section"] ?? -1)
        #expect(try types.variableType("mem_section") == .pointer(.pointer(section)))
        let roots = try #require(facts.constants["SECTION_ROOTS"]), perRoot = try #require(facts.constants["SECTIONS_PER_ROOT"])
        #expect(try types.variableType("mem_section_2d") == .array(.array(section, count: perRoot), count: roots))
        // Declared `extern int late_array[];` in the first unit, defined with 7 in the second.
        #expect(try types.variableType("late_array") == .array(.base(name: "int", size: 4, signed: true), count: 7))
        #expect(try types.variableType("page_owner_ops") == .structure(name: "page_ext_operations", size: 32))
        #expect(try types.variableType("last_record") == .pointer(.structure(name: "stack_record", size: 32)))
        #expect(try types.variableType("last_zone") == .enumeration(name: "zone_type", size: 4))

        #expect(types.hasVariable("stack_pools"))
        #expect(types.hasVariable("other_static_counter"))
        #expect(!types.hasVariable("stack_slabs"))
        let error = try #require(throws: InputError.self) { try types.variableType("stack_slabs") }
        #expect(error.reason.contains("stack_slabs") && error.file.hasSuffix("fixture-dwarf\(version)"))
    }

    /// A layout outlives the VMLinux it came from (dotted paths still resolve), and once the
    /// last layout goes, everything is released: no reference cycle keeps the file mapped.
    @Test func layoutsOutliveTheirVMLinuxWithoutLeaking() throws {
        let (path, facts) = (try DWARFFixture.build(dwarf: 5).binary, try DWARFFixture.facts())
        weak var released: AnyObject?
        var layout: TypeLayout?
        do {
            let vmlinux = try VMLinux(path: path)
            released = vmlinux.types
            layout = try vmlinux.types.structType("mem_cgroup")
            _ = try vmlinux.types.structType("mem_cgroup").member("css.flags")
        }
        #expect(released != nil)
        #expect(try layout?.member("css.serial_nr").offset == facts.offsets["mem_cgroup.css.serial_nr"])
        layout = nil
        #expect(released == nil)
    }

    @Test func missingNamesThrowInputErrorsNamingThem() throws {
        let (vmlinux, _) = try open(5)
        let noType = try #require(throws: InputError.self) { try vmlinux.types.structType("no_such_struct") }
        #expect(noType.reason.contains("struct no_such_struct"))
        let page = try vmlinux.types.structType("page")
        let noMember = try #require(throws: InputError.self) { try page.member("lru.nonsense") }
        #expect(noMember.reason.contains("struct page") && noMember.reason.contains("lru.nonsense"))
        #expect(try page.memberIfPresent("") == nil && page.memberIfPresent("flags.") == nil)
        #expect(try page.memberIfPresent("flags.x") == nil)
        #expect(throws: InputError.self) { try vmlinux.types.typedefTarget("no_such_t") }
    }
}
