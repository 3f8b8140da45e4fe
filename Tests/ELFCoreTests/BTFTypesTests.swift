import Foundation
import Testing
@testable import ELFCore

/// BTFTypes against the same gcc-built fixture as DWARFTypesTests, its BTF encoded by pahole
/// from the DWARF as a kernel build does: every layout, bitfield, enumerator and typedef must be
/// what the compiler says and what the DWARF says. And no BTF, however broken, may crash it.
@Suite struct BTFTypesTests {
    private func open() throws -> (types: any KernelTypes, dwarf: any KernelTypes, facts: DWARFFixture.Facts) {
        let btf = try DWARFFixture.buildBTF()
        let stripped = try VMLinux(path: btf.stripped)
        return (stripped.types, try VMLinux(path: DWARFFixture.build(dwarf: 5).binary).types, try DWARFFixture.facts())
    }

    @Test func strippedVMLinuxAnswersFromItsBTF() throws {
        let (types, dwarf, _) = try open()
        #expect(types is BTFTypes && types.origin == "BTF" && dwarf.origin == "DWARF")
        let raw = try BTFTypes(path: DWARFFixture.buildBTF().raw)
        #expect(raw.typeCount == (types as? BTFTypes)?.typeCount && raw.typeCount > 20)
    }

    /// pahole (1.24) writes `T x[3][5]` as one array of 15: compare arrays as their element
    /// and total count.
    private func flattened(_ type: TypeRef) -> TypeRef {
        guard case .array(let element, let count) = type else { return type }
        guard case .array(let inner, let innerCount) = flattened(element) else { return type }
        return .array(inner, count: count.flatMap { c in innerCount.map { c * $0 } })
    }

    /// Every struct and union the compiler printed a size for, member by member, nested
    /// anonymous members included, equals the DWARF's layout (page_owner has two definitions in
    /// two files: BTF cannot tell them apart, DWARF can, so it is left to its own test).
    @Test func everyLayoutEqualsTheDWARFs() throws {
        let (types, dwarf, facts) = try open()
        func flatten(_ layout: TypeLayout, _ base: Int = 0) -> [String] {
            layout.members.flatMap { m -> [String] in
                let line = "\(m.name) @\(base + m.offset) bits \(m.bitOffset.map(String.init) ?? "-")/\(m.bitSize.map(String.init) ?? "-") \(flattened(m.type))"
                return [line] + (m.nestedLayout.map { flatten($0, base + m.offset) } ?? [])
            }
        }
        var compared = 0
        for name in facts.sizes.keys.sorted() where name != "page_owner" {
            let union = name == "handle_parts"
            guard let fromDWARF = try? dwarf.aggregateType(name, union: union, near: nil) else { continue }
            let fromBTF = try types.aggregateType(name, union: union, near: nil)
            #expect(fromBTF.size == facts.sizes[name] && fromBTF.isUnion == union, "\(name)")
            #expect(flatten(fromBTF) == flatten(fromDWARF), "\(name)")
            compared += 1
        }
        #expect(compared >= 6)
        // Dotted paths go through named struct members.
        let memcg = try types.structType("mem_cgroup")
        #expect(try memcg.member("css.serial_nr").offset == facts.offsets["mem_cgroup.css.serial_nr"])
        #expect(try memcg.member("nr_pages").type == .array(.base(name: "long unsigned int", size: 8, signed: false), count: 15))
        let entries = try types.structType("stack_record").member("entries")
        #expect(entries.type == .array(.base(name: "long unsigned int", size: 8, signed: false), count: nil) && entries.byteSize == 0)
    }

    @Test func bitfieldsAsTheCompilerPlacesThem() throws {
        let (types, _, facts) = try open()
        let parts = try types.unionType("handle_parts")
        for field in ["pool_index_plus_1", "offset", "extra"] {
            let member = try parts.member(field)
            let expected = try #require(facts.bits["handle_parts.\(field)"])
            #expect(member.offset == 0 && member.bitOffset == expected.first && member.bitSize == expected.width, "\(field)")
        }
        let packed = try types.structType("packed_bits")
        for field in ["wide", "narrow", "big"] {
            let member = try packed.member(field)
            let expected = try #require(facts.bits["packed_bits.\(field)"])
            #expect(member.offset * 8 + (member.bitOffset ?? -1000) == expected.first && member.bitSize == expected.width, "\(field)")
        }
        #expect(throws: InputError.self) { try types.structType("handle_parts") }
    }

    @Test func enumeratorsAndTypedefs() throws {
        let (types, _, facts) = try open()
        #expect(facts.enums.count == 9)
        for (name, value) in facts.enums {
            #expect(types.enumerator(name) == value, "\(name)")
        }
        #expect(types.enumerator("NO_SUCH_ENUMERATOR") == nil)
        #expect(throws: InputError.self) { try types.enumerator("PGTY_buddy", in: UInt8(0)...0x10) }
        let unsignedInt = TypeRef.base(name: "unsigned int", size: 4, signed: false)
        #expect(try types.typedefTarget("depot_stack_handle_t") == .typedef(name: "u32", unsignedInt))
        let missing = try #require(throws: InputError.self) { try types.typedefTarget("no_such_t") }
        #expect(missing.reason.contains("no_such_t") && missing.reason.contains("BTF"))
        // Without the kernel's symbols BTF knows no global's type.
        #expect(throws: InputError.self) { try types.variableType("stack_pools") }
        #expect(!types.hasVariable("stack_pools"))
    }

    // MARK: Broken BTF

    private func blob() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: DWARFFixture.buildBTF().raw)))
    }

    /// Asks everything the walkers ask, of every type: nothing may trap or loop.
    private func exercise(_ bytes: [UInt8]) {
        guard let data = try? BTFData(bytes: bytes, source: "crafted") else { return }
        let types = BTFTypes(data: data)
        for name in ["page", "stack_record", "mem_cgroup", "packed_bits", "page_owner", "mem_section"] {
            if let layout = try? types.structType(name) {
                for member in layout.members { _ = try? layout.member(member.name.isEmpty ? "x" : member.name + ".flags") }
            }
        }
        _ = try? types.unionType("handle_parts").member("offset")
        _ = try? types.typedefTarget("depot_stack_handle_t")
        _ = types.enumerator("PGTY_buddy")
        for id in 0...UInt32(data.typeCount + 2) { _ = types.typeRef(id).size }
    }

    @Test func malformedHeadersAreRefusedByName() throws {
        let good = try blob()
        func refusal(_ change: (inout [UInt8]) -> Void) -> String? {
            var bytes = good
            change(&bytes)
            do { _ = try BTFData(bytes: bytes, source: "crafted.btf"); return nil } catch let error as InputError {
                return error.file == "crafted.btf" ? error.reason : "wrong file \(error.file)"
            } catch { return "\(error)" }
        }
        func put(_ bytes: inout [UInt8], _ at: Int, _ value: UInt32) {
            for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        }
        #expect(refusal { $0 = Array($0.prefix(10)) }?.contains("too short") == true)
        #expect(refusal { $0[0] = 0 }?.contains("magic") == true)
        #expect(refusal { $0.swapAt(0, 1) }?.contains("big-endian") == true)
        #expect(refusal { $0[2] = 2 }?.contains("version") == true)
        #expect(refusal { put(&$0, 12, 0xffff_fff0) }?.contains("runs past") == true)     // type_len
        #expect(refusal { put(&$0, 20, 0xffff_fff0) }?.contains("runs past") == true)     // str_len
        #expect(refusal { put(&$0, 4, 0xffff_ffff) }?.contains("runs past") == true)      // hdr_len
        // The first type's vlen made huge: its members run past the type section.
        #expect(refusal { put(&$0, 24 + 4, 0x0400_ffff) }?.contains("type 1") == true)
        // An unknown kind.
        #expect(refusal { put(&$0, 24 + 4, 0x1f00_0000) }?.contains("unknown kind") == true)
        #expect(refusal { $0 = Array($0.prefix(Int($0.count) - 1)) } != nil)
    }

    /// Random corruption of a real blob: every byte of the header and type section is fair
    /// game. Each variant is parsed and exercised; none may trap.
    @Test func randomCorruptionNeverTraps() throws {
        let good = try blob()
        var generator = SystemRandomNumberGenerator()
        var refused = 0
        for round in 0..<300 {
            var bytes = good
            for _ in 0..<(1 + round % 8) {
                let at = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[at] = UInt8.random(in: 0...255, using: &generator)
            }
            if round % 10 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator))) }
            if (try? BTFData(bytes: bytes, source: "crafted")) == nil { refused += 1 }
            exercise(bytes)
        }
        #expect(refused > 0)
    }

    /// Cycles that no compiler emits: a typedef of itself, a struct whose anonymous member is
    /// itself, a member whose type id is past the last type.
    @Test func cyclesAndDanglingIdsEndCleanly() throws {
        // Strings: "", "loop", "self", "m". Types: 1 TYPEDEF loop -> 1; 2 STRUCT self {anonymous: 2;
        // m: 99} of 8 bytes; 3 PTR -> 3.
        let strings = Array("\0loop\0self\0m\0".utf8)
        var types: [UInt32] = []
        types += [1, 8 << 24, 1]                     // typedef loop = loop
        types += [6, 4 << 24 | 2, 8, 0, 2, 0, 11, 99, 0]  // struct self { self; m @0 of type 99 }
        types += [0, 2 << 24, 3]                     // pointer to itself
        var bytes: [UInt8] = [0x9f, 0xeb, 1, 0]
        let typeBytes = types.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        for v in [UInt32(24), 0, UInt32(typeBytes.count), UInt32(typeBytes.count), UInt32(strings.count)] {
            bytes += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
        }
        bytes += typeBytes + strings
        let btf = BTFTypes(data: try BTFData(bytes: bytes, source: "crafted"))
        #expect(btf.typeCount == 3)
        _ = try? btf.typedefTarget("loop")
        let layout = try btf.structType("self")
        #expect(layout.size == 8)
        #expect(try layout.member("m").type == .void)
        _ = btf.typeRef(3).description
        exercise(bytes)
    }
}
