import ELFCore
import Testing

/// arm64 stage-1 walks over hand-built tables, for every granule and VA size the kernel offers:
/// pages and blocks, LPA2 and LPA address bits, tagged pointers, the image and linear-map rules
/// (with the negative PHYS_OFFSET of a randomized linear map) and faults.
@Suite struct ARM64TranslationTests {
    typealias Memory = TranslationTests.ArrayMemory

    /// Builds TTBR1 tables the way the architecture defines them, independently of the reader.
    struct TableBuilder {
        let memory: Memory
        let pageShift: UInt64
        let walkBits: UInt64
        var nextTable: UInt64
        let root: UInt64

        init(pageShift: UInt64, walkBits: UInt64) {
            self.pageShift = pageShift
            self.walkBits = walkBits
            let page: UInt64 = 1 << pageShift
            memory = Memory(size: Int(page * 16))
            root = page
            nextTable = 2 * page
        }

        var bitsPerLevel: UInt64 { pageShift - 3 }
        var levels: UInt64 { (walkBits - pageShift + bitsPerLevel - 1) / bitsPerLevel }
        var lpa2: Bool { walkBits == 52 && pageShift != 16 }

        /// The descriptor bits for output address `pa`.
        func encode(_ pa: UInt64) -> UInt64 {
            if pageShift == 16 { return (pa & 0x0000_ffff_ffff_0000) | ((pa >> 48) & 0xf) << 12 }
            if lpa2 { return (pa & 0x0003_ffff_ffff_f000) | ((pa >> 50) & 3) << 8 }
            return pa & 0x0000_ffff_ffff_f000
        }

        func index(_ va: UInt64, level: UInt64) -> UInt64 {
            let shift = pageShift + level * bitsPerLevel
            return (va >> shift) & ((1 << min(bitsPerLevel, walkBits - shift)) - 1)
        }

        /// Maps `va` to `pa` with a leaf at `leafLevel` (0: a page; above: a block).
        mutating func map(_ va: UInt64, to pa: UInt64, leafLevel: UInt64 = 0) {
            var table = root
            var level = levels - 1
            while level > leafLevel {
                let i = index(va, level: level)
                var entry = read(table, i)
                if entry & 1 == 0 {
                    entry = encode(nextTable) | 0b11
                    memory.set(table, i, entry)
                    nextTable += 1 << pageShift
                }
                table = nextTable(of: entry)
                level -= 1
            }
            let kind: UInt64 = leafLevel == 0 ? 0b11 : 0b01
            // Attribute bits the walk must ignore: AF (10), nG (11), PXN/UXN (53, 54).
            let attributes: UInt64 = 1 << 10 | 1 << 11 | 3 << 53 | (lpa2 ? 0 : 3 << 8)
            memory.set(table, index(va, level: leafLevel), encode(pa) | kind | attributes)
        }

        func read(_ table: UInt64, _ index: UInt64) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(memory.bytes[Int(table + index * 8) + $1]) << (8 * UInt64($1)) }
        }

        func nextTable(of entry: UInt64) -> UInt64 {
            if pageShift == 16 { return entry & 0x0000_ffff_ffff_0000 }
            return entry & (lpa2 ? 0x0003_ffff_ffff_f000 : 0x0000_ffff_ffff_f000) & ~((1 << pageShift) - 1)
        }

        var translation: ARM64Translation {
            ARM64Translation(imageStart: 0xffff_8000_8000_0000, imageEnd: 0xffff_8000_8200_0000,
                             kimageVoffset: 0xffff_7fff_c000_0000, linearStart: 0 &- (1 << walkBits),
                             linearEnd: 0 &- (1 << (min(walkBits, 48) - 1)), physOffset: 0x4000_0000,
                             rootTable: root, pageShift: pageShift, walkBits: walkBits)
        }
    }

    static let configurations: [(pageShift: UInt64, walkBits: UInt64, levels: UInt64)] = [
        (12, 39, 3), (12, 48, 4), (12, 52, 5), (14, 36, 2), (14, 47, 3), (14, 48, 4), (14, 52, 4),
        (16, 42, 2), (16, 48, 3), (16, 52, 3),
    ]

    /// A vmalloc-like address: above the linear map, which ends at −2^(min(VA, 48) − 1).
    static func address(walkBits: UInt64, pageShift: UInt64) -> UInt64 {
        let bits = min(walkBits, 48) - 1
        let top = 0 &- (UInt64(1) << bits)
        return top &+ (UInt64(0x1234_5678_9abc) & ((UInt64(1) << (bits - 1)) - 1) & ~((1 << pageShift) - 1)) &+ 0x10
    }

    @Test(arguments: configurations)
    func pagesAndBlocks(pageShift: UInt64, walkBits: UInt64, levels: UInt64) throws {
        var b = TableBuilder(pageShift: pageShift, walkBits: walkBits)
        let t = b.translation
        #expect(t.levels == levels)
        let page: UInt64 = 1 << pageShift
        let va = Self.address(walkBits: walkBits, pageShift: pageShift)
        // High output addresses exercise LPA/LPA2 bits where the configuration has them.
        let pa: UInt64 = walkBits == 52 ? 0x000c_0000_0000_0000 | 7 * page : 0x8000_0000 + 7 * page
        b.map(va, to: pa)
        let got = try t.translate(va, memory: b.memory)
        #expect(got.physical == pa + 0x10 && got.contiguous == page - 0x10)

        // A block one level above the pages: 2M (4K), 32M (16K), 512M (64K).
        let blockShift = pageShift + (pageShift - 3)
        let blockVA = (va & ~((1 << blockShift) - 1)) ^ (1 << blockShift)   // the sibling block
        let blockPA: UInt64 = 1 << (blockShift + 1)
        b.map(blockVA, to: blockPA, leafLevel: 1)
        let inBlock = try t.translate(blockVA + 3 * page + 5, memory: b.memory)
        #expect(inBlock.physical == blockPA + 3 * page + 5)
        #expect(inBlock.contiguous == (1 << blockShift) - 3 * page - 5)

        // A tagged pointer (KASAN software tags, MTE) is the same address.
        let tagged = (va & 0x00ff_ffff_ffff_ffff) | 0xf2 << 56
        #expect(try t.translate(tagged, memory: b.memory).physical == pa + 0x10)

        // The next page is not mapped; an address outside TTBR1's range is no kernel address.
        #expect(throws: MemoryFault.unmapped(virtual: va + page)) { try t.translate(va + page, memory: b.memory) }
        let user: UInt64 = 0x0000_7fff_0000_0000
        #expect(throws: MemoryFault.badAddress(virtual: user)) { try t.translate(user, memory: b.memory) }
    }

    /// A descriptor with bits 1:0 = 0b01 at the last level is reserved, not a page.
    @Test func reservedAtLastLevel() throws {
        var b = TableBuilder(pageShift: 12, walkBits: 48)
        let va = Self.address(walkBits: 48, pageShift: 12)
        b.map(va, to: 0x8000_0000)
        let table = b.nextTable - (1 << 12)                  // the last table made holds the page
        b.memory.set(table, b.index(va, level: 0), b.read(table, b.index(va, level: 0)) & ~2)
        #expect(throws: MemoryFault.unmapped(virtual: va)) { try b.translation.translate(va, memory: b.memory) }
    }

    /// The image through kimage_voffset; the linear map through PHYS_OFFSET, which is negative
    /// (a huge u64) when KASLR randomizes the linear map, as on the real arm64 6.12 here.
    @Test func imageAndLinearMap() throws {
        let memory = Memory(size: 4096)
        let physOffset: UInt64 = 0xffff_f2fa_8000_0000
        let t = ARM64Translation(imageStart: 0xffff_8000_8000_0000, imageEnd: 0xffff_8000_8200_0000,
                                 kimageVoffset: 0xffff_8000_4000_0000, linearStart: 0xffff_0000_0000_0000,
                                 linearEnd: 0xffff_8000_0000_0000, physOffset: physOffset,
                                 rootTable: 0, pageShift: 12, walkBits: 48)
        #expect(try t.translate(0xffff_8000_8012_3456, memory: memory).physical == 0x4012_3456)
        // RAM at PA 0x40000000 sits at PAGE_OFFSET + (0x40000000 − PHYS_OFFSET).
        let ramVA = 0xffff_0000_0000_0000 &+ (0x4000_0000 &- physOffset)
        #expect(ramVA >> 32 == 0xffff_0d05)
        let got = try t.translate(ramVA + 0x1234, memory: memory)
        #expect(got.physical == 0x4000_1234 && got.contiguous == 0xffff_8000_0000_0000 - (ramVA + 0x1234))
    }
}
