import ELFCore
import Testing

/// The VMCOREINFO note is the crashed kernel's memory: every value vmowner uses is checked
/// once, and a bad one is an error naming the key and the value.
@Suite struct VMCoreInfoTests {
    static let good = """
        OSRELEASE=6.12.0
        PAGESIZE=4096
        KERNELOFFSET=1c000000
        NUMBER(phys_base)=-2147483648
        NUMBER(pgtable_l5_enabled)=0
        NUMBER(SECTION_SIZE_BITS)=27
        NUMBER(MAX_PHYSMEM_BITS)=46
        SIZE(page)=64
        LENGTH(zone.free_area)=11
        LENGTH(mem_section)=2048
        LENGTH(node_data)=64
        NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129
        SYMBOL(init_top_pgt)=ffffffff9d000000
        SYMBOL(mem_section)=ffff888003a2b000

        """

    static func info(_ text: String) throws -> VMCoreInfo { try VMCoreInfo(text: text, file: "vmcore") }

    /// The note with `key`'s line replaced by `key=value`.
    static func replacing(_ key: String, with value: String) -> String {
        good.split(separator: "\n").map { $0.hasPrefix(key + "=") ? "\(key)=\(value)" : String($0) }.joined(separator: "\n")
    }

    /// arm64's keys (arch/arm64/kernel/vmcore_info.c), as the real 6.12 kernel here wrote them:
    /// the 0x-hex numbers, a negative PHYS_OFFSET printed as a huge u64.
    @Test func arm64Values() throws {
        let info = try Self.info("""
            OSRELEASE=6.12.57
            PAGESIZE=65536
            NUMBER(VA_BITS)=48
            NUMBER(kimage_voffset)=0xffff7fff3fc00000
            NUMBER(PHYS_OFFSET)=0xfffff2fa80000000
            KERNELOFFSET=3e00000
            NUMBER(KERNELPACMASK)=0xff7f000000000000
            NUMBER(TCR_EL1_T1SZ)=0x10
            """)
        #expect(info.pageSize == 65536 && info.vaBits == 48 && info.tcrEL1T1SZ == 16)
        #expect(info.kimageVoffset == 0xffff_7fff_3fc0_0000 && info.physOffset == 0xffff_f2fa_8000_0000)
        #expect(info.kernelPacMask == 0xff7f_0000_0000_0000 && info.kernelOffset == 0x3e0_0000)
        for (key, bad) in [("NUMBER(VA_BITS)", "64"), ("NUMBER(TCR_EL1_T1SZ)", "0x40"), ("NUMBER(kimage_voffset)", "0xzz")] {
            let error = try #require(throws: InputError.self) { try Self.info("OSRELEASE=6.12\n\(key)=\(bad)\n") }
            #expect(error.reason.contains("\(key)=\(bad)"), "\(error)")
        }
    }

    @Test func typedValues() throws {
        let info = try Self.info(Self.good)
        #expect(info.osRelease == "6.12.0")
        #expect(info.pageSize == 4096)
        #expect(info.kernelOffset == 0x1c00_0000)
        #expect(info.physBase == UInt64(bitPattern: -2_147_483_648))
        #expect(info.fiveLevelPaging == false)
        #expect(info.sectionSizeBits == 27 && info.maxPhysmemBits == 46)
        #expect(info.pageStructSize == 64)
        #expect(info.buddyOrders == 11 && info.memSectionRoots == 2048 && info.nodeDataLength == 64)
        #expect(info.pageBuddyMapcountValue == ~UInt32(0x80))
        #expect(info.symbol("init_top_pgt") == 0xffff_ffff_9d00_0000)
        #expect(info.symbol("nothing") == nil)
        #expect(info.warnings.isEmpty)
    }

    static let checkedKeys = ["PAGESIZE", "KERNELOFFSET", "NUMBER(phys_base)", "NUMBER(pgtable_l5_enabled)",
                              "NUMBER(SECTION_SIZE_BITS)", "NUMBER(MAX_PHYSMEM_BITS)", "SIZE(page)",
                              "LENGTH(zone.free_area)", "LENGTH(mem_section)", "LENGTH(node_data)",
                              "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)"]
    /// Values no kernel has for any key: too many digits for 64 bits, not a number, empty.
    static let neverValid = ["1" + String(repeating: "0", count: 40), "0x", "twelve", ""]
    /// Values of the range-checked keys that are out of their range.
    static let outOfRange: [String: [String]] = [
        "PAGESIZE": ["-1", "0", "18446744073709551615"],
        "NUMBER(pgtable_l5_enabled)": ["-1", "2", "4294967296"],
        "NUMBER(SECTION_SIZE_BITS)": ["-1", "0", "1", "12", "41", "4294967296", "9223372036854775808", "18446744073709551615"],
        "NUMBER(MAX_PHYSMEM_BITS)": ["-1", "0", "27", "65", "4294967296"],
        "SIZE(page)": ["-1", "0", "1", "12288", "999999", "4294967296", "18446744073709551615"],
        "LENGTH(zone.free_area)": ["-1", "0", "21", "4294967296"],
        "LENGTH(mem_section)": ["-1", "0", "4294967296", "18446744073709551615"],
        "LENGTH(node_data)": ["-1", "0", "4097", "4294967296"],
        "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)": ["-2147483649", "4294967296", "9223372036854775808"],
    ]

    @Test(arguments: checkedKeys)
    func badValueIsAnErrorNamingKeyAndValue(key: String) throws {
        for value in Self.neverValid + (Self.outOfRange[key] ?? []) {
            let error = try #require(throws: InputError.self, "\(key)=\(value)") { try Self.info(Self.replacing(key, with: value)) }
            #expect(error.file == "vmcore")
            #expect(error.reason.contains("VMCOREINFO \(key)=\(value.prefix(40))"), "\(error.reason)")
        }
    }

    @Test func missingOrHugeRelease() throws {
        #expect(throws: InputError.self) { try Self.info("PAGESIZE=4096\n") }
        #expect(throws: InputError.self) { try Self.info(Self.replacing("OSRELEASE", with: String(repeating: "6", count: 65))) }
    }

    /// A malformed SYMBOL() is left out with a warning: the vmlinux's symbol serves instead.
    @Test func malformedSymbolIsAWarning() throws {
        for value in ["zz", "", "1ffffffffffffffff", "-1"] {
            let info = try Self.info(Self.replacing("SYMBOL(mem_section)", with: value))
            #expect(info.symbol("mem_section") == nil)
            #expect(info.warnings.count == 1 && info.warnings[0].contains("SYMBOL(mem_section)"), "\(info.warnings)")
            #expect(info.symbol("init_top_pgt") != nil)
        }
    }

    /// Only the first of two lines with one key counts, as before; absent keys are nil.
    @Test func firstLineWinsAndAbsentIsNil() throws {
        let info = try Self.info("OSRELEASE=6.1.0\nSIZE(page)=64\nSIZE(page)=999999\n")
        #expect(info.pageStructSize == 64)
        #expect(info.sectionSizeBits == nil && info.pageSize == nil && info.kernelOffset == nil)
    }
}
