import ELFCore
import Foundation
import Testing

/// `makedumpfile --split` output (Debian's makedumpfile 1.7.2) of simulated dumps read as one
/// dump: every report equals the unsplit dump's, whatever the order of the parts or with one
/// part named; incomplete and mixed sets are refused by name.
@Suite struct SplitDumpReaderTests {
    /// Commands whose whole output must not depend on how the dump is stored.
    static let commands: [[String]] = [["page-owner"], ["stacks"], ["stacks", "--threshold", "0", "--format", "folded"],
                                       ["summary"], ["fragmentation"], ["allocinfo"], ["sort"]]

    /// The simulated dump and its makedumpfile --split parts (3, each holding pages; -d 1
    /// drops zero pages only, so the parts' reports can equal the ELF's).
    struct SplitSet {
        let sim: URL
        let parts: [String]
        var vmlinux: String { sim.file("vmlinux") }
        var vmcore: String { sim.file("vmcore") }
    }

    static func split(seed: Int, into folder: URL) throws -> SplitSet {
        let sim = try SimulatedDumps.dump(seed: seed, memory: "256M")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let parts = (1...3).map { folder.file("part\($0)") }
        try ConvertedDumps.run("/usr/sbin/makedumpfile", ["-f", "--message-level", "4", "--split", "--splitblock-size", "16384",
                                                          "-c", "-d", "1", sim.file("vmcore")] + parts)
        return SplitSet(sim: sim, parts: parts)
    }

    func scratch(_ name: String) throws -> URL {
        let dir = SimulatedDumps.root.appendingPathComponent("split-\(name)")
        try? FileManager.default.removeItem(at: dir)
        return dir
    }

    @Test func everyReportOfTheSetIsTheWholeDumps() throws {
        let set = try Self.split(seed: 3, into: scratch("reports"))
        let dump = try #require(try SplitDumpFiles.open(paths: set.parts) as? SplitKdumpSet)
        #expect(dump.partRanges.count == 3 && dump.partRanges.allSatisfy { !$0.isEmpty }, "\(dump.partRanges)")
        let (a, b, c) = (set.parts[0], set.parts[1], set.parts[2])
        for command in Self.commands {
            let whole = try Tools.run("vmowner", command + [set.vmlinux, set.vmcore])
            #expect(whole.status == 0 && !whole.text.isEmpty, "\(command): \(whole.stderr)")
            for files in [[set.vmlinux, a, b, c], [c, a, set.vmlinux, b], [set.vmlinux, b]] {
                let ours = try Tools.run("vmowner", command + files)
                #expect(ours.status == 0, "\(command) \(files): \(ours.stderr)")
                #expect(ours.text == whole.text, "\(command) \(files): \(firstDifference(ours.text, whole.text) ?? "")")
            }
        }
        try expectReport(["page-owner", c, set.vmlinux, a, b], equals: set.sim.appendingPathComponent("expected/page_owner.txt"), "split page-owner")

        // pfns on both sides of every boundary between parts, and `info` but for its format line.
        let boundaries = dump.partRanges.dropFirst().flatMap { [$0.lowerBound - 1, $0.lowerBound] }.map { "0x" + String($0, radix: 16) }
        let pfns = try Tools.run("vmowner", ["pfn", set.vmlinux, c, b, a] + boundaries)
        let elfPFNs = try Tools.run("vmowner", ["pfn", set.vmlinux, set.vmcore] + boundaries)
        #expect(pfns.status == 0 && pfns.text == elfPFNs.text && pfns.text.contains("PFN \(boundaries[0])"), "\(pfns.stderr)")
        let info = try Tools.run("vmowner", ["info", set.vmlinux, b])
        #expect(info.text.hasPrefix("format:       kdump-compressed (zlib, split in 3 files)\n"), "\(info.text.prefix(100))")
        let elfInfo = try Tools.run("vmowner", ["info", set.vmlinux, set.vmcore])
        #expect(info.text.split(separator: "\n").dropFirst() == elfInfo.text.split(separator: "\n").dropFirst())
    }

    @Test func incompleteAndMixedSetsAreRefused() throws {
        let set = try Self.split(seed: 3, into: scratch("refused"))
        let other = try Self.split(seed: 4, into: scratch("other"))
        let ranges = try #require(try SplitDumpFiles.open(paths: set.parts) as? SplitKdumpSet).partRanges
        let middle = ranges[1]

        let missing = try Tools.run("vmowner", ["page-owner", set.vmlinux, set.parts[0], set.parts[2]])
        #expect(missing.status == 1 && missing.text.isEmpty)
        #expect(missing.stderr.contains("no part holds pfns \(middle.lowerBound)-\(middle.upperBound)"), "\(missing.stderr)")
        #expect(missing.stderr.contains("between \(set.parts[0]) and \(set.parts[2])"), "\(missing.stderr)")

        let foreign = try Tools.run("vmowner", ["page-owner", set.vmlinux, set.parts[0], other.parts[1], set.parts[2]])
        #expect(foreign.status == 1)
        #expect(foreign.stderr.contains("vmowner: \(other.parts[1]): not a part of the same dump as \(set.parts[0])"), "\(foreign.stderr)")

        // Alone in its folder, a part says what it is and that the others were not beside it.
        let alone = try scratch("alone")
        try FileManager.default.createDirectory(at: alone, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: set.parts[1], toPath: alone.file("vmcore"))
        let lone = try Tools.run("vmowner", ["stacks", set.vmlinux, alone.file("vmcore")])
        #expect(lone.status == 1)
        #expect(lone.stderr.contains("no part holds pfns 0-\(middle.lowerBound)"), "\(lone.stderr)")
        #expect(lone.stderr.contains("one part of a split dump; no other part of it found beside it in \(alone.path)"), "\(lone.stderr)")

        let unsplit = try Tools.run("vmowner", ["info", set.vmlinux, set.vmcore, set.parts[0]])
        #expect(unsplit.status == 1 && unsplit.stderr.contains("ELF dump given with other dump files"), "\(unsplit.stderr)")
    }
}

/// The vmlinux found by build ID or release in --debug-dir, files in any order, and the
/// build-ID check.
@Suite struct DebugInfoReaderTests {
    func sim() throws -> URL { try SimulatedDumps.dump(seed: 3, memory: "256M") }

    func buildID(_ vmcore: String) throws -> String {
        try #require(BuildID.inVMCoreInfo(try DumpFormat.open(path: vmcore).vmcoreinfo))
    }

    func folder(_ name: String) throws -> URL {
        let dir = SimulatedDumps.root.appendingPathComponent("debug-\(name)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func theVMLinuxIsFoundByBuildIDOrRelease() throws {
        let sim = try sim()
        let expected = sim.appendingPathComponent("expected/page_owner.txt")
        let id = try buildID(sim.file("vmcore"))
        let byID = try folder("by-id")
        try FileManager.default.createDirectory(at: byID.appendingPathComponent(".build-id/\(id.prefix(2))"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: byID.file(".build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug"), withDestinationPath: sim.file("vmlinux"))
        try expectReport(["page-owner", "--debug-dir", byID.path, sim.file("vmcore")], equals: expected, "by build ID")
        // The commands with other operands find it too.
        let sorted = try Tools.run("vmowner", ["sort", "--debug-dir", byID.path, sim.file("vmcore")])
        let sortedWithVMLinux = try Tools.run("vmowner", ["sort", sim.file("vmlinux"), sim.file("vmcore")])
        #expect(sorted.status == 0 && !sorted.text.isEmpty && sorted.text == sortedWithVMLinux.text, "\(sorted.stderr)")
        let diff = try Tools.run("vmowner", ["diff", "--debug-dir", byID.path, sim.file("vmcore"), sim.file("expected/show_stacks.txt")])
        #expect(diff.status == 0 && !diff.text.isEmpty, "\(diff.stderr)")
        let pfn = try Tools.run("vmowner", ["pfn", "--debug-dir", byID.path, sim.file("vmcore"), "0x1000"])
        #expect(pfn.status == 0 && pfn.text.hasPrefix("PFN 0x1000 (4096)\n"), "\(pfn.stderr)")

        // Debian's linux-image-*-dbg layout: boot/vmlinux-RELEASE.
        let byRelease = try folder("by-release")
        try FileManager.default.createDirectory(at: byRelease.appendingPathComponent("boot"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: sim.file("vmlinux"), toPath: byRelease.file("boot/vmlinux-6.12.0-vmsim"))
        try expectReport(["page-owner", sim.file("vmcore"), "--debug-dir", byRelease.path], equals: expected, "by release")

        let empty = try folder("empty")
        let missing = try Tools.run("vmowner", ["stacks", "--debug-dir", empty.path, sim.file("vmcore")])
        #expect(missing.status == 1 && missing.text.isEmpty)
        for part in ["vmowner: \(sim.file("vmcore")): no vmlinux given", "build ID \(id)", "Linux 6.12.0-vmsim",
                     "\(empty.path)/.build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug", "\(empty.path)/boot/vmlinux-6.12.0-vmsim",
                     "\(empty.path)/lib/modules/6.12.0-vmsim/vmlinux"] {
            #expect(missing.stderr.contains(part), "\(part) not in: \(missing.stderr)")
        }
    }

    /// 5.4 wrote no BUILD-ID (it came in 5.9): the release alone finds the vmlinux, and the
    /// message for a missing one says why there is no build ID to look for.
    @Test func kernelsBefore5_9AreFoundByRelease() throws {
        let old = try SimulatedDumps.dump(seed: 3, memory: "64M", ["--kernel", "5.4"])
        #expect(BuildID.inVMCoreInfo(try DumpFormat.open(path: old.file("vmcore")).vmcoreinfo) == nil)
        let info = try Tools.run("vmowner", ["info", old.file("vmlinux"), old.file("vmcore")])
        let release = try #require(info.text.split(separator: "\n").first { $0.hasPrefix("release:") }?.split(separator: " ").last.map(String.init))
        let empty = try folder("old-empty")
        let missing = try Tools.run("vmowner", ["page-owner", "--debug-dir", empty.path, old.file("vmcore")])
        #expect(missing.status == 1 && missing.stderr.contains("Linux \(release) (no BUILD-ID in VMCOREINFO (Linux before 5.9))"), "\(missing.stderr)")
        let flat = try folder("old-flat")
        try FileManager.default.createSymbolicLink(atPath: flat.file("vmlinux-\(release)"), withDestinationPath: old.file("vmlinux"))
        try expectReport(["page-owner", "--debug-dir", flat.path, old.file("vmcore")], equals: old.appendingPathComponent("expected/page_owner.txt"), "5.4 by release")
    }

    @Test func filesAreToldApartByContentInAnyOrder() throws {
        let sim = try sim()
        let expected = sim.appendingPathComponent("expected/page_owner.txt")
        try expectReport(["page-owner", sim.file("vmcore"), sim.file("vmlinux")], equals: expected, "vmcore first")
        let twice = try Tools.run("vmowner", ["page-owner", sim.file("vmlinux"), sim.file("vmlinux"), sim.file("vmcore")])
        #expect(twice.status == 1 && twice.stderr.contains("a second vmlinux"), "\(twice.stderr)")
        let noDump = try Tools.run("vmowner", ["info", sim.file("vmlinux")])
        #expect(noDump.status == 1 && noDump.stderr.contains("no crash dump is given"), "\(noDump.stderr)")
        let text = try Tools.run("vmowner", ["info", sim.file("vmlinux"), expected.path])
        #expect(text.status == 1 && text.stderr.contains("not a crash dump (ELF core, kdump-compressed or flattened) and not a vmlinux"), "\(text.stderr)")
        let usage = try Tools.run("vmowner", ["page-owner"])
        #expect(usage.status == 64 && usage.stderr.contains("Missing expected argument"), "\(usage.stderr)")
        let noPFN = try Tools.run("vmowner", ["pfn", sim.file("vmlinux"), sim.file("vmcore")])
        #expect(noPFN.status == 64 && noPFN.stderr.contains("give at least one PFN"), "\(noPFN.stderr)")
        let pfnFirst = try Tools.run("vmowner", ["pfn", "0x1000", sim.file("vmcore")])
        #expect(pfnFirst.status == 64 && pfnFirst.stderr.contains("before the PFNs"), "\(pfnFirst.stderr)")
    }

    /// Same banner, other build ID: a warning naming both (the report goes on); other banner
    /// too: refused, naming both banners and both IDs.
    @Test func buildIDsAreCompared() throws {
        let sim = try sim()
        let id = try buildID(sim.file("vmcore"))
        let dir = try folder("patched")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: sim.file("vmlinux")))
        let raw = Data(stride(from: 0, to: id.count, by: 2).map { UInt8(id.dropFirst($0).prefix(2), radix: 16)! })
        let at = try #require(bytes.range(of: raw))
        bytes[at.upperBound - 1] ^= 0xff
        let otherID = String(id.dropLast(2)) + String(format: "%02x", UInt8(id.suffix(2), radix: 16)! ^ 0xff)
        let rebuilt = dir.file("vmlinux-rebuilt")
        try bytes.write(to: URL(fileURLWithPath: rebuilt))
        let warned = try expectReport(["page-owner", rebuilt, sim.file("vmcore")], equals: sim.appendingPathComponent("expected/page_owner.txt"), "rebuilt")
        #expect(warned.stderr.contains("the dump's BUILD-ID \(id) is not \(rebuilt)'s build ID \(otherID), though the banners match"), "\(warned.stderr)")

        while let host = bytes.range(of: Data("vmsim@build".utf8)) { bytes.replaceSubrange(host, with: Data("vmsim@other".utf8)) }
        let foreign = dir.file("vmlinux-foreign")
        try bytes.write(to: URL(fileURLWithPath: foreign))
        let refused = try Tools.run("vmowner", ["page-owner", foreign, sim.file("vmcore")])
        #expect(refused.status == 1 && refused.text.isEmpty)
        #expect(refused.stderr.contains("does not belong to this dump") && refused.stderr.contains("vmsim@other"), "\(refused.stderr)")
        #expect(refused.stderr.contains("build IDs: the dump's BUILD-ID \(id), \(foreign)'s \(otherID)"), "\(refused.stderr)")

        let matching = try Tools.run("vmowner", ["info", sim.file("vmlinux"), sim.file("vmcore")])
        #expect(matching.status == 0 && !matching.stderr.contains("BUILD-ID"), "\(matching.stderr)")
    }
}
