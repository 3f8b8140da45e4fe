import CLibDW

/// GNU build IDs: the one the linker put in the vmlinux (.note.gnu.build-id, gathered into
/// .notes by the kernel's linker script) and the one the kernel wrote into VMCOREINFO
/// (`BUILD-ID=`, Linux 5.9+), as lowercase hex.
public enum BuildID {
    static let gnuBuildIDType: UInt32 = 3   // NT_GNU_BUILD_ID
    /// Build IDs are 20 bytes (sha1) in practice; 64 is far beyond any --build-id style.
    static let maxBytes = 64

    /// The `BUILD-ID=` value of a VMCOREINFO text; nil when absent or not hex.
    public static func inVMCoreInfo(_ text: String?) -> String? {
        guard let text else { return nil }
        for line in text.split(separator: "\n").prefix(1 << 16) where line.hasPrefix("BUILD-ID=") {
            let value = line.dropFirst("BUILD-ID=".count).lowercased()
            let isHex = value.allSatisfy { $0.isHexDigit && $0.isASCII }
            return isHex && value.count >= 2 && value.count <= 2 * maxBytes && value.count % 2 == 0 ? value : nil
        }
        return nil
    }

    /// Stable releases whose VMCOREINFO BUILD-ID is known to be wrong (a backported build-ID
    /// parser change; drgn ignores it there): 5.15.168+, 6.1.113-118, 6.6.55-62, 6.10.14+,
    /// 6.11.3-9.
    public static func releaseWritesWrongBuildID(_ release: String) -> Bool {
        let n = release.split(whereSeparator: { !$0.isNumber }).prefix(3).compactMap { Int($0) }
        guard n.count == 3 else { return false }
        switch (n[0], n[1]) {
        case (5, 15): return n[2] >= 168
        case (6, 1): return (113...118).contains(n[2])
        case (6, 6): return (55...62).contains(n[2])
        case (6, 10): return n[2] >= 14
        case (6, 11): return (3...9).contains(n[2])
        default: return false
        }
    }

    /// The build ID in ELF note bytes (a GNU note of type NT_GNU_BUILD_ID).
    static func inNotes(_ notes: [UInt8]) -> String? {
        guard let desc = ELFNotes.find(name: "GNU", type: gnuBuildIDType, in: notes), !desc.isEmpty, desc.count <= maxBytes else { return nil }
        return hex(desc)
    }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef")
        var s = ""
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return s
    }
}

extension VMLinux {
    /// The GNU build ID of this vmlinux, from its note sections; nil when it has none.
    public var buildID: String? {
        var found: String?
        file.forEachSection { section, header in
            guard header.sh_type == UInt32(SHT_NOTE), let contents = file.contents(of: section), contents.count <= 1 << 20 else { return true }
            found = BuildID.inNotes(Array(contents))
            return found == nil
        }
        return found
    }
}
