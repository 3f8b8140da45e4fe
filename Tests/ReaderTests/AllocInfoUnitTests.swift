@testable import DepotWalker
import ELFCore
import Foundation
import Testing

/// The allocinfo pieces that need no dump: line format, ranking, human sizes, xarray walks.
@Suite struct AllocInfoUnitTests {
    static func tag(_ bytes: Int64, _ calls: UInt64, module: String? = nil, flags: UInt32 = 0, line: UInt32 = 7) -> AllocTag {
        AllocTag(bytes: bytes, calls: calls, filename: "mm/x.c", line: line, module: module, function: "f\(line)", flags: flags)
    }

    @Test func linesLookLikeTheKernels() {
        #expect(AllocInfoText.line(Self.tag(4096, 1), version: .v1) == "        4096        1 mm/x.c:7 func:f7 \n")
        #expect(AllocInfoText.line(Self.tag(-8, 123456789, module: "brd"), version: .v1) == "          -8 123456789 mm/x.c:7 [brd] func:f7 \n")
        // A 13-digit size pushes the line right, as printf does; nothing is cut.
        #expect(AllocInfoText.line(Self.tag(1_234_567_890_123, 0), version: .v1) == "1234567890123        0 mm/x.c:7 func:f7 \n")
        // 6.18+ marks inaccurate tags; 1.0 has no such field even when the bit is set.
        #expect(AllocInfoText.line(Self.tag(0, 0, flags: 1), version: .v2) == "           0        0 mm/x.c:7 func:f7 accurate:no \n")
        #expect(AllocInfoText.line(Self.tag(0, 0, flags: 1), version: .v1) == "           0        0 mm/x.c:7 func:f7 \n")
        #expect(AllocInfoText.header(.v2) == "allocinfo - version: 2.0\n#     <size>  <calls> <tag info>\n")
        #expect(AllocInfoText.line(Self.tag(69_402_624, 3), version: .v1, human: true) == "         67M        3 mm/x.c:7 func:f7 \n")
    }

    @Test func headerVersionFollowsTheRelease() {
        #expect(AllocInfo.formatVersion(release: "6.12.117") == .v1)
        #expect(AllocInfo.formatVersion(release: "6.10.0-rc1") == .v1)
        #expect(AllocInfo.formatVersion(release: "6.18.0") == .v2)
        #expect(AllocInfo.formatVersion(release: "7.1.3") == .v2)
        #expect(AllocInfo.formatVersion(release: "weird") == .v1)
    }

    @Test func rankingKeepsTheKernelsOrderOnTies() {
        let tags = [Self.tag(10, 5, line: 1), Self.tag(30, 1, line: 2), Self.tag(10, 9, line: 3), Self.tag(30, 1, line: 4)]
        let info = AllocInfo(tags: tags, profilingEnabled: true, version: .v1, unreadableCounters: 0, unreadableTags: 0, moduleListFault: nil, moduleCount: 1)
        #expect(info.ranked(by: .bytes, top: nil).map(\.line) == [2, 4, 1, 3])
        #expect(info.ranked(by: .calls, top: 2).map(\.line) == [3, 1])
        #expect(info.ranked(by: nil, top: 3).map(\.line) == [1, 2, 3])
        #expect(info.ranked(by: .bytes, top: 0).isEmpty)
    }

    /// Human sizes agree with coreutils' `numfmt --to=iec`, which the kernel documentation uses.
    @Test func humanSizesMatchNumfmt() throws {
        let values: [Int64] = [0, 1, 1023, 1024, 1025, 1536, 10239, 10240, 10241, 102_400, 1_048_575, 1_048_576,
                               4_194_304, 69_402_624, 123_456_789, 1_073_741_823, 5_000_000_000, -5000, -1, .max]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["numfmt", "--to=iec", "--"] + values.map(String.init)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let expected = out.split(separator: "\n").map(String.init)
        #expect(expected.count == values.count)
        for (value, theirs) in zip(values, expected) {
            #expect(IECSize.format(value) == theirs, "\(value)")
        }
        #expect(IECSize.format(.min) == "-8.0E")      // no overflow on the magnitude
    }
}

/// XArrayWalk over hand-built nodes in a fake direct map.
@Suite struct AllocInfoXArrayTests {
    final class FlatMemory: PhysicalMemory, @unchecked Sendable {
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        var path: String { "<memory>" }
        var formatName: String { "test" }
        var vmcoreinfo: String? { nil }
        var architecture: Architecture { .x86_64 }
        var ranges: [PhysicalRange] { [PhysicalRange(start: 0, end: UInt64(bytes.count))] }
        func read(physical address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
            guard address <= UInt64(bytes.count), UInt64(buffer.count) <= UInt64(bytes.count) - address else { throw MemoryFault.notInDump(physical: address) }
            for i in 0..<buffer.count { buffer[i] = bytes[Int(address) + i] }
        }
        func directPointer(physical address: UInt64, count: Int) -> UnsafeRawPointer? { nil }
        func directSpan(physical address: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)? { nil }
    }

    static let base: UInt64 = 0xffff_8880_0000_0000
    // xa_node as on x86_64: shift @0, slots @40, 64 slots, 576 bytes.
    static let slotsOffset = 40

    let memory = FlatMemory()

    func walker() -> XArrayWalk {
        let translation = X86_64Translation(imageStart: 0xffff_ffff_8100_0000, imageEnd: 0xffff_ffff_8200_0000, physBase: 0,
                                            pageOffsetBase: Self.base, directMapSize: UInt64(memory.bytes.count), rootTable: 0, fiveLevel: false)
        return XArrayWalk(memory: KernelMemory(physical: memory, translation: .x86_64(translation)), file: "test.vmcore",
                          shiftOffset: 0, slotsOffset: Self.slotsOffset, slotCount: 64)
    }

    /// A node at physical `at` with `shift`; returns its tagged entry (address + 2).
    func node(at: Int, shift: UInt8, slots: [Int: UInt64]) -> UInt64 {
        memory.bytes[at] = shift
        for (i, v) in slots {
            for b in 0..<8 { memory.bytes[at + Self.slotsOffset + i * 8 + b] = UInt8((v >> (8 * UInt64(b))) & 0xff) }
        }
        return Self.base + UInt64(at) + 2
    }

    @Test func emptyAndSingleEntryHeads() throws {
        #expect(try walker().entries(head: 0).isEmpty)
        let single: [XArrayWalk.Entry] = [XArrayWalk.Entry(index: 0, value: 0xffff_8880_1234_5678)]
        #expect(try walker().entries(head: 0xffff_8880_1234_5678) == single)
        #expect(try walker().entries(head: 0x406).isEmpty)        // XA_ZERO_ENTRY reads as nothing
    }

    @Test func twoLevelsInIndexOrder() throws {
        let leafA = node(at: 0x1000, shift: 0, slots: [0: 0xa000, 5: 0xa005, 6: (5 << 2) | 2 /* sibling */, 7: 0x402 /* retry */])
        let leafB = node(at: 0x2000, shift: 0, slots: [63: 0xb03f])
        let root = node(at: 0x3000, shift: 6, slots: [0: leafA, 2: leafB, 9: 0x9999_0000])
        let entries = try walker().entries(head: root)
        let expected: [XArrayWalk.Entry] = [
            XArrayWalk.Entry(index: 0, value: 0xa000), XArrayWalk.Entry(index: 5, value: 0xa005),
            XArrayWalk.Entry(index: 2 * 64 + 63, value: 0xb03f), XArrayWalk.Entry(index: 9 * 64, value: 0x9999_0000)]
        #expect(entries == expected)
    }

    /// Corrupt trees throw with the file named; they neither loop nor trap.
    @Test func corruptTreesThrow() throws {
        let selfLoop = Self.base + 0x4000 + 2
        _ = node(at: 0x4000, shift: 6, slots: [1: selfLoop])
        #expect(throws: InputError.self) { try walker().entries(head: selfLoop) }

        // A child whose shift does not step down by 6 (here: the same as its parent).
        let child = node(at: 0x5000, shift: 6, slots: [0: 0x1234_0000])
        let parent = node(at: 0x6000, shift: 6, slots: [0: child])
        #expect(throws: InputError.self) { try walker().entries(head: parent) }

        // A node outside the dump is a fault of the read, reported as an error, not a trap.
        #expect(throws: (any Error).self) { try walker().entries(head: Self.base + 0x10_0000 + 2) }
    }
}
