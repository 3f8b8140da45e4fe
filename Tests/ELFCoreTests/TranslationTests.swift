import ELFCore
import Testing

/// x86_64 page-table walks over hand-built tables: 4 KiB, 2 MiB and 1 GiB leaves, 4 and 5
/// levels, faults for holes and non-canonical addresses.
@Suite struct TranslationTests {
    /// Physical memory held in an array, for building page tables by hand.
    final class ArrayMemory: PhysicalMemory, @unchecked Sendable {
        var bytes: [UInt8]
        init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }
        var path: String { "<memory>" }
        var formatName: String { "test" }
        var vmcoreinfo: String? { nil }
        var architecture: Architecture { .x86_64 }
        var ranges: [PhysicalRange] { [PhysicalRange(start: 0, end: UInt64(bytes.count))] }
        func read(physical address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
            guard address + UInt64(buffer.count) <= UInt64(bytes.count) else { throw MemoryFault.notInDump(physical: address) }
            for i in 0..<buffer.count { buffer[i] = bytes[Int(address) + i] }
        }
        func directPointer(physical address: UInt64, count: Int) -> UnsafeRawPointer? { nil }
        func directSpan(physical address: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)? { nil }
        func set(_ table: UInt64, _ index: UInt64, _ value: UInt64) {
            for b in 0..<8 { bytes[Int(table + index * 8) + b] = UInt8((value >> (8 * UInt64(b))) & 0xff) }
        }
    }

    static let present: UInt64 = 0x63      // present, writable, accessed, dirty
    static let huge: UInt64 = 0x80

    func translation(root: UInt64, fiveLevel: Bool = false) -> X86_64Translation {
        X86_64Translation(imageStart: 0xffff_ffff_8100_0000, imageEnd: 0xffff_ffff_8200_0000, physBase: 0x100_0000,
                          pageOffsetBase: 0xffff_8880_0000_0000, directMapSize: 0x40_0000, rootTable: root, fiveLevel: fiveLevel)
    }

    @Test func fourLevelLeaves() throws {
        let m = ArrayMemory(size: 0x10_0000)
        // Tables at 0x1000 (PGD), 0x2000 (PUD), 0x3000 (PMD), 0x4000 (PTE).
        let va: UInt64 = 0xffff_c900_1234_5678
        let i4 = (va >> 39) & 511, i3 = (va >> 30) & 511, i2 = (va >> 21) & 511, i1 = (va >> 12) & 511
        m.set(0x1000, i4, 0x2000 | Self.present)
        m.set(0x2000, i3, 0x3000 | Self.present)
        m.set(0x3000, i2, 0x4000 | Self.present)
        m.set(0x4000, i1, 0x8_9000 | Self.present)
        let t = translation(root: 0x1000)
        let (pa, run) = try t.translate(va, memory: m)
        #expect(pa == 0x8_9678)
        #expect(run == 0x1000 - 0x678)

        // A 2 MiB leaf one slot further in the PMD.
        m.set(0x3000, (i2 + 1) & 511, 0x60_0000 | Self.present | Self.huge)
        let va2 = va + (1 << 21)
        #expect(try t.translate(va2, memory: m).physical == 0x60_0000 | (va2 & 0x1f_ffff))

        // A 1 GiB leaf in the PUD.
        m.set(0x2000, (i3 + 1) & 511, 0x4000_0000 | Self.present | Self.huge)
        let va3 = va + (1 << 30)
        #expect(try t.translate(va3, memory: m).physical == 0x4000_0000 | (va3 & 0x3fff_ffff))

        // Not present, and not canonical.
        #expect(throws: MemoryFault.self) { try t.translate(va + (1 << 12), memory: m) }
        #expect(throws: MemoryFault.self) { try t.translate(0x0000_9000_0000_0000, memory: m) }
    }

    @Test func fiveLevel() throws {
        let m = ArrayMemory(size: 0x10_0000)
        let va: UInt64 = 0xff11_2233_4455_6000
        let idx = [48, 39, 30, 21, 12].map { (va >> UInt64($0)) & 511 }
        let tables: [UInt64] = [0x1000, 0x2000, 0x3000, 0x4000, 0x5000]
        for level in 0..<4 { m.set(tables[level], idx[level], tables[level + 1] | Self.present) }
        m.set(0x5000, idx[4], 0x7_7000 | Self.present)
        #expect(try translation(root: 0x1000, fiveLevel: true).translate(va + 0x10, memory: m).physical == 0x7_7010)
    }

    @Test func imageAndDirectMap() throws {
        let m = ArrayMemory(size: 0x1000)
        let t = translation(root: 0)
        #expect(try t.translate(0xffff_ffff_8100_0040, memory: m).physical == 0x200_0040)
        #expect(try t.translate(0xffff_8880_0012_3456, memory: m).physical == 0x12_3456)
    }

    /// A table whose entries all point back at itself ends after the last level, never loops.
    @Test func selfReferencingTables() throws {
        let m = ArrayMemory(size: 0x2000)
        for i in 0..<512 { m.set(0x1000, UInt64(i), 0x1000 | Self.present) }
        let (pa, _) = try translation(root: 0x1000).translate(0xffff_c900_0000_0123, memory: m)
        #expect(pa == 0x1123)
    }
}
