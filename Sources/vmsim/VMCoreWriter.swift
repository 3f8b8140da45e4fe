import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes the ELF core like /proc/vmcore: PT_NOTE (two CORE NT_PRSTATUS, VMCOREINFO) and one
/// PT_LOAD per RAM range (p_paddr physical, p_vaddr its direct-map address). The file is sparse:
/// it is sized with ftruncate and only pages holding non-zero bytes are written.
struct VMCoreWriter {
    let sim: Simulator

    struct WriteError: Error, CustomStringConvertible { let description: String }

    private func note(name: String, type: UInt32, desc: [UInt8]) -> [UInt8] {
        var n = Array(name.utf8) + [0]
        let namesz = n.count
        while n.count % 4 != 0 { n.append(0) }
        var d = desc
        while d.count % 4 != 0 { d.append(0) }
        return le(UInt64(namesz), 4) + le(UInt64(desc.count), 4) + le(UInt64(type), 4) + n + d
    }

    func write(to url: URL) throws {
        let layout = sim.layout!
        var notes: [UInt8] = []
        for cpu in 0..<2 {
            var prstatus = [UInt8](repeating: 0, count: Platform.current.prstatusSize)
            let pid = le(UInt64(cpu == 0 ? 1203 : 0), 4)
            prstatus.replaceSubrange(32..<36, with: pid)   // pr_pid
            notes += note(name: "CORE", type: 1, desc: prstatus)
        }
        if sim.vmcoreinfoNote { notes += note(name: "VMCOREINFO", type: 0, desc: Array(sim.vmcoreinfoText().utf8)) }

        let ranges = layout.ram
        let phnum = 1 + ranges.count
        let notesOffset = 64 + 56 * phnum
        var dataOffset = UInt64((notesOffset + notes.count + 4095) & ~4095)
        var fileOffsets: [UInt64] = []
        var header: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        header += le(4, 2) + le(Platform.current.elfMachine, 2) + le(1, 4) + le(0, 8) + le(64, 8) + le(0, 8)
        header += le(0, 4) + le(64, 2) + le(56, 2) + le(UInt64(phnum), 2) + le(64, 2) + le(0, 2) + le(0, 2)
        header += le(4, 4) + le(0, 4) + le(UInt64(notesOffset), 8) + le(0, 8) + le(0, 8)
            + le(UInt64(notes.count), 8) + le(UInt64(notes.count), 8) + le(0, 8)
        for r in ranges {
            fileOffsets.append(dataOffset)
            let len = r.end - r.start
            header += le(1, 4) + le(7, 4) + le(dataOffset, 8) + le(layout.pageOffsetBase &+ r.start, 8) + le(r.start, 8)
                + le(len, 8) + le(len, 8) + le(0, 8)
            dataOffset += len
        }
        header += notes

        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw WriteError(description: "\(url.path): cannot create (errno \(errno))") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(dataOffset)) == 0 else { throw WriteError(description: "\(url.path): ftruncate failed") }
        try pwriteAll(fd, header, at: 0, url)

        func fileOffset(_ pa: UInt64) -> UInt64? {
            for (i, r) in ranges.enumerated() where pa >= r.start && pa < r.end { return fileOffsets[i] + (pa - r.start) }
            return nil
        }
        for (pfn, page) in sim.phys.pages.sorted(by: { $0.key < $1.key }) {
            guard let o = fileOffset(pfn << 12), page.contains(where: { $0 != 0 }) else { continue }
            try pwriteAll(fd, page, at: o, url)
        }
        // Bulk regions: generate, then write runs of non-zero pages.
        var buffer = [UInt8]()
        for region in sim.phys.bulk {
            buffer = [UInt8](repeating: 0, count: Int(region.length))
            buffer.withUnsafeMutableBytes { region.fill($0) }
            guard let base = fileOffset(region.physical) else { continue }
            var p = 0
            while p < buffer.count {
                var q = p
                while q < buffer.count && !isZeroPage(buffer, q) { q += 4096 }
                if q > p { try pwriteAll(fd, buffer, range: p..<min(q, buffer.count), at: base + UInt64(p), url) }
                p = q + 4096
            }
        }
    }

    private func isZeroPage(_ b: [UInt8], _ at: Int) -> Bool {
        let end = min(at + 4096, b.count)
        return b.withUnsafeBytes { raw -> Bool in
            var i = at
            while i + 8 <= end {
                if raw.load(fromByteOffset: i, as: UInt64.self) != 0 { return false }
                i += 8
            }
            while i < end { if raw[i] != 0 { return false }; i += 1 }
            return true
        }
    }

    private func pwriteAll(_ fd: Int32, _ b: [UInt8], range: Range<Int>? = nil, at offset: UInt64, _ url: URL) throws {
        let r = range ?? 0..<b.count
        try b.withUnsafeBytes { raw in
            var done = 0
            while done < r.count {
                let n = pwrite(fd, raw.baseAddress! + r.lowerBound + done, r.count - done, off_t(offset) + off_t(done))
                guard n > 0 else { throw WriteError(description: "\(url.path): write failed (errno \(errno))") }
                done += n
            }
        }
    }
}
